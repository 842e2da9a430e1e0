"""NIfTI in the project's convention: every voxel keeps its place in the patient, whatever the file's axes."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from napari_spine_mets.errors import CorruptFileError, NoImageDataError, SeriesGeometryError
from napari_spine_mets.io import geometry
from napari_spine_mets.io.nifti import read_label_nifti, read_nifti, write_nifti
from napari_spine_mets.volume import LabelMap, Volume

SHAPE_IJK = (6, 5, 4)


def _las() -> np.ndarray:
    return np.array([[-0.9, 0, 0, 100.0], [0, 1.1, 0, -50.0], [0, 0, 2.5, -300.0], [0, 0, 0, 1]])


def _oblique() -> np.ndarray:
    c, s = math.cos(0.35), math.sin(0.35)
    a = np.eye(4)
    a[:3, :3] = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]) @ np.diag([0.8, -0.9, 3.0])
    a[:3, 3] = [12.5, 140.25, -620.0]
    return a


def _ras_world(affine: np.ndarray) -> np.ndarray:
    """LPS position of every voxel (i, j, k), in the order of the values np.arange gives them."""
    ijk = np.stack(np.unravel_index(np.arange(np.prod(SHAPE_IJK)), SHAPE_IJK), axis=1).astype(float)
    ras = ijk @ affine[:3, :3].T + affine[:3, 3]
    return ras * np.array([-1.0, -1.0, 1.0])


def _positions_by_value(volume: Volume) -> np.ndarray:
    """LPS position of the voxel holding each value 0, 1, 2... in the volume as read."""
    order = np.argsort(volume.array.ravel(), kind="stable")
    index = np.stack(np.unravel_index(order, volume.array.shape), axis=1)
    return geometry.world_from_index(volume.affine, index)


@pytest.mark.parametrize("affine", [_las(), _oblique(), np.diag([-1.0, -1.0, 1.0, 1.0])], ids=["LAS", "oblique", "LPS"])
def test_voxels_keep_their_world_position(tmp_path: Path, affine: np.ndarray) -> None:
    import nibabel as nib

    data = np.arange(np.prod(SHAPE_IJK), dtype=np.int32).reshape(SHAPE_IJK)
    nib.save(nib.Nifti1Image(data, affine), str(tmp_path / "x.nii.gz"))
    volume = read_nifti(tmp_path / "x.nii.gz")
    np.testing.assert_allclose(_positions_by_value(volume), _ras_world(affine), atol=1e-4)
    assert geometry.direction_of(volume.affine)[2, 0] > 0.9  # first axis runs superior
    assert volume.name == "x"


def test_written_then_read_keeps_values_dtype_and_grid(tmp_path: Path) -> None:
    affine = geometry.affine_from_nifti(_oblique())
    array = np.random.default_rng(1).normal(size=(4, 5, 6)).astype(np.float32)
    source = Volume(array, affine)
    write_nifti(source, tmp_path / "v.nii.gz")
    back = read_nifti(tmp_path / "v.nii.gz")
    assert back.array.dtype == np.float32
    # compare through the world: the reader may reorient, but every value stays at its place
    idx = np.stack(np.unravel_index(np.arange(array.size), array.shape), axis=1)
    where = np.rint(geometry.index_from_world(back.affine, geometry.world_from_index(affine, idx))).astype(int)
    np.testing.assert_array_equal(back.array[tuple(where.T)], array.ravel())


def test_label_round_trip(tmp_path: Path) -> None:
    array = np.zeros((3, 4, 5), np.uint16)
    array[1, 2, 3] = 300
    spl = np.array([[0, 0, 1.0, 5], [0, 1.0, 0, 6], [1.0, 0, 0, 7], [0, 0, 0, 1]])  # axes along (S, P, L)
    write_nifti(LabelMap(array, spl), tmp_path / "l.nii")
    back = read_label_nifti(tmp_path / "l.nii", names={300: "x"})
    np.testing.assert_array_equal(back.array, array)
    np.testing.assert_array_equal(back.affine, spl)
    assert back.array.dtype == np.uint16 and back.names == {300: "x"}
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind


def test_scan_given_as_labels_is_refused(tmp_path: Path) -> None:
    write_nifti(Volume(np.full((3, 4, 5), 0.5, np.float32), np.eye(4)), tmp_path / "ct.nii.gz")
    with pytest.raises(CorruptFileError, match="non-integer"):
        read_label_nifti(tmp_path / "ct.nii.gz")


def test_errors_name_the_file(tmp_path: Path) -> None:
    import nibabel as nib

    with pytest.raises(NoImageDataError, match="missing.nii.gz: no such file"):
        read_nifti(tmp_path / "missing.nii.gz")
    (tmp_path / "junk.nii.gz").write_bytes(b"not a nifti at all" * 30)
    with pytest.raises(CorruptFileError, match="junk.nii.gz"):
        read_nifti(tmp_path / "junk.nii.gz")
    nib.save(nib.Nifti1Image(np.zeros((4, 4), np.int16), np.eye(4)), str(tmp_path / "flat.nii.gz"))
    with pytest.raises(SeriesGeometryError, match="flat.nii.gz: a single 2D image"):
        read_nifti(tmp_path / "flat.nii.gz")


def test_single_volume_4d_is_accepted(tmp_path: Path) -> None:
    import nibabel as nib

    nib.save(nib.Nifti1Image(np.ones((4, 5, 6, 1), np.int16), np.eye(4)), str(tmp_path / "t.nii.gz"))
    assert read_nifti(tmp_path / "t.nii.gz").shape == (6, 5, 4)
