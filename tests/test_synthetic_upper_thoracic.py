"""The synthetic CT above T8: T1-T7 vertebrae, their ribs, the chest around them, and the
legacy training seeds that must not change."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from napari_spine_mets.anatomy import LEVELS, TOTALSEG_SPINAL_CORD, TOTALSEG_VERTEBRA_IDS, VertebraPart
from napari_spine_mets.io import geometry
from napari_spine_mets.segmentation.training_data import LEGACY_TRAINING_LEVELS, random_params
from napari_spine_mets.synthetic import SpineParams, SyntheticCase, Tissue, generate_spine_ct
from napari_spine_mets.synthetic.params import THORACOLUMBAR_LEVELS

UPPER = ("T1", "T2", "T3", "T4", "T5", "T6")
PARAMS = SpineParams(levels=UPPER, spacing_mm=(2.5, 1.5, 1.5), fov_mm=300.0, lesions=(), fracture=None,
                     contrast=True)
BONE = (Tissue.CORTICAL, Tissue.RIB_MARROW)


@pytest.fixture(scope="module")
def case() -> SyntheticCase:
    return generate_spine_ct(PARAMS)


def _world(case: SyntheticCase, mask: np.ndarray) -> np.ndarray:
    """LPS (x, y, z) mm of the voxels of ``mask``."""
    return geometry.world_from_index(case.ct.affine, np.argwhere(mask))


def _level_slices(case: SyntheticCase, level: str) -> np.ndarray:
    """Axial slice indices holding this level's body."""
    body = (case.vertebrae.array == TOTALSEG_VERTEBRA_IDS[level]) & (case.parts.array == VertebraPart.BODY)
    return np.unique(np.nonzero(body)[0])


def test_thoracolumbar_range_is_t1_to_s1() -> None:
    assert THORACOLUMBAR_LEVELS == LEVELS[LEVELS.index("T1"):]
    assert replace(PARAMS, levels=("t1", "T2", "T3")).levels == ("T1", "T2", "T3")
    with pytest.raises(ValueError):
        replace(PARAMS, levels=("C7", "T2", "T3"))  # not contiguous


def test_levels_ids_and_cranio_caudal_order(case: SyntheticCase) -> None:
    present = set(np.unique(case.vertebrae.array).tolist()) - {0}
    assert present == {TOTALSEG_VERTEBRA_IDS[lv] for lv in UPPER} | {TOTALSEG_SPINAL_CORD}
    assert [TOTALSEG_VERTEBRA_IDS[lv] for lv in UPPER] == [43, 42, 41, 40, 39, 38]
    z = [_world(case, case.vertebrae.array == TOTALSEG_VERTEBRA_IDS[lv])[:, 2].mean() for lv in UPPER]
    assert all(a > b + 10.0 for a, b in zip(z, z[1:])), z  # T1 on top, each ~2 cm above the next
    assert [v.level for v in case.vertebra_truth] == list(UPPER)


def test_bodies_grow_caudally(case: SyntheticCase) -> None:
    volumes = [int(((case.vertebrae.array == TOTALSEG_VERTEBRA_IDS[lv])
                    & (case.parts.array == VertebraPart.BODY)).sum()) for lv in UPPER]
    assert all(b > a for a, b in zip(volumes, volumes[1:])), volumes
    assert volumes[-1] > 1.5 * volumes[0], volumes


def _ribs_by_level(case: SyntheticCase) -> dict[str, list[str]]:
    """Sides ("L", "R") of the ribs whose head lies beside each level's body.

    Ribs are the connected pieces of non-vertebral bone once the sternum and the ribs'
    front ends, which join them, are cut away; a rib's head is its voxel nearest the midline.
    """
    from scipy import ndimage

    bone = np.isin(case.tissues.array, BONE) & (case.vertebrae.array == 0)
    idx = np.argwhere(bone)
    pts = geometry.world_from_index(case.ct.affine, idx)
    vts = case.vertebra_truth
    cx = float(np.mean([v.center_lps[0] for v in vts]))
    front = min(v.center_lps[1] for v in vts) - 30.0
    keep = idx[~((np.abs(pts[:, 0] - cx) < 35.0) & (pts[:, 1] < front))]
    pieces = np.zeros(bone.shape, bool)
    pieces[tuple(keep.T)] = True
    labels, n = ndimage.label(pieces, np.ones((3, 3, 3), bool))
    out: dict[str, list[str]] = {}
    for i in range(1, n + 1):
        p = geometry.world_from_index(case.ct.affine, np.argwhere(labels == i))
        head = p[np.argmin(np.abs(p[:, 0] - cx))]
        vt = min(vts, key=lambda v: abs(v.center_lps[2] - head[2]))
        if abs(vt.center_lps[2] - head[2]) < 15.0 and abs(head[0] - cx) < 30.0:
            out.setdefault(vt.level, []).append("L" if p[:, 0].mean() > cx else "R")
    return out


def test_both_ribs_at_every_thoracic_level(case: SyntheticCase) -> None:
    ribs = _ribs_by_level(case)
    assert {lv: sorted(sides) for lv, sides in ribs.items()} == {lv: ["L", "R"] for lv in UPPER}
    rib_hu = case.ct.array[(case.tissues.array == Tissue.RIB_MARROW) & (case.vertebrae.array == 0)]
    assert rib_hu.size > 500 and np.median(rib_hu) > 150
    without = generate_spine_ct(replace(PARAMS, ribs=False))
    assert _ribs_by_level(without) == {}


def test_every_thoracic_level_of_a_long_run_has_its_rib_pair() -> None:
    thoracic = LEVELS[LEVELS.index("T1"):LEVELS.index("T12") + 1]
    long_run = generate_spine_ct(replace(PARAMS, levels=(*thoracic, "L1"), sex="M"))
    ribs = _ribs_by_level(long_run)
    assert {lv: sorted(sides) for lv, sides in ribs.items()} == {lv: ["L", "R"] for lv in thoracic}
    z = [v.center_lps[2] for v in long_run.vertebra_truth]
    tilt = [np.degrees(np.arctan2(-v.axis_lps[1], v.axis_lps[2])) for v in long_run.vertebra_truth]
    assert all(a > b for a, b in zip(z, z[1:]))
    assert tilt[0] - tilt[11] > 25.0, tilt  # T1 tips forwards of T12: the thoracic kyphosis


def test_lungs_both_sides_and_no_liver_at_t3(case: SyntheticCase) -> None:
    ks = _level_slices(case, "T3")
    k = int(np.median(ks))
    lung = case.tissues.array[k] == Tissue.LUNG
    one = np.zeros(case.ct.shape, bool)
    one[k] = lung
    x = _world(case, one)[:, 0]
    assert (x > 20).sum() > 1000 and (x < -20).sum() > 1000
    assert np.median(case.ct.array[k][lung]) < -750  # air, ~-860 HU
    organs = np.isin(case.tissues.array[ks], (Tissue.LIVER, Tissue.KIDNEY, Tissue.SPLEEN, Tissue.BOWEL))
    assert not organs.any()
    assert not np.isin(case.tissues.array, (Tissue.LIVER, Tissue.KIDNEY)).any()  # nowhere above T7


def test_descending_aorta_left_front_of_the_bodies(case: SyntheticCase) -> None:
    vt = next(v for v in case.vertebra_truth if v.level == "T6")
    ks = _level_slices(case, "T6")
    blood = np.zeros(case.ct.shape, bool)
    blood[ks] = case.tissues.array[ks] == Tissue.BLOOD
    pts = _world(case, blood)
    dx, dy = pts[:, 0] - vt.center_lps[0], pts[:, 1] - vt.center_lps[1]
    aorta = (dx > 10) & (dx < 40) & (dy > -30) & (dy < 5)
    assert aorta.sum() > 200
    assert ((dx < -10) & (dx > -40) & (dy > -30) & (dy < 5)).sum() < aorta.sum() / 5  # not on the right
    assert np.median(case.ct.array[blood][aorta]) > 140  # enhanced


def test_legacy_training_seeds_unchanged() -> None:
    assert LEGACY_TRAINING_LEVELS == LEVELS[LEVELS.index("T8"):]
    recorded = {200000: ("T12", "S1", 2.0, "M"), 200001: ("T9", "L3", 1.25, "F"), 300: ("L2", "L4", 2.5, "F")}
    for seed, (top, bottom, slice_mm, sex) in recorded.items():
        p = random_params(seed)
        assert (p.levels[0], p.levels[-1], p.spacing_mm[0], p.sex) == (top, bottom, slice_mm, sex)
        assert p == random_params(seed, LEGACY_TRAINING_LEVELS)
    assert all(set(random_params(s).levels) <= set(LEGACY_TRAINING_LEVELS) for s in range(200000, 200060))
    upper = [random_params(s, THORACOLUMBAR_LEVELS).levels[0] for s in range(200000, 200060)]
    assert any(LEVELS.index(top) < LEVELS.index("T8") for top in upper)


def test_t8_and_below_keep_the_lower_thorax_model() -> None:
    """No chest model (sternum, mediastinum) unless a level above T8 is drawn."""
    def anterior_midline_bone(levels: tuple[str, ...]) -> int:
        c = generate_spine_ct(replace(PARAMS, levels=levels))
        vt = c.vertebra_truth[0]
        pts = _world(c, np.isin(c.tissues.array, BONE) & (c.vertebrae.array == 0))
        return int(((np.abs(pts[:, 0]) < 8) & (pts[:, 1] < vt.center_lps[1] - 50)).sum())

    assert anterior_midline_bone(("T8", "T9", "T10")) == 0
    assert anterior_midline_bone(("T7", "T8", "T9")) > 50  # the sternal body
