"""ROI primitives and the statistics of a user-drawn ROI (no Qt, no napari).

An ROI lives on one axial slice of a volume and is given in *voxel index* space
(continuous ``(y, x)`` indices on slice ``z``) with its sizes in millimetres, so it is
exact on anisotropic grids. Three shapes are supported:

* :class:`Ellipse` -- centre and two in-plane half-axis vectors in mm (rotated ellipses
  included, as napari draws them; ``Ellipse.from_corners`` reads napari's four bounding-box
  corners);
* a polygon -- its vertices as ``(y, x)`` indices (:func:`polygon_mask`);
* a labels mask -- any boolean 3D mask on the volume's grid (:func:`measure_mask_roi`),
  measured slice by slice.

A voxel belongs to an ellipse or polygon when its centre lies inside. Statistics are over
the voxel values as stored (HU for CT): mean, median, sample SD (n-1), voxel count, min
and max. Lesion voxels (from a lesion label map, dilated by a margin) are removed from the
ROI and counted, so the user sees that the ROI touched a lesion.

Conversion to LPS millimetres goes through the volume's affine
(:func:`napari_spine_mets.io.geometry.world_from_index`); napari's world is LPS reversed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..io import geometry
from ..volume import LabelMap, Volume

__all__ = [
    "Ellipse",
    "RoiStats",
    "SliceRoi",
    "roi_stats",
    "polygon_mask",
    "lesion_exclusion_mask",
    "measure_slice_roi",
    "measure_ellipse_roi",
    "measure_polygon_roi",
    "measure_mask_roi",
    "pool_stats",
]

#: Lesion voxels are removed from an ROI together with this margin around them (mm).
LESION_MARGIN_MM = 2.0


@dataclass(frozen=True)
class Ellipse:
    """An ellipse on axial slice ``slice_index``: centre ``(y, x)`` in voxel indices, half-axes in mm.

    ``axis_a_mm`` and ``axis_b_mm`` are perpendicular in-plane half-axis vectors
    ``(dy, dx)`` in mm (``dy`` towards posterior, ``dx`` towards the patient's left).
    """

    slice_index: int
    center_yx: tuple[float, float]
    axis_a_mm: tuple[float, float]
    axis_b_mm: tuple[float, float]

    @classmethod
    def aligned(cls, slice_index: int, center_yx: tuple[float, float], semi_ap_mm: float, semi_lr_mm: float) -> "Ellipse":
        """An ellipse with its axes along anterior-posterior and right-left."""
        return cls(int(slice_index), (float(center_yx[0]), float(center_yx[1])), (float(semi_ap_mm), 0.0), (0.0, float(semi_lr_mm)))

    @classmethod
    def from_corners(cls, slice_index: int, corners_yx: np.ndarray, spacing_yx: tuple[float, float]) -> "Ellipse":
        """From the 4 corners ``(y, x)`` (indices, in order around) of its bounding box, as napari stores it."""
        c = np.asarray(corners_yx, dtype=float).reshape(4, 2)
        s = np.asarray(spacing_yx, dtype=float)
        center = c.mean(axis=0)
        a = (c[1] - c[0]) / 2.0 * s
        b = (c[3] - c[0]) / 2.0 * s
        return cls(int(slice_index), (float(center[0]), float(center[1])), (float(a[0]), float(a[1])), (float(b[0]), float(b[1])))

    @property
    def semi_axes_mm(self) -> tuple[float, float]:
        """Lengths of the two half-axes in mm."""
        return (float(np.hypot(*self.axis_a_mm)), float(np.hypot(*self.axis_b_mm)))

    @property
    def area_mm2(self) -> float:
        a, b = np.asarray(self.axis_a_mm), np.asarray(self.axis_b_mm)
        return float(np.pi * abs(a[0] * b[1] - a[1] * b[0]))

    def corners_yx(self, spacing_yx: tuple[float, float]) -> np.ndarray:
        """The 4 bounding-box corners ``(y, x)`` in voxel indices (inverse of :meth:`from_corners`)."""
        s = np.asarray(spacing_yx, dtype=float)
        c = np.asarray(self.center_yx, dtype=float)
        a = np.asarray(self.axis_a_mm) / s
        b = np.asarray(self.axis_b_mm) / s
        return np.array([c - a - b, c + a - b, c + a + b, c - a + b])

    def outline_yx(self, spacing_yx: tuple[float, float], n: int = 48) -> np.ndarray:
        """``n`` points ``(y, x)`` (indices) on the ellipse, for a polygon record."""
        t = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
        s = np.asarray(spacing_yx, dtype=float)
        a = np.asarray(self.axis_a_mm) / s
        b = np.asarray(self.axis_b_mm) / s
        return np.asarray(self.center_yx) + np.cos(t)[:, None] * a + np.sin(t)[:, None] * b

    def mask(self, shape_yx: tuple[int, int], spacing_yx: tuple[float, float]) -> np.ndarray:
        """Voxels of the slice whose centres lie inside the ellipse."""
        m = np.column_stack([self.axis_a_mm, self.axis_b_mm])  # columns a, b (mm)
        if abs(np.linalg.det(m)) < 1e-9:
            return np.zeros(shape_yx, dtype=bool)
        inv = np.linalg.inv(m)
        corners = self.corners_yx(spacing_yx)
        y0 = max(int(np.floor(corners[:, 0].min())) - 1, 0)
        y1 = min(int(np.ceil(corners[:, 0].max())) + 2, shape_yx[0])
        x0 = max(int(np.floor(corners[:, 1].min())) - 1, 0)
        x1 = min(int(np.ceil(corners[:, 1].max())) + 2, shape_yx[1])
        out = np.zeros(shape_yx, dtype=bool)
        if y1 <= y0 or x1 <= x0:
            return out
        yy, xx = np.mgrid[y0:y1, x0:x1]
        d = np.stack([(yy - self.center_yx[0]) * spacing_yx[0], (xx - self.center_yx[1]) * spacing_yx[1]], axis=-1)
        uv = d @ inv.T
        out[y0:y1, x0:x1] = (uv**2).sum(axis=-1) <= 1.0
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "slice_index": self.slice_index,
            "center_yx": list(self.center_yx),
            "axis_a_mm": list(self.axis_a_mm),
            "axis_b_mm": list(self.axis_b_mm),
            "semi_axes_mm": [round(v, 2) for v in self.semi_axes_mm],
            "area_mm2": round(self.area_mm2, 1),
        }


@dataclass(frozen=True)
class RoiStats:
    """Summary of the voxel values in an ROI (HU on CT). ``None`` values when it is empty."""

    mean: float | None
    median: float | None
    sd: float | None
    n_voxels: int
    minimum: float | None = None
    maximum: float | None = None

    def to_json(self) -> dict[str, Any]:
        def r(v: float | None) -> float | None:
            return None if v is None else round(float(v), 1)

        return {"mean": r(self.mean), "median": r(self.median), "sd": r(self.sd), "n_voxels": self.n_voxels,
                "min": r(self.minimum), "max": r(self.maximum)}


def roi_stats(values: np.ndarray) -> RoiStats:
    """Mean, median, sample SD (n-1), count, min and max of ``values``."""
    v = np.asarray(values, dtype=float).ravel()
    if v.size == 0:
        return RoiStats(None, None, None, 0)
    sd = float(v.std(ddof=1)) if v.size > 1 else 0.0
    return RoiStats(float(v.mean()), float(np.median(v)), sd, int(v.size), float(v.min()), float(v.max()))


def pool_stats(parts: list[np.ndarray]) -> RoiStats:
    """Statistics of several ROIs' values pooled together."""
    arrays = [np.asarray(p, dtype=float).ravel() for p in parts]
    return roi_stats(np.concatenate(arrays) if arrays else np.zeros(0))


@dataclass
class SliceRoi:
    """One measured ROI on one axial slice, with where it came from."""

    level: str | None
    slice_index: int
    #: LPS z (mm) of the slice centre (on axis-aligned scans, the table position).
    z_mm: float
    stats: RoiStats
    #: "automatic" (placed by :mod:`.hu_roi`) or "manual" (drawn or edited by the user).
    origin: str = "automatic"
    #: "ellipse", "polygon" or "mask".
    shape: str = "ellipse"
    ellipse: Ellipse | None = None
    polygon_yx: list[tuple[float, float]] | None = None
    #: ROI area on the slice before lesion voxels were removed (mm²).
    area_mm2: float = 0.0
    #: Voxels removed because they lie in (or within the margin of) a lesion.
    lesion_voxels_excluded: int = 0
    notes: list[str] = field(default_factory=list)
    #: The voxel values measured (kept to pool slices; not written to JSON).
    values: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def touches_lesion(self) -> bool:
        return self.lesion_voxels_excluded > 0

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "level": self.level,
            "slice_index": self.slice_index,
            "z_mm": round(self.z_mm, 2),
            "origin": self.origin,
            "shape": self.shape,
            "area_mm2": round(self.area_mm2, 1),
            **self.stats.to_json(),
            "lesion_voxels_excluded": self.lesion_voxels_excluded,
            "notes": list(self.notes),
        }
        if self.ellipse is not None:
            out["ellipse"] = self.ellipse.to_json()
        if self.polygon_yx is not None:
            out["polygon_yx"] = [[round(float(y), 2), round(float(x), 2)] for y, x in self.polygon_yx]
        return out


def polygon_mask(shape_yx: tuple[int, int], vertices_yx: np.ndarray) -> np.ndarray:
    """Voxels whose centres lie inside the polygon with ``(y, x)`` index vertices."""
    from matplotlib.path import Path as MplPath

    v = np.asarray(vertices_yx, dtype=float).reshape(-1, 2)
    out = np.zeros(shape_yx, dtype=bool)
    if len(v) < 3:
        return out
    y0 = max(int(np.floor(v[:, 0].min())), 0)
    y1 = min(int(np.ceil(v[:, 0].max())) + 1, shape_yx[0])
    x0 = max(int(np.floor(v[:, 1].min())), 0)
    x1 = min(int(np.ceil(v[:, 1].max())) + 1, shape_yx[1])
    if y1 <= y0 or x1 <= x0:
        return out
    yy, xx = np.mgrid[y0:y1, x0:x1]
    inside = MplPath(v).contains_points(np.column_stack([yy.ravel(), xx.ravel()]))
    out[y0:y1, x0:x1] = inside.reshape(yy.shape)
    return out


def lesion_exclusion_mask(lesions: LabelMap | np.ndarray | None, z: int, spacing: tuple[float, float, float],
                          margin_mm: float = LESION_MARGIN_MM) -> np.ndarray | None:
    """Voxels of slice ``z`` within ``margin_mm`` (3D) of any lesion, or None without lesions."""
    if lesions is None:
        return None
    array = lesions.array if isinstance(lesions, LabelMap) else np.asarray(lesions)
    dz = spacing[0]
    reach = int(np.floor(margin_mm / dz)) if dz > 0 else 0
    z0, z1 = max(z - reach, 0), min(z + reach + 1, array.shape[0])
    block = array[z0:z1] > 0
    if not block.any():
        return np.zeros(array.shape[1:], dtype=bool)
    if margin_mm <= 0:
        return block[z - z0]
    from scipy import ndimage

    ys, xs = np.nonzero(block.any(axis=0))
    pad_y, pad_x = int(np.ceil(margin_mm / spacing[1])) + 1, int(np.ceil(margin_mm / spacing[2])) + 1
    y0, y1 = max(ys.min() - pad_y, 0), min(ys.max() + pad_y + 1, array.shape[1])
    x0, x1 = max(xs.min() - pad_x, 0), min(xs.max() + pad_x + 1, array.shape[2])
    crop = block[:, y0:y1, x0:x1]
    dist = ndimage.distance_transform_edt(~crop, sampling=spacing)
    out = np.zeros(array.shape[1:], dtype=bool)
    out[y0:y1, x0:x1] = dist[z - z0] <= margin_mm
    return out


def _slice_z_mm(volume: Volume, z: int, shape_yx: tuple[int, int]) -> float:
    centre = np.array([z, (shape_yx[0] - 1) / 2.0, (shape_yx[1] - 1) / 2.0])
    return float(geometry.world_from_index(volume.affine, centre)[2])


def measure_slice_roi(
    volume: Volume,
    z: int,
    mask_yx: np.ndarray,
    *,
    level: str | None = None,
    lesions: LabelMap | np.ndarray | None = None,
    lesion_margin_mm: float = LESION_MARGIN_MM,
    origin: str = "manual",
    shape: str = "mask",
    ellipse: Ellipse | None = None,
    polygon_yx: list[tuple[float, float]] | None = None,
) -> SliceRoi:
    """Statistics of the voxels of ``mask_yx`` on slice ``z``, lesion voxels (plus margin) removed."""
    nz, ny, nx = volume.shape
    if not 0 <= z < nz:
        raise IndexError(f"slice {z} is outside the volume (0-{nz - 1})")
    dz, dy, dx = volume.spacing
    mask = np.asarray(mask_yx, dtype=bool)
    area = float(mask.sum()) * dy * dx
    excluded = 0
    notes: list[str] = []
    lesion_mask = lesion_exclusion_mask(lesions, z, volume.spacing, lesion_margin_mm)
    if lesion_mask is not None:
        hit = mask & lesion_mask
        excluded = int(hit.sum())
        if excluded:
            mask = mask & ~lesion_mask
            notes.append(
                f"ROI touches a lesion: {excluded} voxel(s) within {lesion_margin_mm:g} mm of it excluded; "
                "the remaining bone may not be representative"
            )
    values = volume.array[z][mask]
    if values.size == 0:
        notes.append("ROI is empty (outside the image or entirely in a lesion)")
    return SliceRoi(
        level=level,
        slice_index=int(z),
        z_mm=_slice_z_mm(volume, z, (ny, nx)),
        stats=roi_stats(values),
        origin=origin,
        shape=shape,
        ellipse=ellipse,
        polygon_yx=polygon_yx,
        area_mm2=area,
        lesion_voxels_excluded=excluded,
        notes=notes,
        values=np.asarray(values, dtype=float),
    )


def measure_ellipse_roi(volume: Volume, ellipse: Ellipse, *, level: str | None = None,
                        lesions: LabelMap | np.ndarray | None = None, origin: str = "manual",
                        lesion_margin_mm: float = LESION_MARGIN_MM) -> SliceRoi:
    """Statistics inside an ellipse (e.g. one the user drew or moved)."""
    _, ny, nx = volume.shape
    spacing_yx = volume.spacing[1:]
    mask = ellipse.mask((ny, nx), spacing_yx)
    return measure_slice_roi(volume, ellipse.slice_index, mask, level=level, lesions=lesions,
                             lesion_margin_mm=lesion_margin_mm, origin=origin, shape="ellipse", ellipse=ellipse)


def measure_polygon_roi(volume: Volume, slice_index: int, vertices_yx: np.ndarray, *, level: str | None = None,
                        lesions: LabelMap | np.ndarray | None = None, origin: str = "manual",
                        lesion_margin_mm: float = LESION_MARGIN_MM) -> SliceRoi:
    """Statistics inside a polygon with ``(y, x)`` index vertices on slice ``slice_index``."""
    _, ny, nx = volume.shape
    v = np.asarray(vertices_yx, dtype=float).reshape(-1, 2)
    mask = polygon_mask((ny, nx), v)
    return measure_slice_roi(volume, int(slice_index), mask, level=level, lesions=lesions,
                             lesion_margin_mm=lesion_margin_mm, origin=origin, shape="polygon",
                             polygon_yx=[(float(a), float(b)) for a, b in v])


def measure_mask_roi(volume: Volume, mask: np.ndarray, *, level: str | None = None,
                     lesions: LabelMap | np.ndarray | None = None, origin: str = "manual",
                     lesion_margin_mm: float = LESION_MARGIN_MM) -> list[SliceRoi]:
    """A labels-mask ROI (3D boolean on the volume's grid), measured slice by slice."""
    m = np.asarray(mask, dtype=bool)
    if m.shape != volume.shape:
        raise ValueError(f"ROI mask shape {m.shape} is not the volume's {volume.shape}")
    return [
        measure_slice_roi(volume, int(z), m[z], level=level, lesions=lesions, origin=origin, shape="mask",
                          lesion_margin_mm=lesion_margin_mm)
        for z in np.nonzero(m.any(axis=(1, 2)))[0]
    ]
