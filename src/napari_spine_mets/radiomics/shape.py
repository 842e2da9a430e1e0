"""3D shape features on the mask mesh, as pyradiomics computes them.

The mesh is marching cubes on the 1-voxel-padded mask with vertices at edge midpoints,
using the classic (Lorensen/Bourke) triangle table for cube indices below 128 and the
complement's triangles, with the volume sign flipped, above 128 -- pyradiomics' scheme.
The table is taken from scikit-image's copy of the classic table (same edge numbering).
Surface area sums triangle areas; MeshVolume sums signed tetrahedra to the origin.
Diameters are the largest distances between mesh vertices (all in a plane for the 2D
ones); only vertices first or last on their lines can end one, so the others are dropped
before the 3D (convex-hull-reduced) and the per-plane (all-pairs) searches; axis lengths
come from the eigenvalues of the voxel-centre covariance (times 4, as pyradiomics).
"""

from __future__ import annotations

import base64
import functools
import logging

import numpy as np

__all__ = ["FEATURES", "shape_features", "mesh_area_volume"]

logger = logging.getLogger(__name__)

FEATURES = (
    "Elongation", "Flatness", "LeastAxisLength", "MajorAxisLength", "Maximum2DDiameterColumn",
    "Maximum2DDiameterRow", "Maximum2DDiameterSlice", "Maximum3DDiameter", "MeshVolume", "MinorAxisLength",
    "Sphericity", "SurfaceArea", "SurfaceVolumeRatio", "VoxelVolume",
)

# cube corners (z, y, x) in the classic numbering, and the 12 edges as corner pairs
_CORNERS = np.array([(0, 0, 0), (0, 0, 1), (0, 1, 1), (0, 1, 0), (1, 0, 0), (1, 0, 1), (1, 1, 1), (1, 1, 0)])
_EDGES = [(0, 1), (1, 2), (2, 3), (3, 0), (4, 5), (5, 6), (6, 7), (7, 4), (0, 4), (1, 5), (2, 6), (3, 7)]
_EDGE_MID = np.array([(_CORNERS[a] + _CORNERS[b]) / 2.0 for a, b in _EDGES])


@functools.lru_cache(maxsize=1)
def _triangles() -> np.ndarray:
    """(128, 5, 3) edge indices of the triangles per cube index, -1 padded."""
    from skimage.measure._marching_cubes_lewiner_luts import CASESCLASSIC

    shape, data = CASESCLASSIC
    table = np.frombuffer(base64.decodebytes(data.encode()), dtype=np.int8).reshape(shape)
    return table[:128, :15].reshape(128, 5, 3).astype(np.int64)


def mesh_area_volume(padded: np.ndarray, spacing: np.ndarray) -> tuple[float, float]:
    """Surface area (mm^2) and signed-tetrahedra volume (mm^3) of the mask mesh."""
    z, y, x = padded.shape
    idx = np.zeros((z - 1, y - 1, x - 1), np.int64)
    for bit, (dz, dy, dx) in enumerate(_CORNERS):
        idx |= padded[dz : z - 1 + dz, dy : y - 1 + dy, dx : x - 1 + dx].astype(np.int64) << bit
    flip = (idx & 128) != 0
    idx = np.where(flip, idx ^ 255, idx)
    cubes = np.nonzero(idx)
    code = idx[cubes]
    sign = np.where(flip[cubes], -1.0, 1.0)
    origin = np.stack(cubes, 1).astype(np.float64)
    tri = _triangles()
    area = 0.0
    volume = 0.0
    for t in range(5):
        e = tri[code, t]
        ok = e[:, 0] >= 0
        if not ok.any():
            continue
        pts = (origin[ok, None, :] + _EDGE_MID[e[ok]]) * spacing
        a, b, c = pts[:, 0], pts[:, 1], pts[:, 2]
        volume += float((sign[ok] * np.einsum("ij,ij->i", np.cross(a, b), c)).sum())
        area += float(0.5 * np.linalg.norm(np.cross(a - c, b - c), axis=1).sum())
    return area, volume / 6.0


def _mesh_vertices(padded: np.ndarray) -> np.ndarray:
    """Mesh vertices in half-voxel units (int): midpoints of every inside/outside voxel edge."""
    pts = []
    for axis in range(3):
        a = np.moveaxis(padded, axis, 0)
        loc = np.argwhere(a[1:] != a[:-1]) * 2
        loc[:, 0] += 1
        pts.append(loc[:, _axis_order(axis)])
    return np.concatenate(pts)


def _axis_order(axis: int) -> list[int]:
    """Column order that undoes np.moveaxis(axis -> 0) for argwhere coordinates."""
    order = [axis] + [d for d in range(3) if d != axis]
    return [order.index(d) for d in range(3)]


def _line_extremes(h: np.ndarray, along: int) -> np.ndarray:
    """True for the points that are first or last along axis ``along`` on their line.

    A point with others on both sides of it on a line lies inside a segment of the set, so
    it is no vertex of the convex hull and never an end of a largest distance: dropping it
    changes no diameter.
    """
    if len(h) == 0:
        return np.zeros(0, bool)
    u, v = [h[:, k] for k in range(3) if k != along]
    order = np.lexsort((h[:, along], v, u))
    key_u, key_v = u[order], v[order]
    new = np.ones(len(h), bool)
    new[1:] = (key_u[1:] != key_u[:-1]) | (key_v[1:] != key_v[:-1])
    end = np.ones(len(h), bool)
    end[:-1] = new[1:]
    keep = np.zeros(len(h), bool)
    keep[order[new | end]] = True
    return keep


def _max_sq_distance(points: np.ndarray) -> float:
    """Largest squared distance between any two points (hull-reduced when possible)."""
    if len(points) < 2:
        return 0.0
    if len(points) > 64:
        try:
            from scipy.spatial import ConvexHull

            points = points[ConvexHull(points).vertices]
        except Exception:  # noqa: BLE001 - degenerate (flat/collinear) sets: brute force below
            points = np.unique(points, axis=0)
    best = 0.0
    for start in range(0, len(points), 2048):
        chunk = points[start : start + 2048]
        d = ((chunk[:, None, :] - points[None, :, :]) ** 2).sum(-1)
        best = max(best, float(d.max()))
    return best


def _planar_diameter(h: np.ndarray, spacing: np.ndarray, axis: int) -> float:
    """Largest distance (mm) between two vertices sharing the same coordinate along ``axis``.

    In each plane only points first or last on both of their in-plane lines can end a
    largest distance; the few left are compared all against all, every plane at once.
    """
    b, c = [k for k in range(3) if k != axis]
    h = h[_line_extremes(h, b) & _line_extremes(h, c)]
    if len(h) < 2:
        return 0.0
    order = np.argsort(h[:, axis], kind="stable")
    h = h[order]
    _, start, counts = np.unique(h[:, axis], return_index=True, return_counts=True)
    group = np.repeat(np.arange(len(counts)), counts)
    slot = np.arange(len(h)) - start[group]
    pts = (h[:, [b, c]] / 2.0) * spacing[[b, c]]
    # pad every plane to the largest one with copies of its first point (distance 0: no effect)
    grid = np.repeat(pts[start][:, None, :], counts.max(), axis=1)
    grid[group, slot] = pts
    best = 0.0
    step = max(1, 4_000_000 // max(counts.max() ** 2, 1))
    for lo in range(0, len(grid), step):
        u, v = grid[lo : lo + step, :, 0], grid[lo : lo + step, :, 1]
        du = u[:, :, None] - u[:, None, :]
        dv = v[:, :, None] - v[:, None, :]
        best = max(best, float((du * du + dv * dv).max()))
    return float(np.sqrt(best))


def shape_features(mask: np.ndarray, spacing: tuple[float, float, float], wanted: set[str]) -> dict[str, float]:
    """Shape features of the boolean ``mask`` (cropped to its box) with (z, y, x) ``spacing``."""
    sp = np.asarray(spacing, dtype=np.float64)
    padded = np.pad(mask.astype(bool), 1)
    area, volume = mesh_area_volume(padded, sp)
    coords = np.argwhere(padded).astype(np.float64) * sp
    n = len(coords)
    centred = (coords - coords.mean(0)) / np.sqrt(n)
    eig = np.linalg.eigvals(centred.T @ centred)
    eig = np.where((eig < 0) & (eig > -1e-10), 0.0, eig)
    eig.sort()
    out: dict[str, float] = {}
    out["MeshVolume"] = volume
    out["VoxelVolume"] = n * float(np.prod(sp))
    out["SurfaceArea"] = area
    out["SurfaceVolumeRatio"] = area / volume
    out["Sphericity"] = (36 * np.pi * volume**2) ** (1.0 / 3.0) / area
    if wanted & {"Maximum3DDiameter", "Maximum2DDiameterSlice", "Maximum2DDiameterColumn", "Maximum2DDiameterRow"}:
        h = _mesh_vertices(padded)
        outer = h[_line_extremes(h, 0) & _line_extremes(h, 1) & _line_extremes(h, 2)]
        out["Maximum3DDiameter"] = float(np.sqrt(_max_sq_distance((outer / 2.0) * sp)))
        out["Maximum2DDiameterSlice"] = _planar_diameter(h, sp, 0)
        out["Maximum2DDiameterColumn"] = _planar_diameter(h, sp, 1)
        out["Maximum2DDiameterRow"] = _planar_diameter(h, sp, 2)
    out["MajorAxisLength"] = float(np.sqrt(eig[2]) * 4)
    out["MinorAxisLength"] = float(np.sqrt(eig[1]) * 4)
    out["LeastAxisLength"] = float(np.sqrt(eig[0]) * 4)
    out["Elongation"] = float(np.sqrt(eig[1] / eig[2]))
    out["Flatness"] = float(np.sqrt(eig[0] / eig[2]))
    return {k: float(v) for k, v in out.items() if k in wanted}
