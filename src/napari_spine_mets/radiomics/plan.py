"""Per-ROI geometry that every image type shares: neighbour pairs, run orders, neighbour tables.

A texture matrix depends on two things: the gray level of each ROI voxel, and which ROI
voxels neighbour which. The second is the same for the original image and every filtered
one (and for any image the ROI is laid on), so it is worked out once per ROI here, and each
texture class becomes a gather plus a ``bincount`` over the ROI's voxels -- never over its
bounding box, and with no per-direction work left for each image type.

All indices are positions in the ROI's voxel list (C order inside the box), so an image
type only has to supply ``q`` (N,): the gray level of each ROI voxel. The plan and the
integer work on it (gathers, comparisons, ``bincount``) are numpy on the CPU: for these
flat integer ops numpy is several times faster than torch's CPU kernels, and the results
are small count matrices that go to the engine's device for the float64 feature formulas.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from .texture import directions

__all__ = ["RoiPlan", "build_plan"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RoiPlan:
    """Neighbour structure of one cropped ROI (numpy index arrays).

    - ``nb``: (N, K) the ROI index of each voxel's neighbour along every step, ``n`` where
      that neighbour is outside the ROI. Columns ``0..glcm_angles-1`` are the GLCM
      directions (13 per distance, pyradiomics' order), the next ``glcm_angles`` their
      opposites, so ``nb`` is the 26-neighbourhood (per distance) GLDM and NGTDM use.
    - ``zone_nb``: (N, 13) the same for the 13 distance-1 directions (26-connectivity, each
      edge once: GLSZM); ``zone_cols`` > 0 when these are the first ``zone_cols`` columns of
      ``nb`` (distance 1 is among the distances), so their levels need no second gather.
      Read row by row, ``zone_nb`` lists the edges sorted by their first voxel: a CSR graph.
    - ``nb_count``: how many of a voxel's neighbours are inside the ROI (NGTDM).
    - ``run_order``/``run_first``/``run_angle``: for each of the 13 distance-1 directions,
      the ROI voxels ordered along their lines; ``run_first`` marks where a line starts
      or skips a voxel outside the ROI, i.e. where a run breaks whatever the levels (GLRLM).
    """

    shape: tuple[int, int, int]
    n: int
    glcm_angles: int
    nb: np.ndarray
    zone_nb: np.ndarray
    zone_cols: int
    nb_count: np.ndarray
    run_order: np.ndarray
    run_first: np.ndarray
    run_angle: np.ndarray
    run_angles: int


def _neighbour_table(index: np.ndarray, coords: np.ndarray, steps: list[tuple[int, int, int]], n: int) -> np.ndarray:
    """(N, K) ROI index of each voxel's neighbour along every step, ``n`` when outside the ROI."""
    if not steps:
        return np.zeros((len(coords), 0), np.int64)
    r = max(max(abs(c) for c in s) for s in steps)
    padded = np.pad(index, r, constant_values=-1)
    flat = padded.ravel()
    zp, yp, xp = padded.shape
    centre = ((coords[:, 0] + r) * yp + coords[:, 1] + r) * xp + coords[:, 2] + r
    offsets = np.array([(dz * yp + dy) * xp + dx for dz, dy, dx in steps], dtype=np.int64)
    nb = flat.take(centre[:, None] + offsets[None, :])
    nb[nb < 0] = n
    return nb


def _line_sequence(index: np.ndarray, step: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """ROI indices along the lines of ``step`` (line after line, each in order) and run breaks.

    The box is sheared so that every line becomes a row, with one empty slot after each
    row; reading the rows in order and dropping empty slots gives the order, and a voxel
    whose previous slot is empty starts a new run. A run is the same read either way, so
    the row runs along the moving axis with the fewest voxels (the smallest shear).
    """
    shape = index.shape
    moving = [a for a in range(3) if step[a] != 0]
    axis = min(moving, key=lambda a: shape[a])
    s = [c * step[axis] for c in step]  # +1 along the row's axis
    nt = shape[axis]
    t = np.arange(nt + 1).reshape(1, 1, -1)  # slot nt: the empty slot closing each row
    coord: list[Any] = [None, None, None]
    coord[axis] = np.minimum(t, nt - 1)
    valid = t < nt
    for k, b in enumerate(a for a in range(3) if a != axis):
        lo = min(0, -(nt - 1) * s[b])
        hi = max(shape[b], shape[b] - (nt - 1) * s[b])
        origin = np.arange(lo, hi).reshape((-1, 1, 1) if k == 0 else (1, -1, 1))
        c = origin + t * s[b]
        valid = valid & (c >= 0) & (c < shape[b])
        coord[b] = np.clip(c, 0, shape[b] - 1)
    flat = (coord[0] * shape[1] + coord[1]) * shape[2] + coord[2]
    seq = np.where(valid, index.ravel().take(flat), -1).ravel()
    inside = seq >= 0
    prev = np.zeros_like(inside)
    prev[1:] = inside[:-1]
    return seq[inside], ~prev[inside]


def build_plan(roi: np.ndarray, distances: list[int], need: set[str]) -> RoiPlan:
    """The shared neighbour structure of the boolean box-cropped ``roi`` for the classes in ``need``."""
    shape = tuple(int(s) for s in roi.shape)
    index = np.full(shape, -1, dtype=np.int64)
    coords = np.argwhere(roi).astype(np.int64)
    n = len(coords)
    index[tuple(coords.T)] = np.arange(n)
    glcm_steps = directions(shape, distances)
    steps = glcm_steps + [(-a, -b, -c) for a, b, c in glcm_steps]
    nb = _neighbour_table(index, coords, steps, n) if need & {"glcm", "glszm", "gldm", "ngtdm"} else np.zeros((n, 0), np.int64)
    unit_steps = directions(shape, [1])
    zone_cols = len(unit_steps) if glcm_steps[: len(unit_steps)] == unit_steps else 0
    if "glszm" not in need:
        zone_nb = np.zeros((n, 0), np.int32)
    else:  # int32: what a CSR graph's indices are, so SciPy keeps them without a copy
        zone_nb = (nb[:, :zone_cols] if zone_cols else _neighbour_table(index, coords, unit_steps, n)).astype(np.int32)
    orders, firsts, angles = [], [], []
    if "glrlm" in need:
        for k, step in enumerate(unit_steps):
            order, first = _line_sequence(index, step)
            orders.append(order)
            firsts.append(first)
            angles.append(np.full(len(order), k, dtype=np.int64))
    empty = np.zeros(0, np.int64)
    plan = RoiPlan(
        shape=shape, n=n, glcm_angles=len(glcm_steps), nb=nb, zone_nb=zone_nb, zone_cols=zone_cols, nb_count=(nb < n).sum(1),
        run_order=np.concatenate(orders) if orders else empty,
        run_first=np.concatenate(firsts) if firsts else np.zeros(0, bool),
        run_angle=np.concatenate(angles) if angles else empty, run_angles=len(unit_steps),
    )
    logger.debug("ROI plan: %d voxels, box %s, %d neighbour columns, %d run entries", n, shape, nb.shape[1], len(plan.run_order))
    return plan
