"""C1 (no body) and C2 (the dens) from the network's part classes, and naming from the dens.

Network-free: the "network output" is the synthetic ground truth's classes carried to the
2 mm working grid, where ``find_instances`` works. Each test fails if the dens or the atlas
is not found, or if a body that is not C2 is taken for it.
"""

from __future__ import annotations

import numpy as np
import pytest

from napari_spine_mets.anatomy import level_of_label
from napari_spine_mets.segmentation.classes import target_from_truth
from napari_spine_mets.segmentation.craniocervical import (ATLAS_ABOVE_DENS_MM, ATLAS_SEED_ABOVE_MM, Dens,
                                                           atlas_marker, find_dens, skull_base_above_dens,
                                                           trim_atlas)
from napari_spine_mets.segmentation.labelling import Instances, find_instances, name_levels
from napari_spine_mets.segmentation.resampling import resample_labels, working_shape
from napari_spine_mets.synthetic import SpineParams, generate_spine_ct


def _working(levels: tuple[str, ...], spacing_mm: tuple[float, float, float], sacrum: bool = False):
    case = generate_spine_ct(SpineParams(seed=5, levels=levels, spacing_mm=spacing_mm, fov_mm=240, lesions=(),
                                         fracture=None, include_sacrum=sacrum))
    classes = target_from_truth(case.parts.array, case.vertebrae.array)
    shape = working_shape(classes.shape, case.ct.spacing, 2.0)
    spacing = tuple(float(f) * s / c for f, s, c in zip(classes.shape, case.ct.spacing, shape))
    return resample_labels(classes, shape), resample_labels(case.vertebrae.array, shape), spacing


def _truth_levels(instances: Instances, truth: np.ndarray) -> list[str | None]:
    out = []
    for i in range(1, instances.count + 1):
        ids, counts = np.unique(truth[instances.labels == i], return_counts=True)
        keep = ids > 0
        out.append(level_of_label(int(ids[keep][np.argmax(counts[keep])])) if keep.any() else None)
    return out


@pytest.fixture(scope="module")
def neck():
    return _working(("C1", "C2", "C3", "C4", "C5", "C6", "C7", "T1"), (2.0, 0.8, 0.8))


def test_c1_without_a_body_is_found_around_the_dens_and_c2_names_the_rest(neck) -> None:
    classes, truth, spacing = neck
    instances = find_instances(classes, spacing)
    assert (instances.atlas_id, instances.axis_id) == (1, 2)
    assert instances.count == 8  # C1 counted although it has no body
    assert _truth_levels(instances, truth) == ["C1", "C2", "C3", "C4", "C5", "C6", "C7", "T1"]
    for instance, label in ((1, 50), (2, 49)):  # TotalSegmentator ids of C1 and C2
        mine = truth == label
        assert (instances.labels[mine] == instance).mean() > 0.8, label
    naming = name_levels(instances, spacing)
    assert "dens" in naming.anchor and naming.confident
    assert [naming.levels[i] for i in range(1, 9)] == ["C1", "C2", "C3", "C4", "C5", "C6", "C7", "T1"]


def test_arch_bone_behind_the_dens_alone_is_not_an_atlas() -> None:
    """C2's own superior facets and laminae rise above its body: with no C1 in view they were
    taken for an atlas on a network-segmented neck (seed 220013). C1 has an anterior arch."""
    dens = Dens(body_top=4, peg_top=9, centre_yx=(20.0, 30.0))
    spacing = (2.0, 2.0, 2.0)
    posterior = np.zeros((14, 50, 60), dtype=bool)
    posterior[5:10, 24:32, 18:42] = True  # 1,920 mm³ behind the dens, beside the canal
    assert atlas_marker(posterior, dens, spacing) is None
    posterior[6:9, 14:17, 27:34] = True  # an anterior arch, 3 voxels (6 mm) in front of the dens
    assert atlas_marker(posterior, dens, spacing) is not None



def test_c2s_arch_rising_above_its_body_does_not_seed_c1() -> None:
    # 3 mm slices: the flood from an atlas seed taking all arch bone above C2's body top
    # carried C1's label down C2's laminae (19 % of C2 went to C1)
    classes, truth, spacing = _working(("C1", "C2", "C3", "C4"), (3.0, 0.9, 0.9))
    instances = find_instances(classes, spacing)
    assert (instances.atlas_id, instances.axis_id) == (1, 2)
    assert (instances.labels[truth == 49] == 1).mean() < 0.10
    assert (instances.labels[truth == 50] == 1).mean() > 0.95


def test_the_atlas_seed_keeps_to_bone_well_above_c2s_body() -> None:
    dens = Dens(body_top=4, peg_top=12, centre_yx=(20.0, 30.0))
    spacing = (2.0, 2.0, 2.0)
    posterior = np.zeros((16, 50, 60), dtype=bool)
    posterior[5:7, 24:32, 18:42] = True  # C2's facets and laminae just above its body top
    posterior[6:9, 14:17, 27:34] = True  # an anterior arch in front of the dens, low
    lowest_seed = dens.body_top + int(ATLAS_SEED_ABOVE_MM // spacing[0]) + 1
    posterior[lowest_seed:13, 24:30, 20:40] = True  # C1's posterior arch, higher up
    marker = atlas_marker(posterior, dens, spacing)
    assert marker is not None
    assert not marker[:lowest_seed].any() and marker[lowest_seed:13].all(axis=0)[24:30, 20:40].all()
    posterior[lowest_seed:] = False  # nothing well above: the bone above the body still seeds C1
    marker = atlas_marker(posterior, dens, spacing)
    assert marker is not None and marker[5:7, 24:32, 18:42].all()


def test_skull_base_above_the_dens_is_taken_out_of_c1() -> None:
    labels = np.zeros((30, 4, 4), dtype=np.int16)
    parts = np.zeros((30, 4, 4), dtype=np.uint8)
    labels[5:30] = 1  # C1 flooded on into the occiput
    labels[0:5] = 2
    parts[labels > 0] = 2
    trim_atlas(labels, parts, atlas_id=1, top_mm=20.0, spacing_z=1.0)
    assert (labels[5:20] == 1).all() and (labels[20:] == 0).all() and (parts[20:] == 0).all()
    assert (labels[0:5] == 2).all() and (parts[:20] == 2).all()

def test_skull_base_the_network_called_body_above_the_dens_is_no_vertebra(neck) -> None:
    # fresh neck 713002: the clivus and occipital bone, called vertebral body, were the most
    # cranial body; no dens was looked for on C2 below them, C1 joined C2, no level was named
    classes, truth, spacing = neck
    c2_body = (truth == 49) & (classes == 1)  # TotalSegmentator's id of C2
    dens = find_dens(c2_body, spacing)
    assert dens is not None
    classes = np.concatenate([classes, np.zeros((12, *classes.shape[1:]), classes.dtype)])  # room above

    def plate_at(lowest: int) -> np.ndarray:
        plate = np.zeros(classes.shape, dtype=bool)
        cy, cx = (int(round(c)) for c in dens.centre_yx)
        plate[lowest:lowest + 3, cy - 6:cy + 6, cx - 10:cx + 10] = True  # 24 x 40 mm of "body"
        return plate & (classes == 0)

    above = dens.peg_top + int(ATLAS_ABOVE_DENS_MM // spacing[0]) + 1
    with_skull = np.where(plate_at(above), 1, classes).astype(classes.dtype)
    instances = find_instances(with_skull, spacing)
    assert (instances.atlas_id, instances.axis_id) == (1, 2)  # without the rule: neither
    assert instances.count == 8  # the plate is no ninth vertebra
    naming = name_levels(instances, spacing)
    assert "dens" in naming.anchor and naming.levels[2] == "C2"
    c2_body = np.concatenate([c2_body, np.zeros((12, *c2_body.shape[1:]), bool)])
    assert skull_base_above_dens(plate_at(above), c2_body, spacing)
    assert not skull_base_above_dens(plate_at(dens.peg_top + 2), c2_body, spacing)  # within reach of the dens


def test_no_dens_below_c2_nor_on_a_body_cut_by_the_view() -> None:
    for levels in (("C3", "C4", "C5", "C6"), ("T11", "T12", "L1", "L2")):
        classes, truth, spacing = _working(levels, (1.25, 0.8, 0.8))
        instances = find_instances(classes, spacing)
        assert instances.axis_id is None and instances.atlas_id is None, levels
        assert instances.count == len(levels)
    # a lumbar body whose top the view cuts obliquely narrows upwards, but over its whole width
    body = np.zeros((20, 40, 40), dtype=bool)
    for z in range(20):
        half = 14 if z < 12 else 14 - 2 * (z - 11)
        body[z, 20 - half:20 + half, 20 - half:20 + half] = True
    body[19:] = False
    assert find_dens(body, (2.0, 1.0, 1.0)) is None


def test_a_stray_voxel_beside_the_peg_does_not_hide_the_dens() -> None:
    # C2 on a 2 mm grid: a 20 x 20 mm body proper, then a 10 x 10 mm peg 16 mm tall
    body = np.zeros((24, 30, 30), dtype=bool)
    body[2:10, 5:15, 5:15] = True
    body[10:18, 8:13, 8:13] = True
    spacing = (2.0, 2.0, 2.0)
    clean = find_dens(body, spacing)
    assert clean is not None and clean.body_top == 9 and clean.peg_top == 17
    # one voxel of body class 14 mm to the side of the peg (a lateral mass' edge, as the
    # network gave one neck) spans 24 mm with it: the peg's own width decides
    body[11, 10, 20] = True
    assert find_dens(body, spacing) == clean
    # a bar joining the two is body that wide, not a stray voxel: no peg
    body[11, 10, 12:21] = True
    assert find_dens(body, spacing) is None


def test_the_dens_width_is_measured_between_voxel_centres() -> None:
    # fresh neck 640011: the peg's base, where it meets the body, was 8 voxels across on a
    # 2.0013 mm grid; counted edge to edge that is 16.01 mm, over the 16 mm bound, and the
    # dens was missed (C1 then joined C2)
    spacing = (2.0, 2.0013, 2.0013)
    body = np.zeros((24, 30, 30), dtype=bool)
    body[2:10, 5:15, 5:15] = True  # the body proper, 20 mm across
    body[10, 8:12, 6:14] = True  # the base: 8 voxels across, 14.0 mm between the outer centres
    body[11:18, 8:12, 8:12] = True  # the peg, 8 mm across
    dens = find_dens(body, spacing)
    assert dens is not None and dens.body_top == 9 and dens.peg_top == 17
    body[10, 8:12, 5:15] = True  # ten voxels: 18.0 mm between centres, wider than any dens
    assert find_dens(body, spacing) is None


def test_the_dens_and_the_sacrum_must_agree_on_the_count() -> None:
    classes, truth, spacing = _working(("C1", "C2", "C3", "C4"), (2.0, 0.8, 0.8))
    instances = find_instances(classes, spacing)
    assert instances.count == 4
    # C4 taken for a sacrum says C3 is S1: the two anchors disagree, and that is flagged
    sacrum = instances.labels == 4
    labels = np.where(sacrum, 0, instances.labels).astype(np.int16)
    naming = name_levels(Instances(labels, 3, sacrum, instances.axis_id, instances.atlas_id), spacing)
    assert naming.levels[3] == "S1" and not naming.confident
    assert any("dens is" in note and "not C2" in note for note in naming.notes)


def test_a_dens_without_c1_around_it_names_levels_only_as_a_suggestion(neck) -> None:
    classes, truth, spacing = neck
    found = find_instances(classes, spacing)
    # C1 missed (as if the network had not found its arch): C2 is still the body with the peg
    labels = np.where(found.labels == 1, 0, found.labels - 1).astype(np.int16)
    instances = Instances(labels, found.count - 1, found.sacrum, axis_id=1, atlas_id=None)
    naming = name_levels(instances, spacing)
    assert [naming.levels[i] for i in range(1, 8)] == ["C2", "C3", "C4", "C5", "C6", "C7", "T1"]
    assert not naming.confident and any("no C1 around it" in note for note in naming.notes)
