"""The midsagittal plane used for the left-right comparison, on arrays built here.

A plane half a voxel off mirrors a thin dense plate onto the marrow beside it: the plate
then looks like one-sided dense bone (the sample case's fused sacral endplates were
proposed as a 45 cm³ blastic lesion with network labels whose median column was off).
"""

from __future__ import annotations

import numpy as np

from napari_spine_mets.detection.bone_grid import BoneGrid
from napari_spine_mets.detection.mirror import midlines, mirror_difference


def _plated_bone(extra_right_columns: int) -> BoneGrid:
    """A block of marrow symmetric about column 20.5 with one-voxel dense plates at 14, 27
    (mirror pairs) and a label that reaches ``extra_right_columns`` further on one side."""
    shape = (12, 16, 44)
    labels = np.zeros(shape, dtype=np.int16)
    labels[:, :, 6:35 + extra_right_columns] = 25
    smoothed = np.full(shape, 160.0, dtype=np.float32)
    smoothed[:, :, 14] = smoothed[:, :, 27] = 700.0
    smoothed[labels == 0] = np.nan
    depth = np.where(labels > 0, 10.0, 0.0).astype(np.float32)  # every voxel in the core
    return BoneGrid(box=(slice(0, 12), slice(0, 16), slice(0, 44)), labels=labels, hu=smoothed.copy(),
                    smoothed=smoothed, depth_mm=depth, spacing=(1.0, 1.0, 1.0), sigma_mm=1.0)


def test_the_plane_is_where_the_bone_is_symmetric_not_the_labels_median_column() -> None:
    grid = _plated_bone(extra_right_columns=3)
    median_column = float(np.median(np.nonzero(grid.labels)[2]))
    assert median_column != 20.5  # the label alone would put the plane elsewhere
    assert midlines(grid)[25] == 20.5


def test_symmetric_plates_cancel_in_the_mirror_difference() -> None:
    difference = mirror_difference(_plated_bone(extra_right_columns=3))
    plates = np.zeros(difference.shape, dtype=bool)
    plates[:, :, [14, 27]] = True
    assert np.nanmax(np.abs(difference[plates])) < 1.0
