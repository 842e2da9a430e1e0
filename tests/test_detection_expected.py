"""A seed's expected HU of normal bone forgives a label surface half a millimetre off (detection.expected);
growth keeps the profile at the exact depth."""

from __future__ import annotations

import numpy as np
import pytest

from napari_spine_mets.detection.bone_grid import BoneGrid
from napari_spine_mets.detection.expected import DEPTH_TOLERANCE_MM, expected_on_bone
from napari_spine_mets.detection.normal_bone import DEPTH_EDGES_MM, NormalBone

#: A steep profile like a real vertebra's at the cortex's inner edge (bands of DEPTH_EDGES_MM).
PROFILE_HU = [150.0, 400.0, 500.0, 450.0, 350.0, 270.0, 230.0, 200.0, 180.0]
DEPTHS_MM = [2.9, 3.4, 5.0]


def _grid(depths: list[float]) -> BoneGrid:
    n = len(depths)
    labels = np.full((1, 1, n), 20, dtype=np.int32)
    smoothed = np.full((1, 1, n), 250.0, dtype=np.float32)
    return BoneGrid(box=(slice(0, 1), slice(0, 1), slice(0, n)), labels=labels, hu=smoothed.copy(), smoothed=smoothed,
                    depth_mm=np.asarray(depths, dtype=np.float32).reshape(1, 1, n), spacing=(1.0, 1.0, 1.0),
                    sigma_mm=1.0, coarse=smoothed.copy(), coarse_sigma_mm=3.0)


def _normal() -> NormalBone:
    sd = [20.0] * len(PROFILE_HU)
    return NormalBone(pooled_trabecular_hu=200.0, pooled_trabecular_sd_hu=60.0, pooled_smoothed_sd_hu=20.0,
                      depth_edges_mm=list(DEPTH_EDGES_MM), depth_median_hu=list(PROFILE_HU), depth_sd_hu=sd,
                      coarse_depth_median_hu=list(PROFILE_HU), coarse_depth_sd_hu=[25.0] * len(PROFILE_HU))


def test_without_tolerance_the_profile_is_read_at_the_exact_depth() -> None:
    grid = _grid(DEPTHS_MM)
    low, high, spread, _, _ = expected_on_bone(grid, _normal(), grid.labels > 0)
    assert list(low) == pytest.approx([270.0, 230.0, 200.0]) and list(high) == pytest.approx([270.0, 230.0, 200.0])
    assert (268.0 - high[1]) / spread[1] > 1.5  # normal bone 0.5 mm too deep looks dense


def test_blastic_expectation_is_the_densest_within_the_tolerance_and_lytic_the_least_dense() -> None:
    grid = _grid(DEPTHS_MM)
    low, high, spread, high_spread, trabecular = expected_on_bone(grid, _normal(), grid.labels > 0,
                                                                  DEPTH_TOLERANCE_MM)
    # 2.9 mm: bands at 2.4 (350), 2.9 (270), 3.4 (230)
    assert high[0] == pytest.approx(350.0) and low[0] == pytest.approx(230.0)
    # 3.4 mm: a label surface 0.5 mm too far out puts bone of 2.9 mm here; 270 HU there is normal
    assert high[1] == pytest.approx(270.0) and low[1] == pytest.approx(230.0)
    # 5.0 mm: flat part of the profile, both 200
    assert high[2] == pytest.approx(200.0) and low[2] == pytest.approx(200.0)
    assert np.all(spread == pytest.approx(20.0)) and np.all(trabecular == pytest.approx(200.0))
    # 268 HU at 3.4 mm: within the spread of normal bone, not 1.9 SD above it
    assert (268.0 - high[1]) / high_spread[1] < 0.5


def test_a_levels_own_profile_counts_within_the_tolerance_too() -> None:
    grid = _grid(DEPTHS_MM)
    normal = _normal()
    own = [v + 40.0 if 2.5 <= a < 3.0 else v for v, a in zip(PROFILE_HU, DEPTH_EDGES_MM[:-1])]  # denser 2.5-3 mm
    normal.label_profiles[20] = (own, [20.0] * len(own))
    _, high, _, _, _ = expected_on_bone(grid, normal, grid.labels > 0, DEPTH_TOLERANCE_MM)
    assert high[1] == pytest.approx(310.0)  # the level's own 2.5-3 mm value, 0.4 mm shallower


def test_labels_drawn_half_a_millimetre_outside_the_bone_give_no_blastic_false_positive(monkeypatch) -> None:
    """A lesion-free spine whose labels reach one 0.6 mm pixel beyond the bone (as a network's
    partial-volume edge does): every depth is 0.6 mm too deep, and normal bone on the inner
    edge of the cortex looks dense. With the seeds' depth tolerance nothing is proposed;
    without it, small "blastic" lesions are."""
    from scipy import ndimage

    from napari_spine_mets.detection import candidates
    from napari_spine_mets.detection.pipeline import detect_lesions
    from napari_spine_mets.synthetic import SpineParams, generate_spine_ct
    from napari_spine_mets.volume import LabelMap

    case = generate_spine_ct(SpineParams(seed=51, levels=("T11", "T12", "L1", "L2"), include_sacrum=False,
                                         spacing_mm=(1.25, 0.6, 0.6), fov_mm=160.0, ribs=False, lesions=(),
                                         fracture=None, noise_hu=12.0))
    truth = case.vertebrae.array
    in_plane_cross = np.array([[[0, 1, 0], [1, 1, 1], [0, 1, 0]]], dtype=bool)
    wide = np.where(truth > 0, truth, ndimage.grey_dilation(truth, footprint=in_plane_cross)).astype(truth.dtype)
    wide_labels = LabelMap(wide, case.vertebrae.affine, dict(case.vertebrae.names))
    assert detect_lesions(case.ct, case.vertebrae).lesions == []
    assert detect_lesions(case.ct, wide_labels).lesions == []
    monkeypatch.setattr(candidates, "DEPTH_TOLERANCE_MM", 0.0)
    without = detect_lesions(case.ct, wide_labels).lesions
    assert without and all(record.lesion.kind.value == "blastic" for record in without)
