"""Geometry conventions shared by every reader, writer and layer.

One convention for everyone:

* arrays are indexed ``(z, y, x)``;
* an *affine* is a 4x4 matrix that maps a homogeneous voxel index ``(z, y, x, 1)``
  to DICOM patient coordinates ``(x, y, z, 1)`` in millimetres, LPS
  (x towards the patient's Left, y Posterior, z Superior);
* napari "world" coordinates are LPS reversed, ``(S, P, L)``, so that a volume whose
  array axes run along (S, P, L) shows as a radiologist expects (anterior at the top,
  the patient's left on the right of the screen) with a plain ``scale``/``translate``.

Readers call :func:`reorient_to_lps` so that every volume's axes run along (S, P, L)
as closely as the acquisition allows; the reorientation only transposes and flips
(no interpolation), so voxel values are kept exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "LPS_FROM_RAS",
    "affine_from_dicom",
    "affine_from_nifti",
    "affine_to_nifti",
    "spacing_of",
    "origin_of",
    "direction_of",
    "is_axis_aligned",
    "reorient_to_lps",
    "napari_transform",
    "world_from_index",
    "index_from_world",
    "same_grid",
    "affine_from_napari",
]

#: Flips x and y: multiply a RAS point (x, y, z, 1) by this to get LPS, and vice versa.
LPS_FROM_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])

# Swaps (z, y, x) <-> (x, y, z); its own inverse.
_REVERSE3 = np.array(
    [[0, 0, 1, 0], [0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1]], dtype=float
)


def affine_from_dicom(
    first_position: Sequence[float],
    row_direction: Sequence[float],
    column_direction: Sequence[float],
    slice_vector: Sequence[float],
    pixel_spacing: Sequence[float],
) -> np.ndarray:
    """Affine of a DICOM stack: index (slice, row, column) -> LPS.

    ``row_direction`` is the first triplet of ImageOrientationPatient (the direction in
    which the column index grows), ``column_direction`` the second; ``pixel_spacing``
    is DICOM's (row spacing, column spacing); ``slice_vector`` is the step in mm from
    one slice to the next (taken from ImagePositionPatient, never SliceThickness).
    """
    row_dir = np.asarray(row_direction, dtype=float)
    col_dir = np.asarray(column_direction, dtype=float)
    row_spacing, col_spacing = (float(v) for v in pixel_spacing)
    affine = np.eye(4)
    affine[:3, 0] = np.asarray(slice_vector, dtype=float)
    affine[:3, 1] = col_dir * row_spacing
    affine[:3, 2] = row_dir * col_spacing
    affine[:3, 3] = np.asarray(first_position, dtype=float)
    return affine


def affine_from_nifti(nifti_affine: np.ndarray) -> np.ndarray:
    """Convert a NIfTI affine (index (i, j, k) -> RAS) to ours for the array transposed to (k, j, i)."""
    return LPS_FROM_RAS @ np.asarray(nifti_affine, dtype=float) @ _REVERSE3


def affine_to_nifti(affine: np.ndarray) -> np.ndarray:
    """Inverse of :func:`affine_from_nifti`: for writing ``array.transpose(2, 1, 0)`` as NIfTI."""
    return LPS_FROM_RAS @ np.asarray(affine, dtype=float) @ _REVERSE3


def spacing_of(affine: np.ndarray) -> tuple[float, float, float]:
    """Voxel size in mm along the array axes (z, y, x)."""
    norms = np.linalg.norm(np.asarray(affine, dtype=float)[:3, :3], axis=0)
    return (float(norms[0]), float(norms[1]), float(norms[2]))


def origin_of(affine: np.ndarray) -> tuple[float, float, float]:
    """LPS position (x, y, z) in mm of the centre of voxel (0, 0, 0)."""
    t = np.asarray(affine, dtype=float)[:3, 3]
    return (float(t[0]), float(t[1]), float(t[2]))


def direction_of(affine: np.ndarray) -> np.ndarray:
    """3x3 matrix of unit column vectors: the LPS direction of each array axis."""
    m = np.asarray(affine, dtype=float)[:3, :3]
    return m / np.linalg.norm(m, axis=0)


def is_axis_aligned(affine: np.ndarray, tolerance: float = 1e-4) -> bool:
    """True when each array axis runs along exactly one patient axis (no obliquity)."""
    d = np.abs(direction_of(affine))
    return bool(np.all((d < tolerance) | (d > 1 - tolerance)))


def reorient_to_lps(array: np.ndarray, affine: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Transpose and flip ``array`` so that its axes run along (S, P, L) as closely as possible.

    Lossless: no interpolation. Returns the new array (a view where numpy allows) and its
    affine. For an oblique acquisition the nearest axes are chosen and the residual
    rotation stays in the affine.
    """
    affine = np.asarray(affine, dtype=float)
    d = direction_of(affine)
    # For each target axis (S=LPS z, P=LPS y, L=LPS x) pick the array axis most aligned.
    targets = (2, 1, 0)
    order: list[int] = []
    for lps_axis in targets:
        scores = [abs(d[lps_axis, a]) if a not in order else -1.0 for a in range(3)]
        order.append(int(np.argmax(scores)))
    out = np.transpose(array, order)
    new_affine = affine.copy()
    new_affine[:3, :3] = affine[:3, order]
    for new_axis, lps_axis in enumerate(targets):
        if new_affine[lps_axis, new_axis] < 0:
            n = out.shape[new_axis]
            out = np.flip(out, axis=new_axis)
            new_affine[:3, 3] = new_affine[:3, 3] + new_affine[:3, new_axis] * (n - 1)
            new_affine[:3, new_axis] = -new_affine[:3, new_axis]
    return out, new_affine


def napari_transform(affine: np.ndarray) -> dict[str, object]:
    """Keyword arguments that place a layer in napari's (S, P, L) world, in mm.

    Axis-aligned volumes get ``scale`` and ``translate`` (so napari measures in mm and
    every tool behaves simply); oblique ones get a full ``affine``.
    """
    world = _REVERSE3 @ np.asarray(affine, dtype=float)  # index -> (z, y, x) LPS
    linear = world[:3, :3]
    if np.allclose(linear, np.diag(np.diag(linear)), atol=1e-6) and np.all(np.diag(linear) > 0):
        return {
            "scale": tuple(float(v) for v in np.diag(linear)),
            "translate": tuple(float(v) for v in world[:3, 3]),
        }
    return {"affine": world}


def world_from_index(affine: np.ndarray, index_zyx: np.ndarray) -> np.ndarray:
    """LPS (x, y, z) positions of voxel indices ``(..., 3)`` given as (z, y, x)."""
    idx = np.asarray(index_zyx, dtype=float)
    a = np.asarray(affine, dtype=float)
    return idx @ a[:3, :3].T + a[:3, 3]


def index_from_world(affine: np.ndarray, lps_xyz: np.ndarray) -> np.ndarray:
    """Continuous (z, y, x) indices of LPS positions ``(..., 3)``."""
    inv = np.linalg.inv(np.asarray(affine, dtype=float))
    pts = np.asarray(lps_xyz, dtype=float)
    return pts @ inv[:3, :3].T + inv[:3, 3]


def same_grid(
    shape_a: Sequence[int],
    affine_a: np.ndarray,
    shape_b: Sequence[int],
    affine_b: np.ndarray,
    tolerance_mm: float = 1e-3,
) -> bool:
    """True when two volumes share the exact voxel grid (shape and affine)."""
    return tuple(shape_a) == tuple(shape_b) and bool(
        np.allclose(affine_a, affine_b, atol=tolerance_mm)
    )


def affine_from_napari(scale: Sequence[float], translate: Sequence[float]) -> np.ndarray:
    """Our affine for a layer placed with napari ``scale``/``translate`` in the (S, P, L) world."""
    world = np.eye(4)
    world[:3, :3] = np.diag(np.asarray(scale, dtype=float)[-3:])
    world[:3, 3] = np.asarray(translate, dtype=float)[-3:]
    return _REVERSE3 @ world
