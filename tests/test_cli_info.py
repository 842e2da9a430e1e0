"""``spine-mets info``: series and skipped files, as a table or JSON; errors as one line, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import dicom_factory as factory
from napari_spine_mets.cli import main


def _folder(tmp_path: Path) -> Path:
    factory.write_series(tmp_path / "ct", n=4, series_number=2, description="bone")
    factory.write_series(tmp_path / "mr", modality="MR", n=4, series_number=5, description="T1 sag",
                         orientation=(0, 1, 0, 0, 0, -1), skip=(1,), step=3.0)
    (tmp_path / "notes.txt").write_text("not dicom")
    return tmp_path


def test_info_json_lists_series_and_skipped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _folder(tmp_path)
    assert main(["info", str(root), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    series = {s["series_description"]: s for s in report["series"]}
    assert set(series) == {"bone", "T1 sag"}
    ct, mr = series["bone"], series["T1 sag"]
    assert ct["modality"] == "CT" and ct["n_slices"] == 4 and ct["shape"] == [4, 8, 10]
    assert ct["spacing"] == pytest.approx([2.0, 0.8, 0.7]) and ct["orientation"] == "axial"
    assert ct["kvp"] == 120 and ct["contrast_agent"] == "APPLIED" and ct["problems"] == []
    assert mr["modality"] == "MR" and mr["orientation"] == "sagittal" and mr["n_slices"] == 3
    assert any("missing slice" in p for p in mr["problems"])
    assert [(Path(s["path"]).name, s["reason"]) for s in report["skipped"]] == [("notes.txt", "not a DICOM file")]
    text = json.dumps(report)
    assert factory.PHI_NAME not in text and factory.PHI_ID not in text


def test_info_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _folder(tmp_path)
    assert main(["info", str(root)]) == 0
    out = capsys.readouterr().out
    assert "2 series, 1 file(s) skipped" in out
    assert "bone" in out and "T1 sag" in out and "notes.txt: not a DICOM file" in out
    assert "missing slice" in out


def test_info_lists_nifti(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    nib = pytest.importorskip("nibabel")
    image = nib.Nifti1Image(np.zeros((5, 6, 7), dtype=np.int16), np.diag([0.5, 0.6, 2.0, 1.0]))
    nib.save(image, str(tmp_path / "seg.nii.gz"))
    assert main(["info", str(tmp_path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["skipped"] == []
    (entry,) = report["series"]
    assert entry["modality"] == "unknown (NIfTI)"
    assert entry["shape"] == [7, 6, 5] and entry["spacing"] == pytest.approx([2.0, 0.6, 0.5])


def test_missing_path_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere"
    assert main(["info", str(missing)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and str(missing) in lines[0] and "no such file or folder" in lines[0]


@pytest.mark.shared_data
def test_info_real_series(real_ct_series: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", str(real_ct_series), "--json"]) == 0
    (series,) = json.loads(capsys.readouterr().out)["series"]
    assert series["n_slices"] == 20 and series["spacing"] == pytest.approx([2.0, 0.9765625, 0.9765625])
