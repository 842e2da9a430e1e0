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
    kept: dict[str, float] = {}
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


def _chest_phantom() -> np.ndarray:
    """A water trunk (rows 10-290, middle 150; 1 mm in plane) with a bone rod for the column
    50 mm behind the middle and a wider, heavier bone plate for the sternum 110 mm in front."""
    z, y, x = np.mgrid[0:40, 0:300, 0:200]
    hu = np.where((y - 150) ** 2 / 140**2 + (x - 100) ** 2 / 95**2 <= 1.0, 0, -1000).astype(np.int16)
    hu[(y - 200) ** 2 + (x - 100) ** 2 <= 12**2] = 400
    hu[(np.abs(y - 40) <= 10) & (np.abs(x - 100) <= 25)] = 400
    return hu


def test_the_sternum_is_not_taken_for_the_column() -> None:
    spacing = (2.0, 1.0, 1.0)
    box = locate_spine(_chest_phantom(), spacing)
    assert box.y[0] <= 200 - 70 and box.y[1] >= 200 + 70  # round the column, with its margin
    # stored front to back, the affine says so, and the column is still found
    flipped = locate_spine(_chest_phantom()[:, ::-1, :], spacing, y_towards_back=False)
    assert flipped.y[0] <= 99 - 70 and flipped.y[1] >= 99 + 70
    # told the wrong way round, the plate in front wins: the orientation is what tells them apart
    fooled = locate_spine(_chest_phantom()[:, ::-1, :], spacing, y_towards_back=True)
    assert not fooled.y[0] <= 99 < fooled.y[1]


def test_box_holds_the_column_of_a_chest_view_where_the_sternum_outweighs_it() -> None:
    # seed 609008: a 250 mm view of T4-T6; the sternum's bone outweighed the column's in both
    # slabs, the box held the front of the chest only, and "no spine found" was reported
    case = generate_spine_ct(random_params(609_008, THORACOLUMBAR_LEVELS))
    box = locate_spine(case.ct.array, case.ct.spacing)
    assert _inside(case.vertebrae.array > 0, box.slices()) >= 0.99
