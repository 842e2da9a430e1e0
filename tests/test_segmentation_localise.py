"""The coarse stage's box around the spine: the network never sees what it leaves out."""

from __future__ import annotations

import numpy as np

from napari_spine_mets.anatomy import VertebraPart, level_of_label
from napari_spine_mets.segmentation.localise import locate_spine
from napari_spine_mets.segmentation.training_data import random_params
from napari_spine_mets.synthetic import generate_spine_ct
from napari_spine_mets.synthetic.params import THORACOLUMBAR_LEVELS


def _inside(mask: np.ndarray, box_slices: tuple[slice, slice, slice]) -> float:
    inside = np.zeros_like(mask)
    inside[box_slices] = True
    return float((mask & inside).sum() / mask.sum())


def test_box_holds_the_top_body_of_a_strongly_kyphotic_column() -> None:
    # benchmark seed 210000: T2's body lies against the front edge of the view, 40 mm forward
    # of the column's median; a box centred on the median cut it off and T2 was lost
    case = generate_spine_ct(random_params(210_000, THORACOLUMBAR_LEVELS))
    box = locate_spine(case.ct.array, case.ct.spacing)
    assert box.found
    labels, body = case.vertebrae.array, case.parts.array == int(VertebraPart.BODY)
    kept = {}
    for label in np.unique(labels[body]):
        level = level_of_label(int(label))
        if level is not None:
            kept[level] = _inside(body & (labels == label), box.slices())
    assert "T2" in kept and kept["T2"] > 0.0
    assert all(fraction >= 0.99 for fraction in kept.values()), kept


def test_box_on_a_straight_column_stays_narrower_than_the_scan() -> None:
    # the box is what makes a whole-trunk CT affordable: on an ordinary column it must not
    # grow to the whole field of view
    case = generate_spine_ct(random_params(200_002))
    box = locate_spine(case.ct.array, case.ct.spacing)
    labels = case.vertebrae.array
    assert _inside(labels > 0, box.slices()) >= 0.99
    box_voxels = np.prod([stop - start for start, stop in (box.z, box.y, box.x)])
    assert box_voxels < 0.75 * labels.size


def test_no_bone_in_view_gives_the_whole_scan_and_says_not_found() -> None:
    water = np.zeros((20, 64, 64), dtype=np.int16)
    box = locate_spine(water, (2.0, 1.0, 1.0))
    assert not box.found
    assert (box.z, box.y, box.x) == ((0, 20), (0, 64), (0, 64))
