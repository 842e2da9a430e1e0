"""The geometry convention: affines, lossless reorientation and napari placement."""

from __future__ import annotations

import numpy as np
import pytest

from napari_spine_mets.io import geometry


def _ras_affine() -> np.ndarray:
    # TotalSegmentator's affine for the shared series: LAS-like, x flipped.
    return np.array(
        [[-0.9765625, 0, 0, 249.51171875], [0, 0.9765625, 0, -61.51171875], [0, 0, 2.0, -804.5], [0, 0, 0, 1]]
    )


def test_nifti_affine_roundtrip() -> None:
    ours = geometry.affine_from_nifti(_ras_affine())
    np.testing.assert_allclose(geometry.affine_to_nifti(ours), _ras_affine())


def test_reorient_keeps_every_voxel_at_its_world_position() -> None:
    rng = np.random.default_rng(0)
    array = rng.integers(0, 100, size=(4, 5, 6))
    affine = geometry.affine_from_nifti(_ras_affine())
    out, new_affine = geometry.reorient_to_lps(array, affine)
    # every voxel of the output sits where the same value sat before
    idx = np.stack(np.meshgrid(*[np.arange(s) for s in out.shape], indexing="ij"), -1).reshape(-1, 3)
    world = geometry.world_from_index(new_affine, idx)
    back = np.rint(geometry.index_from_world(affine, world)).astype(int)
    np.testing.assert_array_equal(out.reshape(-1), array[back[:, 0], back[:, 1], back[:, 2]])
    # and the axes now run along S, P, L with positive steps
    assert np.all(np.diag(geometry.direction_of(new_affine)[::-1]) > 0.99)


def test_reorient_of_sagittal_stack_gives_axial_axes() -> None:
    # a sagittal stack: slices along L, rows along -S (down the image), columns along P
    affine = geometry.affine_from_dicom(
        first_position=(-50, -100, 100),
        row_direction=(0, 1, 0),
        column_direction=(0, 0, -1),
        slice_vector=(3.0, 0, 0),
        pixel_spacing=(0.5, 0.7),
    )
    array = np.zeros((10, 20, 30))
    out, new_affine = geometry.reorient_to_lps(array, affine)
    assert out.shape == (20, 30, 10)  # (S, P, L)
    assert geometry.spacing_of(new_affine) == pytest.approx((0.5, 0.7, 3.0))
    assert geometry.is_axis_aligned(new_affine)


def test_napari_transform_uses_scale_and_translate_when_axis_aligned() -> None:
    affine = geometry.affine_from_nifti(_ras_affine())
    _, lps = geometry.reorient_to_lps(np.zeros((512, 512, 20), dtype=np.uint8).transpose(2, 1, 0), affine)
    kwargs = geometry.napari_transform(lps)
    assert kwargs["scale"] == pytest.approx((2.0, 0.9765625, 0.9765625))
    assert kwargs["translate"] == pytest.approx((-804.5, -437.51171875, -249.51171875), abs=1e-6)


def test_napari_transform_falls_back_to_affine_when_oblique() -> None:
    angle = np.deg2rad(10)
    affine = geometry.affine_from_dicom(
        (0, 0, 0), (np.cos(angle), np.sin(angle), 0), (-np.sin(angle), np.cos(angle), 0), (0, 0, 1.5), (1, 1)
    )
    kwargs = geometry.napari_transform(affine)
    assert "affine" in kwargs and "scale" not in kwargs
    assert not geometry.is_axis_aligned(affine)
