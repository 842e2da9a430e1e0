"""Automatic trabecular HU ROIs on synthetic cases whose tissues and trabecular HU are known."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from napari_spine_mets.anatomy import VertebraPart, label_of_level
from napari_spine_mets.case import Case, Origin, RoiKind
from napari_spine_mets.errors import ModalityError
from napari_spine_mets.measure import (
    Ellipse,
    NoBodyError,
    evaluate_flags,
    find_vertebral_body,
    measure_ellipse_roi,
    measure_mask_roi,
    measure_trabecular_hu,
    record_hu_in_case,
)
from napari_spine_mets.measure.hu_roi import choose_slices
from napari_spine_mets.measure.manual_roi import lesion_exclusion_mask
from napari_spine_mets.synthetic import LesionSpec, SpineParams, Tissue, generate_spine_ct
from napari_spine_mets.volume import LabelMap, Volume

LEVELS = ("T12", "L1", "L2")


def _case(age: float = 65.0, lesions: tuple[LesionSpec, ...] = ()):
    return generate_spine_ct(SpineParams(levels=LEVELS, spacing_mm=(2.0, 0.8, 0.8), fov_mm=220, age_years=age,
                                         lesions=lesions, fracture=None))


@pytest.fixture(scope="module")
def young():
    return _case(age=30.0, lesions=(LesionSpec(level="L1", kind="lytic", radius_mm=8.0, site="body"),))


@pytest.fixture(scope="module")
def old():
    return _case(age=80.0)


def _measured_mask(case, roi) -> np.ndarray:
    mask = roi.ellipse.mask(case.ct.shape[1:], case.ct.spacing[1:])
    return mask & ~lesion_exclusion_mask(case.lesions, roi.slice_index, case.ct.spacing)


@pytest.mark.parametrize("use_parts", [False, True], ids=["whole-vertebra labels", "parts map"])
def test_rois_lie_in_trabecular_bone_of_the_body(young, use_parts: bool) -> None:
    report = measure_trabecular_hu(young.ct, young.vertebrae, parts=young.parts if use_parts else None,
                                   lesions=young.lesions)
    assert list(report.levels) == list(LEVELS)
    for level, lv in report.levels.items():
        assert lv.problem is None and len(lv.slices) == 3, (level, lv.problem)
        zs = [s.slice_index for s in lv.slices]
        assert zs == sorted(zs) and len(set(zs)) == 3
        lo, hi = lv.body_z_range
        assert lo < zs[0] < zs[1] < zs[2] < hi  # inside the body, off its end slices
        for roi in lv.slices:
            z = roi.slice_index
            mask = _measured_mask(young, roi)
            assert mask.sum() == roi.stats.n_voxels > 30
            assert set(np.unique(young.tissues.array[z][mask])) == {int(Tissue.TRABECULAR)}
            assert set(np.unique(young.parts.array[z][mask])) == {int(VertebraPart.BODY)}
            assert set(np.unique(young.vertebrae.array[z][mask])) == {label_of_level(level)}


def test_mean_equals_generated_trabecular_hu(young, old) -> None:
    for case in (young, old):
        report = measure_trabecular_hu(case.ct, case.vertebrae, lesions=case.lesions)
        truth = case.params.trabecular_hu
        for level in ("T12", "L2"):  # the lesion-free levels
            lv = report.levels[level]
            assert lv.combined.mean == pytest.approx(truth, abs=10.0), (level, lv.combined, truth)
            assert lv.combined.n_voxels == sum(s.stats.n_voxels for s in lv.slices)
            assert 15.0 < lv.combined.sd < 60.0  # texture + noise, no cortex
            assert lv.combined.median == pytest.approx(truth, abs=15.0)
            assert lv.mean_of_slice_means == pytest.approx(lv.combined.mean, abs=3.0)


def test_age_lowers_the_mean(young, old) -> None:
    a = measure_trabecular_hu(young.ct, young.vertebrae, lesions=young.lesions, levels=["T12", "L2"])
    b = measure_trabecular_hu(old.ct, old.vertebrae, levels=["T12", "L2"])
    expected = young.params.trabecular_hu - old.params.trabecular_hu  # about 108 HU
    for level in ("T12", "L2"):
        drop = a.levels[level].combined.mean - b.levels[level].combined.mean
        assert drop == pytest.approx(expected, abs=15.0)


def test_lesion_voxels_are_excluded_and_flagged(young) -> None:
    report = measure_trabecular_hu(young.ct, young.vertebrae, lesions=young.lesions)
    l1 = report.levels["L1"]
    assert sum(s.lesion_voxels_excluded for s in l1.slices) > 0
    lesion = young.lesions.array > 0
    for roi in l1.slices:
        assert not (_measured_mask(young, roi) & lesion[roi.slice_index]).any()
    assert any("touches a lesion" in c for c in l1.caveats)
    assert not any("touches a lesion" in c for c in report.levels["T12"].caveats)
    # without the lesion map the lesion's low HU drags the mean down
    blind = measure_trabecular_hu(young.ct, young.vertebrae, levels=["L1"]).levels["L1"]
    assert blind.combined.mean < l1.combined.mean - 10


def test_mr_is_refused(young) -> None:
    meta = dataclasses.replace(young.ct.metadata, modality="MR")
    mr = Volume(array=young.ct.array, affine=young.ct.affine, metadata=meta, name="T2")
    with pytest.raises(ModalityError, match="MR, not CT.*not Hounsfield"):
        measure_trabecular_hu(mr, young.vertebrae)
    unknown = Volume(array=np.abs(young.ct.array), affine=young.ct.affine, name="nifti")
    with pytest.raises(ModalityError, match="not Hounsfield units"):
        measure_trabecular_hu(unknown, young.vertebrae)


def test_vertebra_without_visible_body_gives_a_clear_message(young) -> None:
    array = young.vertebrae.array.copy()
    l2 = label_of_level("L2")
    array[(array == l2) & (young.parts.array == int(VertebraPart.BODY))] = 0  # only posterior elements left
    labels = LabelMap(array=array, affine=young.vertebrae.affine, names=young.vertebrae.names, name="vertebrae")
    with pytest.raises(NoBodyError, match="L2: no vertebral body found"):
        find_vertebral_body(labels, "L2")
    report = evaluate_flags(measure_trabecular_hu(young.ct, labels))
    assert "no vertebral body found" in report.levels["L2"].problem
    assert report.levels["L2"].slices == [] and report.levels["L2"].flags == []
    assert report.levels["T12"].problem is None
    with pytest.raises(NoBodyError, match="no voxel labelled"):
        find_vertebral_body(labels, "L4")


def test_thick_slices_use_the_nearest_slices(young) -> None:
    body = find_vertebral_body(young.vertebrae, "T12")
    # a 25 mm body seen on five 5 mm slices: mid-body and the slices just above and below
    z0 = body.z_first
    thick = dataclasses.replace(body, z_last=z0 + 4, masks=body.masks[:5], areas_mm2=body.areas_mm2[:5],
                                slice_spacing_mm=5.0)
    assert choose_slices(thick) == [z0 + 1, z0 + 2, z0 + 3]
    one = dataclasses.replace(body, z_last=body.z_first, masks=body.masks[:1], areas_mm2=body.areas_mm2[:1])
    assert choose_slices(one) == [body.z_first]


def test_manual_rois_and_case_records(young) -> None:
    report = evaluate_flags(measure_trabecular_hu(young.ct, young.vertebrae, lesions=young.lesions))
    t12 = report.levels["T12"]
    auto = t12.slices[1]
    # the same ellipse measured as a user ROI gives the same figures
    again = measure_ellipse_roi(young.ct, auto.ellipse, level="T12")
    assert again.stats.mean == pytest.approx(auto.stats.mean) and again.origin == "manual"
    corners = auto.ellipse.corners_yx(young.ct.spacing[1:])
    back = Ellipse.from_corners(auto.slice_index, corners, young.ct.spacing[1:])
    np.testing.assert_allclose(back.semi_axes_mm, auto.ellipse.semi_axes_mm)
    mask = np.zeros(young.ct.shape, bool)
    mask[auto.slice_index] = auto.ellipse.mask(young.ct.shape[1:], young.ct.spacing[1:])
    (from_mask,) = measure_mask_roi(young.ct, mask, level="T12")
    assert from_mask.stats.mean == pytest.approx(auto.stats.mean)
    # a moved ROI (towards the cortex) measures more bone and becomes manual
    moved = dataclasses.replace(auto.ellipse, center_yx=(auto.ellipse.center_yx[0] - 6, auto.ellipse.center_yx[1]))
    t12.replace_slice(1, measure_ellipse_roi(young.ct, moved, level="T12"))
    assert t12.origin == "mixed" and t12.slices[1].stats.mean != auto.stats.mean
    case = Case()
    added = record_hu_in_case(case, report, young.ct)
    kinds = {(r.level, r.origin) for r in added}
    assert ("T12", Origin.MANUAL) in kinds and ("T12", Origin.AUTOMATIC) in kinds
    assert all(r.kind == RoiKind.TRABECULAR_HU and len(r.polygons[0].vertices_mm) > 10 for r in added)
    assert any(f.name == "trabecular_hu" and f.level == "L2" and f.unit == "HU" for f in case.findings)
    # a second automatic run replaces the automatic ROIs and keeps the manual one
    record_hu_in_case(case, evaluate_flags(measure_trabecular_hu(young.ct, young.vertebrae)), young.ct)
    manual = [r for r in case.rois if r.origin == Origin.MANUAL]
    assert len(manual) == 1 and manual[0].level == "T12"
    # recording the edited report again (the dock does after every edit) does not duplicate it
    record_hu_in_case(case, report, young.ct)
    assert len([r for r in case.rois if r.origin == Origin.MANUAL]) == 1
    assert len({r.id for r in case.rois}) == len(case.rois)
