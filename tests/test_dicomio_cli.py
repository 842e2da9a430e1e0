"""``spine-mets export-seg | import-seg | export-sr | assign-uids`` end to end on a saved case."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("highdicom")

import dicomio_fixtures as fx  # noqa: E402

from napari_spine_mets.case import Case, Finding  # noqa: E402
from napari_spine_mets.case_store import save_case  # noqa: E402
from napari_spine_mets.cli import main  # noqa: E402


def test_export_and_import_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pydicom import dcmread

    from napari_spine_mets.io.nifti import read_label_nifti

    _, dicom, maps, ct = fx.write_case(tmp_path)
    case = Case()
    case.add_volume(ct, "CT")
    for name, labels in maps.items():
        case.set_label_map(name, labels)
    case.findings.append(Finding(name="trabecular_hu", value=140.0, unit="HU", level="L2"))
    save_case(case, tmp_path / "case")
    out = tmp_path / "out"
    assert main(["export-seg", str(tmp_path / "case"), "--source", str(dicom), "--out", str(out),
                 "--maps", "vertebrae", "parts", "--deidentify", "--json"]) == 0
    written = json.loads(capsys.readouterr().out)["written"]
    assert [Path(p).name for p in written] == ["vertebrae.seg.dcm", "parts.seg.dcm"]
    assert dcmread(written[0]).PatientName == "ANONYMOUS"
    assert main(["import-seg", written[1], "--source", str(dicom), "--out", str(tmp_path / "parts.nii.gz")]) == 0
    assert np.array_equal(read_label_nifti(tmp_path / "parts.nii.gz").array, maps["parts"].array)
    capsys.readouterr()
    assert main(["export-sr", str(tmp_path / "case"), "--source", str(dicom), "--out", str(out / "sr.dcm"),
                 "--csv", str(out / "m.csv"), "--json-out", str(out / "m.json"), "--date-shift", "-10"]) == 0
    assert dcmread(out / "sr.dcm").StudyDate == "19991222"
    assert fx.PATIENT_ID not in (out / "m.csv").read_text()


def test_bad_input_gives_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, dicom, _, ct = fx.write_case(tmp_path)
    case = Case()
    case.add_volume(ct, "CT")
    save_case(case, tmp_path / "case")
    assert main(["export-seg", str(tmp_path / "case"), "--source", str(dicom), "--out", str(tmp_path / "o")]) == 2
    assert "no label map" in capsys.readouterr().err
    assert main(["export-sr", str(tmp_path / "case"), "--csv", str(tmp_path / "m.csv"), "--out", str(tmp_path / "sr.dcm")]) == 2
    assert "--source" in capsys.readouterr().err
    assert not (tmp_path / "m.csv").exists()
