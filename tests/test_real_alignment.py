"""The real CT series and TotalSegmentator's RAS labels line up through the affines (core, no Qt).

The shared data README measures the trap: overlaying by array index alone puts "T12" on
soft tissue and fat (mean about -340 HU). Through the affines it sits on bone.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from napari_spine_mets.anatomy import TOTALSEG_VERTEBRA_IDS
from napari_spine_mets.io.dicom import read_dicom_series
from napari_spine_mets.io.geometry import same_grid
from napari_spine_mets.io.totalsegmentator import read_totalsegmentator

T12 = TOTALSEG_VERTEBRA_IDS["T12"]
T11 = TOTALSEG_VERTEBRA_IDS["T11"]


def test_t12_label_sits_on_the_t12_vertebra(real_ct_series: Path, real_ct_reference_labels: Path) -> None:
    ct = read_dicom_series(real_ct_series, require_ct_hu=True)
    labels = read_totalsegmentator(real_ct_reference_labels, target=ct)
    assert same_grid(labels.array.shape, labels.affine, ct.shape, ct.affine)
    t12 = labels.array == T12
    assert int(t12.sum()) == 23_576 and int((labels.array == T11).sum()) == 9_930
    mean_hu = float(ct.array[t12].mean())
    assert 150.0 < mean_hu < 450.0, mean_hu  # README: about 270 HU (cortex + trabecular, contrast)
    assert labels.names[T12] == "vertebrae_T12"


def test_bone_edges_coincide(real_ct_series: Path, real_ct_reference_labels: Path) -> None:
    """The label's border voxels are bone-dense and the ring just outside it is not."""
    from scipy import ndimage

    ct = read_dicom_series(real_ct_series)
    labels = read_totalsegmentator(real_ct_reference_labels, target=ct)
    t12 = labels.array == T12
    # in-plane rings, slice by slice (slices are 2 mm apart)
    footprint = np.zeros((1, 3, 3), bool)
    footprint[0] = True
    inner_edge = t12 & ~ndimage.binary_erosion(t12, footprint, iterations=1)
    outer_ring = ndimage.binary_dilation(t12, footprint, iterations=3) & ~ndimage.binary_dilation(t12, footprint, iterations=1)
    edge_hu = float(np.median(ct.array[inner_edge]))
    outside_hu = float(np.median(ct.array[outer_ring]))
    assert edge_hu > 200.0, edge_hu
    assert outside_hu < edge_hu - 100.0, (edge_hu, outside_hu)


def test_index_only_overlay_is_wrong(real_ct_series: Path, real_ct_reference_labels: Path) -> None:
    """Guard that the check above can fail: the naive overlay (raw NIfTI array order) misses the bone."""
    import nibabel as nib

    ct = read_dicom_series(real_ct_series)
    raw = np.asarray(nib.load(str(real_ct_reference_labels)).dataobj).transpose(2, 1, 0)
    naive_hu = float(ct.array[raw == T12].mean())
    assert naive_hu < 0.0, naive_hu
