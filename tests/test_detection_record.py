"""Recording detection in a Case: lesions, label map, fracture findings, provenance; review survives a re-run."""

from __future__ import annotations

import copy
import numpy as np
import pytest

from napari_spine_mets.anatomy import label_of_level
from napari_spine_mets.case import Case, LesionKind, LesionStatus
from napari_spine_mets.detection.drawn import measure_drawn_lesion
from napari_spine_mets.detection.inputs import DetectionError
from napari_spine_mets.detection.pipeline import METHOD_VERSION, detect_lesions
from napari_spine_mets.detection.record import (
    DETECTION_STEP,
    LESIONS_MAP,
    free_lesion_id,
    put_lesion,
    record_lesions_in_case,
    set_lesion_status,
)
from napari_spine_mets.synthetic import FractureSpec, LesionSpec, SpineParams, generate_spine_ct
from napari_spine_mets.volume import Volume, VolumeMetadata


@pytest.fixture(scope="module")
def detected():
    synth = generate_spine_ct(SpineParams(
        seed=5, levels=("T12", "L1", "L2", "L3"), include_sacrum=False, fov_mm=200.0, spacing_mm=(2.0, 0.9, 0.9),
        ribs=False, lesions=(LesionSpec("L1", "lytic", 10.0, "body"), LesionSpec("L3", "blastic", 8.0, "body")),
        fracture=FractureSpec("L1", 0.35, "wedge")))
    return synth, detect_lesions(synth.ct, synth.vertebrae)


def _findings(case: Case, name: str) -> dict[str, object]:
    return {f.level: f.value for f in case.findings if f.name == name}


def test_detection_is_recorded_in_the_case(detected) -> None:
    synth, report = detected
    case = Case()
    added = record_lesions_in_case(case, report, synth.ct)
    assert sorted((les.level, les.kind) for les in added) == [("L1", LesionKind.LYTIC), ("L3", LesionKind.BLASTIC)]
    assert case.lesions == added and all(les.status == LesionStatus.PROPOSED for les in added)
    labels = case.label_maps[LESIONS_MAP]
    assert labels.array.shape == synth.ct.shape and np.allclose(labels.affine, synth.ct.affine)
    assert set(np.unique(labels.array)) == {0, *(les.id for les in added)}
    voxel = float(np.prod(synth.ct.spacing))
    for les in added:  # each lesion's recorded volume is its voxels in the case's label map
        assert (labels.array == les.id).sum() * voxel == pytest.approx(les.volume_mm3)
        assert labels.names[les.id] == f"lesion_{les.id}_{les.level}_{les.kind.value}"
    assert list(case.volumes) == ["CT"]  # the CT was added so the label map has its grid
    step = case.provenance.steps[-1]
    assert step.name == DETECTION_STEP and step.model_version == METHOD_VERSION and "lesion detector" in step.model
    assert step.parameters["lesions_found"] == 2 and len(step.parameters["fractures"]) == 4
    grades = _findings(case, "genant_grade")
    assert grades["L1"] >= 1 and grades["T12"] == 0 and grades["L3"] == 0
    assert _findings(case, "vertebral_height_loss")["L1"] > 20.0
    assert _findings(case, "possibly_pathologic_fracture") == {"T12": False, "L1": True, "L2": False, "L3": False}
    flag = next(f for f in case.findings if f.name == "possibly_pathologic_fracture" and f.level == "L1")
    assert "Genant" in flag.source and flag.disclaimer == "decision support, not a diagnosis"


def test_rejecting_the_lesion_in_a_collapsed_body_clears_the_pathologic_flag(detected) -> None:
    synth, report = detected
    case = Case()
    record_lesions_in_case(case, report, synth.ct)
    l1 = next(les for les in case.lesions if les.level == "L1")
    set_lesion_status(case, l1.id, LesionStatus.REJECTED)
    assert l1.status == LesionStatus.REJECTED
    assert _findings(case, "possibly_pathologic_fracture")["L1"] is False
    assert _findings(case, "genant_grade")["L1"] >= 1  # the collapse itself is still reported
    set_lesion_status(case, l1.id, LesionStatus.ACCEPTED)
    assert _findings(case, "possibly_pathologic_fracture")["L1"] is True
    assert sum(f.name == "possibly_pathologic_fracture" for f in case.findings) == 4  # replaced, not appended
    with pytest.raises(DetectionError, match="no lesion 99"):
        set_lesion_status(case, 99, LesionStatus.ACCEPTED)


def test_rerun_keeps_drawn_lesions_and_the_review(detected) -> None:
    synth, report = detected
    case = Case()
    record_lesions_in_case(case, report, synth.ct)
    l3 = next(les for les in case.lesions if les.level == "L3")
    set_lesion_status(case, l3.id, LesionStatus.REJECTED)
    # the user draws a lesion in L2 (where nothing was found), with id 1 already taken by a detection
    l2 = synth.vertebrae.array == label_of_level("L2")
    mask = np.zeros(synth.ct.shape, bool)
    zc, yc, xc = (int(v) for v in np.argwhere(l2).mean(axis=0))
    mask[zc - 2:zc + 2, yc - 4:yc + 4, xc - 4:xc + 4] = True
    mask &= l2
    new_id = free_lesion_id(case, case.label_maps[LESIONS_MAP].array)
    assert new_id == max(les.id for les in case.lesions) + 1
    drawn = put_lesion(case, measure_drawn_lesion(synth.ct, mask, new_id, synth.vertebrae), mask)
    assert drawn.level == "L2" and drawn.status == LesionStatus.DRAWN
    assert (case.label_maps[LESIONS_MAP].array == new_id).sum() == mask.sum()

    again = record_lesions_in_case(case, report, synth.ct)
    ids = [les.id for les in case.lesions]
    assert len(ids) == len(set(ids)) == 3 and new_id in ids
    assert next(les for les in case.lesions if les.id == new_id).status == LesionStatus.DRAWN
    assert (case.label_maps[LESIONS_MAP].array == new_id).sum() == mask.sum()  # its voxels are untouched
    l3_again = next(les for les in again if les.level == "L3")
    assert l3_again.status == LesionStatus.REJECTED and "review kept" in l3_again.notes
    assert next(les for les in again if les.level == "L1").status == LesionStatus.PROPOSED
    assert [s.name for s in case.provenance.steps].count(DETECTION_STEP) == 2


def test_detection_does_not_overwrite_a_lesion_the_user_drew_over_it(detected) -> None:
    synth, report = detected
    case = Case()
    l1_record = next(r for r in report.lesions if r.lesion.level == "L1")
    mask = report.labels.array == l1_record.lesion.id
    case.add_volume(synth.ct)
    put_lesion(case, measure_drawn_lesion(synth.ct, mask, 1, synth.vertebrae, kind=LesionKind.LYTIC), mask)
    added = record_lesions_in_case(case, report, synth.ct)
    assert [les.level for les in added] == ["L3"] and added[0].id == 2
    assert [les.status for les in case.lesions] == [LesionStatus.DRAWN, LesionStatus.PROPOSED]


def test_measure_drawn_lesion_reads_level_and_hu(detected) -> None:
    synth, _ = detected
    mask = synth.lesions.array == 1
    truth = synth.lesion_truth[0]
    lesion = measure_drawn_lesion(synth.ct, mask, 7, synth.vertebrae, kind=LesionKind.LYTIC)
    assert lesion.id == 7 and lesion.level == truth.level and lesion.kind == LesionKind.LYTIC
    assert lesion.hu.mean == pytest.approx(truth.mean_hu, abs=1.0) and lesion.hu.n_voxels == int(mask.sum())
    assert lesion.volume_mm3 == pytest.approx(truth.volume_mm3, rel=0.01)
    assert lesion.source == "drawn by the user"
    outside = np.zeros(synth.ct.shape, bool)
    outside[0, 0, 0:3] = True
    assert measure_drawn_lesion(synth.ct, outside, 8, synth.vertebrae).level is None
    with pytest.raises(DetectionError, match="no voxels"):
        measure_drawn_lesion(synth.ct, np.zeros(synth.ct.shape, bool), 9)


def test_drawn_lesion_on_mr_has_no_hu(detected) -> None:
    synth, _ = detected
    mr = Volume(np.abs(synth.ct.array).astype(np.float32), synth.ct.affine, VolumeMetadata(modality="MR"), "T2")
    lesion = measure_drawn_lesion(mr, synth.lesions.array == 1, 1, synth.vertebrae)
    assert lesion.hu.mean is None and lesion.hu.n_voxels == int((synth.lesions.array == 1).sum())
    assert "not CT" in lesion.notes and lesion.level == synth.lesion_truth[0].level


def test_recorded_case_survives_save_and_load(detected, tmp_path) -> None:
    from napari_spine_mets.case_store import load_case, save_case

    synth, report = detected
    case = Case()
    record_lesions_in_case(case, report, synth.ct)
    set_lesion_status(case, case.lesions[0].id, LesionStatus.ACCEPTED)
    save_case(copy.deepcopy(case), tmp_path / "case")
    loaded = load_case(tmp_path / "case")
    assert loaded.lesions == case.lesions and loaded.findings == case.findings
    assert np.array_equal(loaded.label_maps[LESIONS_MAP].array, case.label_maps[LESIONS_MAP].array)
    assert loaded.lesions[0].status == LesionStatus.ACCEPTED
