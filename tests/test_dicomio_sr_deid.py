"""TID 1500 SR export read back, CSV/JSON, and de-identification of every export."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

pytest.importorskip("highdicom")

import dicomio_fixtures as fx  # noqa: E402

from napari_spine_mets.case import Case, Finding, Lesion, LesionKind, LesionStatus  # noqa: E402
from napari_spine_mets.dicomio.deidentify import DeidProfile, find_phi  # noqa: E402
from napari_spine_mets.dicomio.measurements import export_csv, export_json  # noqa: E402
from napari_spine_mets.dicomio.seg_export import export_seg  # noqa: E402
from napari_spine_mets.dicomio.sr_export import export_sr  # noqa: E402

PHI = (fx.NAME, fx.PATIENT_ID, fx.BIRTH_DATE, "DOE", "JANE")


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("sr")
    _, dicom, maps, ct = fx.write_case(folder)
    case = Case()
    case.add_volume(ct, "CT")
    case.findings += [
        Finding(name="trabecular_hu", value=152.3, unit="HU", level="L1"),
        Finding(name="trabecular_hu", value=98.6, unit="HU", level="L3"),
        Finding(name="SINS", value=9, unit="points", level="L2"),
        Finding(name="low bone density", value=True, level="L3"),
        Finding(name="Bilsky (CT estimate)", value="1b", level="L2"),
    ]
    case.lesions += [
        Lesion(id=1, level="L2", kind=LesionKind.LYTIC, volume_mm3=1234.5, status=LesionStatus.ACCEPTED),
        Lesion(id=2, level="L3", kind=LesionKind.BLASTIC, volume_mm3=50.0, status=LesionStatus.REJECTED),
    ]
    return folder, dicom, maps, case


def _groups(path: Path) -> dict[str, object]:
    import highdicom as hd

    sr = hd.sr.srread(path)
    return {str(g.tracking_identifier): g for g in sr.content.get_image_measurement_groups()}


def test_sr_reads_back_with_its_measurements(setup) -> None:
    from pydicom import dcmread

    folder, dicom, _, case = setup
    path = export_sr(case, dicom, folder / "sr.dcm", uid_seed="t")
    groups = _groups(path)
    assert set(groups) == {"level L1", "level L2", "level L3", "lesion 1 (lytic, accepted)"}  # rejected lesion left out
    l1 = groups["level L1"]
    (hu,) = l1.get_measurements()
    assert (hu.name.value, hu.name.scheme_designator, hu.unit.value, hu.value) == ("112031", "DCM", "[hnsf'U]", 152.3)
    assert l1.finding_sites[0].value.value == "66794005"
    (sins,) = groups["level L2"].get_measurements()
    assert (sins.name.meaning, sins.value, sins.name.scheme_designator) == ("SINS", 9.0, "99NSM")
    (flag,) = groups["level L3"].get_qualitative_evaluations()
    assert flag.value.value == "373066001"  # SCT Yes
    (volume,) = groups["lesion 1 (lytic, accepted)"].get_measurements()
    assert (volume.name.value, volume.value, volume.unit.value) == ("118565006", 1234.5, "mm3")
    sr = dcmread(path)
    evidence = sr.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence[0]
    assert len(evidence.ReferencedSOPSequence) == len(list(dicom.glob("*.dcm")))
    assert sr.CompletionFlag == "PARTIAL" and sr.VerificationFlag == "UNVERIFIED"


def test_csv_and_json_hold_every_row_with_the_disclaimer(setup) -> None:
    folder, _, _, case = setup
    rows = list(csv.DictReader(open(export_csv(case, folder / "m.csv"), encoding="utf-8")))
    assert len(rows) == 7
    bilsky = next(r for r in rows if r["name"].startswith("Bilsky"))
    assert bilsky["value"] == "1b" and bilsky["disclaimer"]
    assert rows[0]["patient_id"] == fx.PATIENT_ID  # identified unless asked otherwise
    data = json.loads(export_json(case, folder / "m.json").read_text())
    assert data["disclaimer"] and len(data["rows"]) == 7


@pytest.mark.parametrize("shift", [None, 30])
def test_deidentification_removes_phi_from_every_export(setup, shift: int | None) -> None:
    from pydicom import dcmread

    folder, dicom, maps, case = setup
    profile = DeidProfile(pseudonym="CASE-0001", date_shift_days=shift)
    source = dcmread(sorted(dicom.glob("*.dcm"))[0])
    assert find_phi(source, PHI), "the fixture must hold identifiers to remove"
    out = folder / f"deid-{shift}"
    seg = export_seg(maps["vertebrae"], dicom, out / "seg.dcm", deidentify=profile)
    sr = export_sr(case, dicom, out / "sr.dcm", deidentify=profile)
    for path in (seg, sr):
        ds = dcmread(path)
        assert find_phi(ds, PHI) == [], path.name
        assert ds.PatientName == "CASE-0001" and ds.PatientID == "CASE-0001"
        assert ds.PatientIdentityRemoved == "YES"
        assert "113100" in {c.CodeValue for c in ds.DeidentificationMethodCodeSequence}
        expected = "" if shift is None else "20000131"
        assert ds.StudyDate == expected
        assert ds.StudyInstanceUID == source.StudyInstanceUID  # UIDs retained: still overlays the source
        raw = path.read_bytes()
        assert all(s.encode() not in raw for s in (fx.NAME, fx.PATIENT_ID, fx.BIRTH_DATE))
    text = export_csv(case, out / "m.csv", deidentify=profile).read_text() + export_json(case, out / "m.json", deidentify=profile).read_text()
    assert all(s not in text for s in (fx.NAME, fx.PATIENT_ID, fx.BIRTH_DATE)) and "CASE-0001" in text
    # the de-identified SEG still imports onto the source series
    from napari_spine_mets.dicomio.seg_import import import_seg

    assert (import_seg(seg, dicom).array == maps["vertebrae"].array).all()


def test_old_ages_are_capped_and_person_names_emptied() -> None:
    from pydicom.dataset import Dataset

    from napari_spine_mets.dicomio.deidentify import deidentify_dataset

    ds = Dataset()
    ds.PatientName, ds.PatientAge, ds.OperatorsName, ds.InstitutionName = "X^Y", "093Y", "OP^ONE", "St Elsewhere"
    item = Dataset()
    item.PersonName = "READER^DOC"
    ds.ContentSequence = [item]
    ds.add_new(0x00091001, "LO", "private secret")
    deidentify_dataset(ds, DeidProfile())
    assert ds.PatientAge == "090Y" and "OperatorsName" not in ds and "InstitutionName" not in ds
    assert ds.ContentSequence[0].PersonName == "ANONYMOUS"
    assert find_phi(ds, ["X^Y", "OP^ONE", "READER", "secret", "Elsewhere"]) == []
