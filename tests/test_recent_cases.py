"""The recent-cases list: newest first, no duplicates, bounded, tolerant of a damaged file."""

from __future__ import annotations

from pathlib import Path

import pytest

from napari_spine_mets import recent_cases as rc


@pytest.fixture(autouse=True)
def _config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SPINE_METS_CONFIG_DIR", str(tmp_path / "config"))
    return tmp_path / "config"


def _case(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "case.json").write_text("{}")
    return folder


def test_newest_first_without_duplicates(tmp_path: Path) -> None:
    a, b = _case(tmp_path, "a"), _case(tmp_path, "b")
    rc.remember_case(a)
    rc.remember_case(b)
    rc.remember_case(a)
    assert rc.recent_cases() == [a.resolve(), b.resolve()]


def test_bounded_and_skips_folders_that_are_gone(tmp_path: Path) -> None:
    folders = [_case(tmp_path, f"c{i}") for i in range(rc.MAX_RECENT + 3)]
    for folder in folders:
        rc.remember_case(folder)
    assert len(rc.recent_cases()) == rc.MAX_RECENT
    (folders[-1] / "case.json").unlink()
    assert folders[-1].resolve() not in rc.recent_cases()
    assert folders[-1].resolve() in rc.recent_cases(existing_only=False)


def test_damaged_list_is_an_empty_list(_config: Path, tmp_path: Path) -> None:
    _config.mkdir(parents=True)
    (_config / "recent-cases.json").write_text("{not json")
    assert rc.recent_cases() == []
    a = _case(tmp_path, "a")
    assert rc.remember_case(a) == [a.resolve()]
