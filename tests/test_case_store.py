"""Saving and loading a case folder: exact round trip, errors that name the file, crash safety."""

from __future__ import annotations

import json
import math
import shutil
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from napari_spine_mets import case_store
from napari_spine_mets.case import (
    Case,
    ClinicalEntries,
    Finding,
    HuStats,
    Lesion,
    LesionKind,
    LesionStatus,
    Origin,
    Polygon,
    Roi,
    RoiKind,
    case_differences,
)
from napari_spine_mets.case_store import CASE_FILE, IDENTITY_FILE, SCHEMA_VERSION, load_case, save_case
from napari_spine_mets.errors import CaseFormatError
from napari_spine_mets.io import atomic, nifti
from napari_spine_mets.volume import LabelMap, PatientIdentity, Volume, VolumeMetadata

NAME, PATIENT_ID, BIRTH = "Doe^Jane", "PID-99173", "19580214"
SOURCE = "/pacs/export/Doe^Jane/CT"


def _oblique_ras_like() -> np.ndarray:
    """An oblique grid whose axes do not run along (S, P, L): NIfTI reorients it on reading."""
    c, s = math.cos(0.2), math.sin(0.2)
    a = np.eye(4)
    a[:3, 0] = [0.0, -1.1 * s, -1.1 * c]  # z index runs inferior (flipped on reading)
    a[:3, 1] = [0.0, 0.9 * c, -0.9 * s]
    a[:3, 2] = [-0.9, 0.0, 0.0]  # x index runs right
    a[:3, 3] = [12.345678901, -98.7654321, 40.0000001]
    return a


def make_case() -> Case:
    rng = np.random.default_rng(7)
    ct_affine = np.array([[0, 0, 0.9765625, -249.51171875], [0, 0.9765625, 0, -437.51171875],
                          [2.0, 0, 0, -804.5], [0, 0, 0, 1]])
    ct = Volume(rng.integers(-1024, 3000, (6, 12, 10)).astype(np.int16), ct_affine, name="CT",
                metadata=VolumeMetadata(modality="CT", kvp=120.0, convolution_kernel="Br38f", patient_sex="F",
                                        study_instance_uid="1.2.3.4", series_instance_uid="1.2.3.4.5",
                                        frame_of_reference_uid="1.2.3.9", source=SOURCE, warnings=["uneven"],
                                        identity=PatientIdentity(NAME, PATIENT_ID, BIRTH)))
    mr = Volume(rng.normal(300, 80, (5, 7, 8)).astype(np.float32), _oblique_ras_like(), name="T2",
                metadata=VolumeMetadata(modality="MR", series_description="T2 sag"))
    mr.array[0, 0, 0] = np.nan
    case = Case(notes="follow-up in 3 months")
    case.add_volume(ct)
    case.add_volume(mr)
    vertebrae = np.zeros(ct.shape, np.uint8)
    vertebrae[1:4, 3:9, 2:8] = 32
    vertebrae[4:, 3:9, 2:8] = 33
    case.set_label_map("vertebrae", LabelMap(vertebrae, ct_affine, names={32: "vertebrae_T12", 33: "vertebrae_T11"},
                                             name="vertebrae", source="/data/Doe^Jane/seg.nii.gz"))
    lesions = np.zeros(ct.shape, np.int64)  # numpy's default int: NIfTI cannot hold int64 as such
    lesions[2, 4:6, 3:5] = 1
    case.set_label_map("lesions", LabelMap(lesions, ct_affine, names={1: "lesion 1"}, name="lesions"))
    parts = (np.arange(mr.array.size) % 6).reshape(mr.shape).astype(np.uint16)
    case.set_label_map("parts", LabelMap(parts, mr.affine, names={1: "body"}, name="parts"), volume="T2")
    case.lesions = [Lesion(1, "T12", LesionKind.LYTIC, 123.4, HuStats(12.5, 30.1, 10.0, -50.0, 80.0, 16),
                           LesionStatus.ACCEPTED, 0.91, "detector 0.1"),
                    Lesion(2, "T11", status=LesionStatus.DRAWN, source="manual")]
    case.rois = [Roi(1, "T12", RoiKind.TRABECULAR_HU, label_map="vertebrae", label_id=32, measurements={"hu": 160.2}),
                 Roi(2, "T11", RoiKind.MANUAL, polygons=[Polygon(-796.5, [(1.5, -300.25, -796.5), (9.0, -300.0, -796.5),
                                                                          (5.0, -290.0, -796.5)])], origin=Origin.MANUAL)]
    case.clinical = ClinicalEntries(age_years=61.5, sex="F", pain="mechanical", karnofsky=80, primary_site="breast",
                                    alp_u_per_l=210.0, albumin_g_per_l=38.5, lymphocytes_1e9_per_l=1.1,
                                    ca125_u_per_ml=35.0, frankel_grade="D", extras={"her2": "positive", "n": [1, 2]})
    case.findings = [Finding("SINS", 11, "points", "T12", "location 2, pain 3, lytic 2...", "Fisher CG, Spine 2010"),
                     Finding("Bilsky grade", "1b", level="T12")]
    case.record_step("segmentation", "unet", "0.3.1", "ab" * 32, {"tile": (64, 64, 64)},
                     started=datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc))
    case.record_edit("dr_lee", "accepted", "lesion:1")
    return case


def test_round_trip_is_exact(tmp_path: Path) -> None:
    case = make_case()
    path = save_case(case, tmp_path / "case")
    assert path == tmp_path / "case" / CASE_FILE
    loaded = load_case(tmp_path / "case")
    assert case_differences(case, loaded) == []
    assert loaded == case
    assert loaded.volumes["CT"].array.dtype == np.int16 and loaded.volumes["T2"].array.dtype == np.float32
    assert loaded.label_maps["lesions"].array.dtype == np.int64
    assert loaded.label_maps["parts"].array.dtype == np.uint16
    assert loaded.volumes["CT"].metadata.identity.patient_id == PATIENT_ID
    assert loaded.label_maps["vertebrae"].names == {32: "vertebrae_T12", 33: "vertebrae_T11"}


def test_identity_is_kept_out_of_case_json(tmp_path: Path) -> None:
    save_case(make_case(), tmp_path)
    text = (tmp_path / CASE_FILE).read_text()
    for secret in (NAME, PATIENT_ID, BIRTH, "Doe", "1.2.3.4.5"):
        assert secret not in text
    assert PATIENT_ID in (tmp_path / IDENTITY_FILE).read_text()
    (tmp_path / IDENTITY_FILE).unlink()  # the de-identified copy
    loaded = load_case(tmp_path)
    assert loaded.volumes["CT"].metadata.identity.patient_id == ""
    assert loaded.volumes["CT"].metadata.source == "" and loaded.volumes["CT"].metadata.kvp == 120.0
    assert loaded.lesions == make_case().lesions


def test_identity_of_another_case_is_refused(tmp_path: Path) -> None:
    save_case(make_case(), tmp_path / "a")
    save_case(make_case(), tmp_path / "b")
    shutil.copy(tmp_path / "b" / IDENTITY_FILE, tmp_path / "a" / IDENTITY_FILE)
    with pytest.raises(CaseFormatError, match="identity.json: belongs to another case"):
        load_case(tmp_path / "a")


def _edit_json(folder: Path, change) -> None:
    doc = json.loads((folder / CASE_FILE).read_text())
    change(doc)
    (folder / CASE_FILE).write_text(json.dumps(doc))


def test_newer_schema_version_is_refused(tmp_path: Path) -> None:
    save_case(make_case(), tmp_path)
    _edit_json(tmp_path, lambda d: d.update(schema_version=SCHEMA_VERSION + 1))
    with pytest.raises(CaseFormatError, match=r"case\.json: schema_version 2 is newer") as info:
        load_case(tmp_path)
    assert info.value.path == tmp_path / CASE_FILE


@pytest.mark.parametrize("value", [None, "1", 0, True])
def test_invalid_schema_version_is_refused(tmp_path: Path, value) -> None:
    save_case(make_case(), tmp_path)
    _edit_json(tmp_path, lambda d: d.update(schema_version=value))
    with pytest.raises(CaseFormatError, match="no valid schema_version"):
        load_case(tmp_path)


def test_migration_hook_upgrades_old_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    case = make_case()
    save_case(case, tmp_path)
    monkeypatch.setattr(case_store, "SCHEMA_VERSION", 2)
    with pytest.raises(CaseFormatError, match="no migration from schema_version 1"):
        load_case(tmp_path)
    monkeypatch.setitem(case_store.MIGRATIONS, 1, lambda d: {**d, "notes": d["notes"] + " (migrated)"})
    assert load_case(tmp_path).notes == "follow-up in 3 months (migrated)"


def test_corrupt_case_json(tmp_path: Path) -> None:
    save_case(make_case(), tmp_path)
    data = (tmp_path / CASE_FILE).read_bytes()
    (tmp_path / CASE_FILE).write_bytes(data[: len(data) // 2])  # truncated, as by a crash without atomicity
    with pytest.raises(CaseFormatError, match=r"case\.json: invalid JSON .* line \d+") as info:
        load_case(tmp_path)
    assert info.value.path == tmp_path / CASE_FILE


def test_malformed_entry_names_the_field(tmp_path: Path) -> None:
    save_case(make_case(), tmp_path)
    _edit_json(tmp_path, lambda d: d["lesions"][0].update(kind="cancerous"))
    with pytest.raises(CaseFormatError, match=r"malformed case description \(lesions\[0\]\.kind"):
        load_case(tmp_path)


def test_missing_folder_and_case_json(tmp_path: Path) -> None:
    with pytest.raises(CaseFormatError, match="no such case folder"):
        load_case(tmp_path / "nope")
    with pytest.raises(CaseFormatError, match=r"case\.json: missing"):
        load_case(tmp_path)


def _array_file(folder: Path, sub: str, key: str) -> Path:
    (path,) = (folder / sub).glob(f"{key}-*.nii.gz")
    return path


def test_deleted_array_file(tmp_path: Path) -> None:
    save_case(make_case(), tmp_path)
    path = _array_file(tmp_path, "labels", "vertebrae")
    path.unlink()
    with pytest.raises(CaseFormatError, match="missing: case.json refers to it for label_maps 'vertebrae'") as info:
        load_case(tmp_path)
    assert info.value.path == path


def test_hash_mismatch(tmp_path: Path) -> None:
    case = make_case()
    save_case(case, tmp_path)
    path = _array_file(tmp_path, "volumes", "CT")
    changed = Volume(case.volumes["CT"].array.copy(), case.volumes["CT"].affine)
    changed.array[0, 0, 0] += 1
    nifti.write_nifti(changed, path)  # a valid NIfTI, but not the saved content
    with pytest.raises(CaseFormatError, match="SHA-256 does not match") as info:
        load_case(tmp_path)
    assert info.value.path == path


def test_file_outside_the_folder_is_refused(tmp_path: Path) -> None:
    save_case(make_case(), tmp_path)
    _edit_json(tmp_path, lambda d: d["volumes"]["CT"].update(file="../elsewhere.nii.gz"))
    with pytest.raises(CaseFormatError, match="outside volumes/"):
        load_case(tmp_path)


def test_crash_before_case_json_rename_leaves_previous_save(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = make_case()
    save_case(first, tmp_path)
    second = make_case()
    second.case_id = first.case_id
    second.label_maps["vertebrae"].array[0, 0, 0] = 33  # changed array: a new file is written
    second.lesions.append(Lesion(3, "L1"))
    real_replace = atomic._replace

    def crash_on_case_json(src, dst):
        if Path(dst).name == CASE_FILE:
            raise OSError("simulated power cut")
        return real_replace(src, dst)

    monkeypatch.setattr(atomic, "_replace", crash_on_case_json)
    with pytest.raises(OSError, match="simulated power cut"):
        save_case(second, tmp_path)
    monkeypatch.setattr(atomic, "_replace", real_replace)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert case_differences(load_case(tmp_path), first) == []  # the previous case.json still points at complete files
    save_case(second, tmp_path)
    assert load_case(tmp_path) == second
    assert len(list((tmp_path / "labels").iterdir())) == 3  # the superseded file was collected


def test_crash_while_writing_arrays_leaves_previous_save(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = make_case()
    save_case(first, tmp_path)
    second = make_case()
    second.case_id = first.case_id
    for volume in second.volumes.values():
        volume.array[1, 1, 1] += 1
    calls = []
    real_write = nifti.write_nifti

    def fail_second(image, path):
        calls.append(path)
        if len(calls) == 2:
            raise OSError("disk full")
        return real_write(image, path)

    monkeypatch.setattr(nifti, "write_nifti", fail_second)
    with pytest.raises(OSError, match="disk full"):
        save_case(second, tmp_path)
    assert load_case(tmp_path) == first


def test_unchanged_arrays_are_not_rewritten(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    case = make_case()
    save_case(case, tmp_path)
    written: list[str] = []
    real_write = nifti.write_nifti
    monkeypatch.setattr(nifti, "write_nifti", lambda image, path: written.append(Path(path).name) or real_write(image, path))
    before = {p: p.stat().st_mtime_ns for p in tmp_path.glob("*/*.nii.gz")}
    case.record_edit("dr_lee", "renamed", "finding:0")
    save_case(case, tmp_path)
    assert written == []
    assert {p: p.stat().st_mtime_ns for p in tmp_path.glob("*/*.nii.gz")} == before
    case.label_maps["lesions"].array[3, 5, 5] = 2  # an edit in place, as napari's paint brush does
    save_case(case, tmp_path)
    assert len(written) == 1 and written[0].startswith("lesions-")
    assert load_case(tmp_path) == case
    save_case(load_case(tmp_path), tmp_path)  # a reopened case saves without rewriting arrays
    assert len(written) == 1


def test_files_are_nifti_that_other_tools_open(tmp_path: Path) -> None:
    case = make_case()
    save_case(case, tmp_path)
    vertebrae = nifti.read_label_nifti(_array_file(tmp_path, "labels", "vertebrae"))
    np.testing.assert_array_equal(vertebrae.array, case.label_maps["vertebrae"].array)
    np.testing.assert_allclose(vertebrae.affine, case.label_maps["vertebrae"].affine, atol=1e-5)


def test_same_content_under_similar_names_and_unusual_dtypes(tmp_path: Path) -> None:
    case = make_case()
    ct = case.volumes["CT"]
    mask = Volume((ct.array > 0)[:, ::-1], ct.affine, name="mask")  # bool, and a non-contiguous view
    case.add_volume(mask, "bone/mask")
    case.add_volume(Volume(mask.array.copy(), ct.affine, name="mask"), "bone_mask")  # same stem, same content
    save_case(case, tmp_path)
    assert len(list((tmp_path / "volumes").glob("bone_mask-*.nii.gz"))) == 1
    loaded = load_case(tmp_path)
    assert case_differences(case, loaded) == []
    assert loaded.volumes["bone/mask"].array.dtype == np.bool_


def test_empty_case_round_trip(tmp_path: Path) -> None:
    case = Case()
    save_case(case, tmp_path)
    assert load_case(tmp_path) == case


def test_another_case_is_not_overwritten_by_mistake(tmp_path: Path) -> None:
    first, other = make_case(), make_case()
    save_case(first, tmp_path)
    with pytest.raises(CaseFormatError, match="holds another case"):
        save_case(other, tmp_path)
    assert load_case(tmp_path) == first
    save_case(other, tmp_path, overwrite=True)
    assert load_case(tmp_path) == other


def test_cleanup_leaves_unrelated_files_alone(tmp_path: Path) -> None:
    (tmp_path / ".user-notes.tmp").write_text("mine")
    (tmp_path / "volumes").mkdir()
    (tmp_path / "volumes" / "readme.txt").write_text("mine too")
    save_case(make_case(), tmp_path)
    assert (tmp_path / ".user-notes.tmp").exists() and (tmp_path / "volumes" / "readme.txt").exists()
