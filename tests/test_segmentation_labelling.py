"""Level naming from part classes, checked on synthetic ground truth (no network involved)."""

from __future__ import annotations

import numpy as np
import pytest

from napari_spine_mets.anatomy import TOTALSEG_SACRUM, TOTALSEG_VERTEBRA_IDS
from napari_spine_mets.segmentation.classes import target_from_truth
from napari_spine_mets.segmentation.labelling import (FIRST_UNNAMED_ID, MIN_BODY_MM3, MIN_CUT_PIECE_MM3, Instances,
                                                       arches_from_pedicles, find_instances, label_maps_from, name_levels)
from napari_spine_mets.segmentation.vertebra_stats import vertebra_statistics
from napari_spine_mets.synthetic import FractureSpec, SpineParams, generate_spine_ct


@pytest.fixture(scope="module")
def lumbar_case():
    params = SpineParams(levels=("L2", "L3", "L4", "L5", "S1"), spacing_mm=(2.0, 1.0, 1.0), fov_mm=220,
                         lesions=(), fracture=FractureSpec("L3", 0.4, "wedge"))
    return generate_spine_ct(params)


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return float(2 * (a & b).sum() / max(1, a.sum() + b.sum()))


def test_instances_and_levels_from_the_sacrum(lumbar_case) -> None:
    case = lumbar_case
    classes = target_from_truth(case.parts.array, case.vertebrae.array)
    instances = find_instances(classes, case.ct.spacing)
    assert instances.count == 5
    naming = name_levels(instances, case.ct.spacing)
    assert naming.confident and "sacrum" in naming.anchor
    assert [naming.levels[i] for i in range(1, 6)] == ["L2", "L3", "L4", "L5", "S1"]
    vertebrae, parts, names = label_maps_from(classes, instances, naming)
    body = parts == 1
    for level in ("L2", "L3", "L4", "L5", "S1"):
        label = TOTALSEG_VERTEBRA_IDS[level]
        truth = case.vertebrae.array == label
        # bodies split exactly; posterior bone is attached through bone, close to the truth
        assert _dice((vertebrae == label) & body, truth & body) > 0.99, level
        assert _dice(vertebrae == label, truth) > 0.92, level
    assert names[TOTALSEG_SACRUM] == "sacrum"


def test_without_sacrum_nothing_is_guessed_and_the_user_anchor_names_all(lumbar_case) -> None:
    case = lumbar_case
    classes = target_from_truth(case.parts.array, case.vertebrae.array)
    classes[classes == 7] = 0  # sacrum out of view
    instances = find_instances(classes, case.ct.spacing)
    naming = name_levels(instances, case.ct.spacing)
    assert not naming.confident and all(level is None for level in naming.levels.values())
    vertebrae, _, names = label_maps_from(classes, instances, naming)
    assert min(names) >= FIRST_UNNAMED_ID or set(names) <= set(range(FIRST_UNNAMED_ID, 256))
    user = name_levels(instances, case.ct.spacing, anchor=(2, "L3"))
    assert [user.levels[i] for i in range(1, 6)] == ["L2", "L3", "L4", "L5", "S1"]
    with pytest.raises(ValueError):
        name_levels(instances, case.ct.spacing, anchor=(9, "L3"))


def test_statistics_show_the_fracture(lumbar_case) -> None:
    case = lumbar_case
    classes = target_from_truth(case.parts.array, case.vertebrae.array)
    instances = find_instances(classes, case.ct.spacing)
    vertebrae, parts, names = label_maps_from(classes, instances, name_levels(instances, case.ct.spacing))
    stats = {s["level"]: s for s in vertebra_statistics(vertebrae, parts, names, case.ct.affine, np.ones(vertebrae.shape, np.float32))}
    assert list(stats) == ["L2", "L3", "L4", "L5", "S1"]  # cranial to caudal
    l3, l2, l4 = stats["L3"]["body_height"], stats["L2"]["body_height"], stats["L4"]["body_height"]
    # a 40 % wedge: the anterior height of L3 is clearly below its neighbours', the posterior much less so
    neighbours_anterior = (l2["anterior_mm"] + l4["anterior_mm"]) / 2
    assert l3["anterior_mm"] < 0.8 * neighbours_anterior
    assert l3["posterior_mm"] > l3["anterior_mm"]
    assert stats["L4"]["volume_mm3"] > 10_000 and stats["L4"]["confidence"] == 1.0
    # the same figures from a box of the volume that holds every vertebra, placed by its origin
    found = np.argwhere(vertebrae > 0)
    low, high = found.min(axis=0), found.max(axis=0) + 1
    box = tuple(slice(int(a), int(b)) for a, b in zip(low, high))
    confidence = np.random.default_rng(0).random(vertebrae.shape).astype(np.float32)
    in_box = vertebra_statistics(vertebrae[box], parts[box], names, case.ct.affine, confidence[box],
                                 origin=tuple(int(a) for a in low))
    assert low.any() and in_box == vertebra_statistics(vertebrae, parts, names, case.ct.affine, confidence)


def test_shift_all_levels_in_one_step(lumbar_case) -> None:
    from napari_spine_mets.segmentation.labelling import shift_levels

    names = dict(lumbar_case.vertebrae.names)
    shifted, new_names = shift_levels(lumbar_case.vertebrae.array, names, -1)  # everything one level up
    assert (shifted == TOTALSEG_VERTEBRA_IDS["L1"]).sum() == (lumbar_case.vertebrae.array == TOTALSEG_VERTEBRA_IDS["L2"]).sum()
    assert new_names[TOTALSEG_VERTEBRA_IDS["L5"]] == "vertebrae_L5"
    assert (shifted == TOTALSEG_SACRUM).sum() == (lumbar_case.vertebrae.array == TOTALSEG_SACRUM).sum()
    with pytest.raises(ValueError, match="past S1"):
        shift_levels(lumbar_case.vertebrae.array, names, +1)


def test_a_body_fragment_beside_a_body_is_not_a_vertebra() -> None:
    """Seed 200010: the network called a bit of the cut-off top vertebra's arch "body"; it was counted as T8."""
    classes = np.zeros((40, 40, 30), dtype=np.uint8)
    classes[2:16, 5:20, 5:25] = 1  # lower body (2 mm slices, 2 mm pixels: 28 x 30 x 40 mm)
    classes[16:18, 5:20, 5:25] = 6  # disc
    classes[18:32, 5:20, 5:25] = 1  # upper body, cut off by the top of the scan
    classes[24:32, 24:30, 12:18] = 1  # a 2,300 mm3 "body" fragment behind the upper body, in its slices
    classes[18:32, 20:24, 12:18] = 2  # the arch joining them
    instances = find_instances(classes, (2.0, 2.0, 2.0))
    assert instances.count == 2
    # the fragment's voxels join the upper vertebra (id 1 = most cranial)
    assert set(np.unique(instances.labels[24:32, 24:30, 12:18])) == {1}


def test_a_vertebra_cut_off_by_the_scan_above_an_oblique_disc_is_not_a_fragment() -> None:
    # the real series' case: T12 whole, T11 cut by the top of the scan, the disc between them
    # tilted, so after the cut along the disc the small upper piece shares most of its slices
    # with the body below (the rule for arch fragments beside a body must not drop it)
    classes = np.zeros((24, 40, 40), dtype=np.uint8)
    zz, yy, xx = np.mgrid[:24, :40, :40]
    column = (yy - 20) ** 2 + (xx - 20) ** 2 <= 12**2
    plane = 16.5 + (yy - 20) * 0.3  # the disc's mid-plane rises towards the back
    classes[column & (zz < plane - 1)] = 1
    classes[column & (np.abs(zz - plane) <= 1)] = 6
    classes[column & (zz > plane + 1)] = 1
    classes[column & (np.abs(zz - plane) <= 1) & ((yy - 20) ** 2 + (xx - 20) ** 2 > 11**2)] = 1  # bridged at the rim
    instances = find_instances(classes, (2.0, 2.0, 2.0))
    assert instances.count == 2
    upper, lower = (instances.labels == 1), (instances.labels == 2)
    assert upper.sum() < 0.5 * lower.sum()  # the small piece, which the fragment rule weighs
    assert np.nonzero(upper)[0].mean() > np.nonzero(lower)[0].mean()


def test_a_crushed_body_run_into_the_one_above_is_still_a_vertebra() -> None:
    """Seed 590006: a fractured cervical body (1.4 mL on the 2 mm grid) merged with the body above
    through their disc; cut at the disc, it was dropped as a crumb and every level above was one off."""
    classes = np.zeros((24, 30, 30), dtype=np.uint8)
    classes[2:7, 12:18, 12:18] = 1  # the crushed body: 5 slices of 6 x 6 voxels (10 mm tall, 1,440 mm3)
    classes[7, 10:20, 10:20] = 6  # their disc ...
    classes[7, 13:17, 13:17] = 1  # ... which the network's body class runs through at its centre
    classes[8:18, 10:20, 10:20] = 1  # the body above
    voxel_mm3 = 8.0
    assert MIN_CUT_PIECE_MM3 <= (classes[2:7] == 1).sum() * voxel_mm3 < MIN_BODY_MM3
    instances = find_instances(classes, (2.0, 2.0, 2.0))
    assert instances.count == 2
    assert set(np.unique(instances.labels[2:7, 12:18, 12:18])) == {2}
    # a body that small on its own, cut from nothing, is still a crumb
    alone = np.where(np.arange(24)[:, None, None] < 7, classes, 0).astype(np.uint8)
    alone[alone == 6] = 0
    assert find_instances(alone, (2.0, 2.0, 2.0)).count == 0


def test_a_crushed_body_run_into_the_next_through_an_oblique_disc_is_cut_from_it() -> None:
    """Fresh neck 594000 (3 mm slices): T1, crushed by a quarter, ran into T2 through an oblique
    disc; the area dipped only to 0.9 at the disc and the crushed body was 8 mm tall, so the two
    stayed one vertebra (T1 0.37). A piece far taller than the others is cut at such a dip."""
    classes = np.zeros((52, 30, 30), dtype=np.uint8)
    classes[2:12, 10:20, 10:20] = 1  # three normal bodies, 10 slices (20 mm) each, with discs
    classes[12, 10:20, 10:20] = 6
    classes[13:23, 10:20, 10:20] = 1
    classes[23, 10:20, 10:20] = 6
    classes[24:34, 10:20, 10:20] = 1  # ... the third, with the crushed one run into it:
    classes[34, 10:20, 10:20] = 6  # the disc, which the body class runs through (an oblique cut)
    classes[34, 11:19, 12:19] = 1  # 56 voxels: 0.875 of the crushed body's 64
    classes[35:39, 11:19, 11:19] = 1  # the crushed body: 4 slices (8 mm), 2,048 mm3
    classes[39, 10:20, 10:20] = 6
    classes[40:50, 10:20, 10:20] = 1
    spacing = (2.0, 2.0, 2.0)
    instances = find_instances(classes, spacing)
    assert instances.count == 5
    assert set(np.unique(instances.labels[35:39, 12:18, 12:18])) == {2}  # the crushed one, in order
    # a body merely taller than the rest, without a dip at a disc, stays one
    whole = classes.copy()
    whole[34:39, 10:20, 10:20] = 1
    assert find_instances(whole, spacing).count == 4


def _tilted_column(merged: bool, degrees: float = 50.0, rim_of_disc: int = 2,
                   lengths: tuple[float, ...] = (16.0, 16.0, 10.0, 16.0, 16.0)) -> np.ndarray:
    """Five cylindrical bodies (9 mm radius; ``lengths``: 16 mm long, the third crushed to 10 mm)
    with 4 mm discs between them, along a column ``degrees`` off the grid's axis 0 (2 mm voxels);
    ``merged``: the body class runs through the rim of disc ``rim_of_disc`` (0: the lowest; 2:
    above the crushed body, as the network ran it through T3/T4 on fresh case 680023)."""
    zz, yy, xx = np.mgrid[:70, :90, :20].astype(float) * 2.0
    axis = np.array([np.cos(np.radians(degrees)), np.sin(np.radians(degrees)), 0.0])
    offset = np.stack([zz, yy, xx], axis=-1) - np.array([10.0, 10.0, 20.0])
    along = offset @ axis
    across = np.linalg.norm(offset - along[..., None] * axis, axis=-1)
    classes = np.zeros(zz.shape, dtype=np.uint8)
    inside = across <= 9.0
    start = 0.0
    for k, length in enumerate(lengths):
        classes[inside & (along >= start) & (along < start + length)] = 1
        if k < 4:
            classes[inside & (along >= start + length) & (along < start + length + 4.0)] = 6
        if merged and k == rim_of_disc:  # the disc's rim called body
            classes[inside & (across > 7.0) & (along >= start + length) & (along < start + length + 4.0)] = 1
        start += length + 4.0
    return classes


def _assert_cut_across_the_column(merged: np.ndarray, apart: Instances, spacing: tuple[float, float, float]) -> None:
    """Five vertebrae from ``merged``, each about as large as where the disc kept them apart
    (``apart``), and only four with ``tilted_split`` off (the axial dip alone does not see it)."""
    from napari_spine_mets.segmentation import tilted_split

    instances = find_instances(merged, spacing)
    assert instances.count == 5
    sizes, sizes_apart = np.bincount(instances.labels.ravel())[1:], np.bincount(apart.labels.ravel())[1:]
    assert np.all(np.abs(sizes / sizes_apart - 1) < 0.25)
    kept = tilted_split.split_tilted_bodies
    try:
        tilted_split.split_tilted_bodies = lambda pieces, groups, *args: (pieces, groups)
        assert find_instances(merged, spacing).count == 4
    finally:
        tilted_split.split_tilted_bodies = kept


def test_two_bodies_run_together_on_a_steeply_tilted_column_are_cut_across_the_column() -> None:
    """Fresh case 680023 (3 mm slices, the column 50 degrees off the axis): T3 and a crushed T4
    ran together through their disc's rim. Every axial slice cuts both bodies, so the axial area
    hardly dips there and they stayed one vertebra (T3 / T4 0.60 / 0.55); across the column's
    own axis the disc is a clear dip."""
    spacing = (2.0, 2.0, 2.0)
    apart = find_instances(_tilted_column(merged=False), spacing)
    assert apart.count == 5
    _assert_cut_across_the_column(_tilted_column(merged=True), apart, spacing)


def test_two_bodies_run_together_at_the_top_of_the_view_on_a_tilted_column_are_cut_too() -> None:
    """A body at an end of the view has one neighbour: the column's line runs through its own
    centre and that neighbour's (session 30's sweep had T3 and T4 as one at the top of a view)."""
    spacing = (2.0, 2.0, 2.0)
    # the crushed body and the one beside it ran together: at the bottom of the view, then the top
    for disc, lengths in ((0, (10.0, 16.0, 16.0, 16.0, 16.0)), (3, (16.0, 16.0, 16.0, 16.0, 10.0))):
        apart = find_instances(_tilted_column(merged=False, lengths=lengths), spacing)
        assert apart.count == 5
        _assert_cut_across_the_column(_tilted_column(merged=True, rim_of_disc=disc, lengths=lengths), apart, spacing)


def test_a_crushed_body_on_its_own_between_two_vertebrae_is_a_vertebra() -> None:
    """Seed 605007: a C3 collapsed by half (1.3 mL on the 2 mm grid, not joined to its
    neighbours) was dropped as a crumb; C2 took its bone and every level below was one off."""
    classes = np.zeros((32, 30, 30), dtype=np.uint8)
    classes[2:12, 10:20, 10:20] = 1  # the body below
    classes[12, 10:20, 10:20] = 6
    classes[13:18, 12:18, 12:18] = 1  # the crushed body: 5 slices of 6 x 6 voxels, 1,440 mm3
    classes[18, 10:20, 10:20] = 6
    classes[19:29, 10:20, 10:20] = 1  # the body above
    spacing = (2.0, 2.0, 2.0)
    assert MIN_CUT_PIECE_MM3 <= (classes[13:18] == 1).sum() * 8.0 < MIN_BODY_MM3
    instances = find_instances(classes, spacing)
    assert instances.count == 3
    assert set(np.unique(instances.labels[13:18, 12:18, 12:18])) == {2}  # the middle one, in order
    # with a body on one side only (the view's edge), it is still a crumb ...
    assert find_instances(np.where(np.arange(32)[:, None, None] < 19, classes, 0).astype(np.uint8), spacing).count == 1
    # ... and so is bone of body class out of line with the column
    aside = classes.copy()
    aside[13:18] = 0
    aside[13:18, 2:8, 22:28] = 1
    assert find_instances(aside, spacing).count == 2


def test_a_transverse_process_touching_the_vertebra_above_follows_its_own_pedicle() -> None:
    """Seed 590003: on a steeply tilted neck T1's transverse process rises until its tip touches
    C7, nearer C7's body than T1's; the rib anchor found T1's first ribs on C7 and named nothing."""
    classes = np.zeros((30, 30, 20), dtype=np.uint8)
    classes[3:12, 2:12, 5:15] = 1  # the lower body
    classes[17:26, 2:12, 5:15] = 1  # the upper body
    classes[6:9, 12:16, 9:12] = 3  # the lower vertebra's pedicle, leaving its body backwards ...
    classes[6:21, 16:19, 9:12] = 3  # ... and the process base the network also calls pedicle, rising
    classes[21:25, 16:19, 9:12] = 2  # the process' tip
    classes[21:25, 12:16, 9:12] = 2  # touching the back of the upper body
    instances = find_instances(classes, (2.0, 2.0, 2.0))
    assert instances.count == 2
    tip = (slice(21, 25), slice(16, 19), slice(9, 12))
    assert set(np.unique(instances.labels[tip])) == {1}  # nearest body through the bone: the one above
    owned = arches_from_pedicles(instances.labels, classes)
    assert set(np.unique(owned[tip])) == {2}  # through its own pedicle: the lower vertebra's
    assert np.array_equal(owned > 0, instances.labels > 0)  # the same voxels, only owned differently
    assert set(np.unique(owned[classes == 1])) == {1, 2}
    assert set(np.unique(owned[3:12, 2:12, 5:15])) == {2} and set(np.unique(owned[17:26, 2:12, 5:15])) == {1}


def test_a_thin_strip_of_body_along_the_sacrum_is_not_the_vertebra_resting_on_it() -> None:
    """Seeds 434343 and 530008: a 2,800 mm3 strip of "body" down the sacrum's front was counted
    as S1, and every level above it was named one too high."""
    classes = np.zeros((60, 50, 40), dtype=np.uint8)
    classes[0:20, 10:35, 5:35] = 7  # sacrum (below S1)
    classes[20:32, 10:25, 8:32] = 1  # S1 body (2 mm grid: 24 x 30 x 48 mm)
    classes[32:34, 10:25, 8:32] = 6  # disc
    classes[34:46, 10:25, 8:32] = 1  # L5 body
    classes[46:48, 10:25, 8:32] = 6
    classes[48:60, 10:25, 8:32] = 1  # L4 body
    classes[0:40, 6:8, 18:22] = 1  # a 2 x 4 voxel strip in front of the sacrum and the bodies, 40 slices tall
    classes[20:60, 26:30, 16:24] = 2  # arches
    instances = find_instances(classes, (2.0, 2.0, 2.0))
    assert instances.count == 3
    naming = name_levels(instances, (2.0, 2.0, 2.0))
    assert [naming.levels[i] for i in range(1, 4)] == ["L4", "L5", "S1"]
    assert set(np.unique(instances.labels[20:32, 10:25, 8:32])) == {3}  # the body resting on the sacrum is S1


def test_an_even_density_structure_taken_for_a_body_goes_before_the_levels_are_counted(lumbar_case) -> None:
    from napari_spine_mets.segmentation.labelling import without_instances
    from napari_spine_mets.segmentation.vessels import uniform_instances

    case = lumbar_case
    classes = target_from_truth(case.parts.array, case.vertebrae.array)
    hu = case.ct.array.astype(np.float32)
    # a contrast-filled vessel (300 HU, even) at L3's height, well to the side, that a
    # network called "body": counted among the vertebrae it would shift the names above it
    l3 = np.nonzero((case.vertebrae.array == TOTALSEG_VERTEBRA_IDS["L3"]).any(axis=(1, 2)))[0]
    vessel = (slice(int(l3.min()), int(l3.max()) + 1), slice(60, 80), slice(10, 30))
    assert not classes[vessel].any()
    classes[vessel] = 1
    hu[vessel] = np.random.default_rng(1).normal(300.0, 12.0, size=hu[vessel].shape)
    instances = find_instances(classes, case.ct.spacing)
    assert instances.count == 6
    counted_with_it = name_levels(instances, case.ct.spacing)
    assert [counted_with_it.levels[i] for i in range(1, 7)] != ["L2", "L3", "L4", "L5", "S1", None]
    even = uniform_instances(hu, instances.labels)
    assert len(even) == 1 and (instances.labels[vessel] == even[0]).all()
    kept = without_instances(instances, even)
    assert kept.count == 5 and set(np.unique(kept.labels)) == {0, 1, 2, 3, 4, 5}
    assert not kept.labels[vessel].any()
    naming = name_levels(kept, case.ct.spacing)
    assert [naming.levels[i] for i in range(1, 6)] == ["L2", "L3", "L4", "L5", "S1"] and naming.confident


def test_dropping_instances_keeps_the_order_and_the_axis_and_atlas_ids() -> None:
    from napari_spine_mets.segmentation.labelling import without_instances

    labels = np.zeros((10, 4, 4), np.int16)
    for i in range(1, 6):
        labels[2 * i - 2: 2 * i] = i  # 1 most cranial ... 5
    instances = Instances(labels=labels, count=5, sacrum=np.zeros(labels.shape, bool), axis_id=2, atlas_id=1,
                          atlas_top_mm=12.0)
    kept = without_instances(instances, [3])
    assert kept.count == 4 and kept.axis_id == 2 and kept.atlas_id == 1 and kept.atlas_top_mm == 12.0
    assert [int(kept.labels[2 * i, 0, 0]) for i in range(5)] == [1, 2, 0, 3, 4]
    no_atlas = without_instances(instances, [1])
    assert no_atlas.atlas_id is None and no_atlas.atlas_top_mm is None and no_atlas.axis_id == 1
    assert without_instances(instances, []) is instances
