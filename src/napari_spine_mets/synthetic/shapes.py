"""Vectorised signed-distance primitives (mm; negative inside) and bounding-box grids.

Every anatomical structure is a signed-distance function (SDF) evaluated on the small
grid of its bounding box, so shells (cortex = the outer ~1.5 mm of bone) and smooth
joins (pedicle-to-body fillets) come from simple arithmetic instead of morphology.
The distances are exact for spheres, capsules and boxes and close approximations for
ellipsoids, which is all a synthetic image needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "Grid",
    "BoxView",
    "ellipse_sd",
    "ellipsoid_sd",
    "segment_sd",
    "rounded_intersection",
    "smooth_union",
    "box_view",
    "blend_bone",
]


@dataclass(frozen=True)
class Grid:
    """The voxel grid of the whole case: shape (z, y, x), spacing and LPS origin (x, y, z)."""

    shape: tuple[int, int, int]
    spacing: tuple[float, float, float]  # (z, y, x) mm
    origin_xyz: tuple[float, float, float]  # LPS mm of voxel (0, 0, 0)

    def affine(self) -> np.ndarray:
        """Index (z, y, x) -> LPS (x, y, z): axes run along (S, P, L)."""
        sz, sy, sx = self.spacing
        a = np.zeros((4, 4))
        a[0, 2], a[1, 1], a[2, 0] = sx, sy, sz
        a[:3, 3] = self.origin_xyz
        a[3, 3] = 1.0
        return a

    def index_range(self, axis: int, lo_mm: float, hi_mm: float) -> slice:
        """Slice of indices along ``axis`` (0=z, 1=y, 2=x) covering [lo_mm, hi_mm], clipped."""
        origin = self.origin_xyz[2 - axis]
        step = self.spacing[axis]
        start = int(np.floor((lo_mm - origin) / step))
        stop = int(np.ceil((hi_mm - origin) / step)) + 1
        return slice(max(start, 0), min(max(stop, 0), self.shape[axis]))

    def coords(self, axis: int, sl: slice) -> np.ndarray:
        """LPS mm of the voxel centres along ``axis`` for the index slice ``sl``."""
        origin = self.origin_xyz[2 - axis]
        idx = np.arange(sl.start, sl.stop, dtype=np.float32)
        return (origin + idx * self.spacing[axis]).astype(np.float32)


@dataclass(frozen=True)
class BoxView:
    """A bounding box of the grid with broadcastable LPS coordinate arrays."""

    slices: tuple[slice, slice, slice]
    z: np.ndarray  # (nz, 1, 1)
    y: np.ndarray  # (1, ny, 1)
    x: np.ndarray  # (1, 1, nx)

    @property
    def empty(self) -> bool:
        return any(s.stop <= s.start for s in self.slices)


def box_view(grid: Grid, lo_xyz: np.ndarray, hi_xyz: np.ndarray) -> BoxView:
    """Bounding box spanning LPS corners ``lo_xyz``..``hi_xyz`` (clipped to the grid)."""
    sz = grid.index_range(0, float(lo_xyz[2]), float(hi_xyz[2]))
    sy = grid.index_range(1, float(lo_xyz[1]), float(hi_xyz[1]))
    sx = grid.index_range(2, float(lo_xyz[0]), float(hi_xyz[0]))
    return BoxView(
        slices=(sz, sy, sx),
        z=grid.coords(0, sz)[:, None, None],
        y=grid.coords(1, sy)[None, :, None],
        x=grid.coords(2, sx)[None, None, :],
    )


def ellipse_sd(p: np.ndarray, q: np.ndarray, a: float | np.ndarray, b: float | np.ndarray) -> np.ndarray:
    """Approximate signed distance to the ellipse (p/a)^2 + (q/b)^2 = 1 (first-order, good near it)."""
    k0 = np.sqrt((p / a) ** 2 + (q / b) ** 2)
    k1 = np.sqrt((p / (a * a)) ** 2 + (q / (b * b)) ** 2)
    return k0 * (k0 - 1.0) / np.maximum(k1, 1e-6)


def ellipsoid_sd(p: tuple[np.ndarray, ...], radii: tuple[float, ...]) -> np.ndarray:
    """Approximate signed distance to the axis-aligned ellipsoid sum (p_i / r_i)^2 = 1 (first order)."""
    k0 = np.sqrt(sum((pi / r) ** 2 for pi, r in zip(p, radii)))
    k1 = np.sqrt(sum((pi / (r * r)) ** 2 for pi, r in zip(p, radii)))
    return k0 * (k0 - 1.0) / np.maximum(k1, 1e-6)


def segment_sd(
    p: tuple[np.ndarray, ...], a: np.ndarray, b: np.ndarray, radius: float | np.ndarray
) -> np.ndarray:
    """Signed distance to a capsule: the segment a-b (same coordinate order as ``p``) thickened by ``radius``."""
    ab = np.asarray(b, dtype=np.float32) - np.asarray(a, dtype=np.float32)
    denom = float(np.dot(ab, ab)) or 1e-6
    pa = [pi - ai for pi, ai in zip(p, a)]
    t = sum(pai * abi for pai, abi in zip(pa, ab)) / denom
    t = np.clip(t, 0.0, 1.0)
    d2 = sum((pai - t * abi) ** 2 for pai, abi in zip(pa, ab))
    return np.sqrt(d2) - radius


def rounded_intersection(d1: np.ndarray, d2: np.ndarray, radius: float) -> np.ndarray:
    """Intersection of two SDFs with the edge rounded by ``radius`` (an extruded, rounded shape)."""
    a = d1 + radius
    b = d2 + radius
    outside = np.sqrt(np.maximum(a, 0.0) ** 2 + np.maximum(b, 0.0) ** 2)
    return np.minimum(np.maximum(a, b), 0.0) + outside - radius


def smooth_union(d1: np.ndarray, d2: np.ndarray, k: float) -> np.ndarray:
    """Union with a fillet of size ``k`` mm where the shapes meet (polynomial smooth minimum)."""
    h = np.clip(0.5 + 0.5 * (d2 - d1) / k, 0.0, 1.0)
    return d2 * (1.0 - h) + d1 * h - k * h * (1.0 - h)


def blend_bone(
    hu: np.ndarray,
    sd: np.ndarray,
    spacing: tuple[float, ...],
    cortex_mm: float,
    hu_cortex: float,
    hu_inner: float,
    writable: np.ndarray,
) -> None:
    """Blend a bone (signed distance ``sd``) into ``hu`` in place, with partial volume.

    Each voxel is treated as a box projected on the surface normal (half-width ``a``):
    the fraction of it inside the bone, and inside the inner (cancellous) part deeper
    than ``cortex_mm``, sets its HU. This keeps thin cortices and tilted endplates
    continuous on 2 mm slices instead of aliasing into dashes.
    """
    if min(sd.shape) < 2:  # a sliver at the edge of the field of view: no gradient to take
        grads = [np.zeros_like(sd) for _ in sd.shape]
    else:
        grads = np.gradient(sd, *spacing)
    norm = np.sqrt(sum(g * g for g in grads)) + np.float32(1e-6)
    a = sum(np.abs(g) * np.float32(s) for g, s in zip(grads, spacing)) / (2 * norm)
    del grads, norm
    a = np.maximum(a, np.float32(0.25))
    f_bone = np.clip((a - sd) / (2 * a), 0.0, 1.0)
    f_inner = np.clip((a - cortex_mm - sd) / (2 * a), 0.0, 1.0)
    new = hu * (1 - f_bone) + np.float32(hu_cortex) * (f_bone - f_inner) + np.float32(hu_inner) * f_inner
    mask = writable & (f_bone > 0)
    hu[mask] = new[mask]
