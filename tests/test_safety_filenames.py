"""Export names from patient/series names: no traversal, no reserved names, no control characters, bounded."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from napari_spine_mets.safety.filenames import MAX_NAME_BYTES, RESERVED_NAMES, safe_filename, safe_join


@pytest.mark.parametrize(("name", "expected"), [
    ("../../etc/passwd", "etc_passwd"),
    ("..\\..\\Windows\\system32", "Windows_system32"),
    ("CON", "_CON"), ("nul.txt", "_nul.txt"), ("LPT1", "_LPT1"), ("COM¹.dcm", "_COM1.dcm"),
    ("Doe^Janet", "Doe_Janet"), ("", "export"), ("..", "export"), (".hidden", "hidden"),
    ("a\x00b\x1bc", "a b c"), ("CT  thorax / abdomen", "CT thorax _ abdomen"), ("ＣＯＮ", "_CON"),
])
def test_known_hostile_names(name: str, expected: str) -> None:
    assert safe_filename(name) == expected


def _is_safe(result: str) -> bool:
    stem = result.split(".")[0].strip().upper()
    return (
        result not in ("", ".", "..")
        and not any(c in result for c in '/\\:*?"<>|')
        and not any(unicodedata.category(c).startswith("C") for c in result)
        and not result.startswith(".") and not result.endswith((" ", "."))
        and stem not in RESERVED_NAMES
        and len(result.encode("utf-8")) <= MAX_NAME_BYTES
    )


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=400))
def test_any_text_becomes_one_safe_name(text: str) -> None:
    assert _is_safe(safe_filename(text))
    assert _is_safe(safe_filename(text, suffix=".nii.gz")[: -len(".nii.gz")] or "x")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("./\\:~$ CONULPT1a\x00\u202e")), max_size=60))
def test_joined_path_stays_in_the_folder(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    folder = tmp_path_factory.getbasetemp() / "exports"
    target = safe_join(folder, text, suffix=".csv")
    assert target.parent == folder.resolve() and target.name.endswith(".csv")


def test_length_is_bounded_without_splitting_characters() -> None:
    name = safe_filename("é" * 500, suffix=".nii.gz")
    assert len(name.encode("utf-8")) <= MAX_NAME_BYTES and name.endswith(".nii.gz")
    name.encode("utf-8").decode("utf-8")
    assert Path(name).name == name
