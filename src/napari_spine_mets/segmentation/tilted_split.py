"""Two bodies the network ran together through a disc that an axial profile does not show.

``labelling`` finds such a disc as a dip in a body's axial area. Where the column leans off
the scan's axis every axial slice cuts both bodies, and the area barely dips:
- fresh case 680023 (79 years old, 3 mm slices, the column 50 degrees off the axis): T3 and a
  T4 crushed by 50 % stayed one body (T3 / T4 Dice 0.60 / 0.55);
- fresh case 700009 (the column 14 degrees off the axis, the disc oblique to it): T3 and T4
  stayed one body, dipping to 0.72 of the peaks with 220 mm² of disc beside, just short of
  both axial tests, and the two were named one level too high.
Across the column's own axis the dip is as clear as anywhere (0.62 and 0.57 of the peaks, where
the network sees disc): the body's area in 2 mm steps along the line through the bodies
above and below it, or, at an end of the view, through its own centre and its one neighbour's
(session 33: none of 56 cached cases changes with the ends looked at too).
"""

from __future__ import annotations

import logging

import numpy as np

log = logging.getLogger(__name__)

__all__ = ["split_tilted_bodies"]

_STEP_MM = 2.0  # the profile's steps along the column
#: A piece this many times the median piece's length along the column is looked at (the
#: merged T3 and crushed T4 of 680023: 1.42; single bodies between two others: at most 1.32
#: on 55 cached cases, and none of them is cut).
_LONG_FACTOR = 1.25
_MIN_SIDE_MM = 6.0  # each side of a cut: a crushed body is short
_ACROSS_PERCENTILE = 95.0  # the body's reach from the column's line: disc beyond it is not this disc


def split_tilted_bodies(pieces: list[np.ndarray], groups: list[int], classes: np.ndarray,
                        spacing: tuple[float, float, float],
                        min_piece_mm3: float) -> tuple[list[np.ndarray], list[int]]:
    """``pieces`` (body masks on the whole grid), each long one cut at a disc dip across the
    column; ``groups`` follow their pieces.

    The column's line at a piece runs through the centres of the pieces below and above it
    (at an end of the view, its own centre and its neighbour's);
    the cut is the plane across that line at the deepest dip with disc beside it
    (``labelling.disc_dip``), the step there left out (its voxels are bone and join the
    nearer body), each side at least ``_MIN_SIDE_MM`` long and ``min_piece_mm3`` in volume.
    """
    if len(pieces) < 3:
        return pieces, groups
    mm = np.asarray(spacing, dtype=float)
    indices = [np.argwhere(piece) for piece in pieces]
    points = [index * mm for index in indices]
    centres = [p.mean(axis=0) for p in points]
    order = np.argsort([c[0] for c in centres])
    axes: dict[int, np.ndarray] = {}
    lengths: dict[int, float] = {}
    for rank, i in enumerate(order):
        below, above = order[max(rank - 1, 0)], order[min(rank + 1, len(order) - 1)]
        axis = centres[above] - centres[below]
        norm = float(np.linalg.norm(axis))
        axis = axis / norm if norm > 0 else np.array([1.0, 0.0, 0.0])  # one centre over another: upright
        along = (points[i] - centres[i]) @ axis
        axes[int(i)] = axis
        lengths[int(i)] = float(np.percentile(along, 99) - np.percentile(along, 1))
    typical = float(np.median(list(lengths.values())))
    kept: list[np.ndarray] = []
    kept_groups: list[int] = []
    for i, (piece, group) in enumerate(zip(pieces, groups)):
        parts = [piece]
        axis = axes[i]
        if lengths[i] > _LONG_FACTOR * typical:
            cut = _cut_across(piece.shape, indices[i], centres[i], axis, classes, mm)
            if cut is not None and min(float(part.sum()) for part in cut) * float(np.prod(mm)) >= min_piece_mm3:
                log.info("a body %.0f mm long on a column %.0f degrees off the scan's axis (the median %.0f mm) "
                         "was cut across the column at a disc", lengths[i],
                         np.degrees(np.arccos(min(1.0, abs(float(axis[0]))))), typical)
                parts = cut
        kept.extend(parts)
        kept_groups.extend([group] * len(parts))
    return kept, kept_groups


def _cut_across(shape: tuple[int, ...], index: np.ndarray, centre: np.ndarray, axis: np.ndarray,
                classes: np.ndarray, mm: np.ndarray) -> list[np.ndarray] | None:
    """(lower, upper) masks (of ``shape``) of the piece whose voxels are ``index``, cut across
    ``axis`` at its deepest disc dip, or None."""
    from .labelling import disc_dip

    points = index * mm
    along = (points - centre) @ axis
    across = np.linalg.norm((points - centre) - np.outer(along, axis), axis=1)
    reach = float(np.percentile(across, _ACROSS_PERCENTILE))
    # the disc within the piece's box, widened by its reach
    margin = np.ceil(reach / mm).astype(int)
    low = np.maximum(index.min(axis=0) - margin, 0)
    high = np.minimum(index.max(axis=0) + margin + 1, classes.shape)
    window = tuple(slice(int(a), int(b)) for a, b in zip(low, high))
    disc = (np.argwhere(classes[window] == 6) + low) * mm
    disc_along = (disc - centre) @ axis
    disc_across = np.linalg.norm((disc - centre) - np.outer(disc_along, axis), axis=1)
    disc_along = disc_along[disc_across <= reach]
    edges = np.arange(np.floor(along.min()), along.max() + _STEP_MM, _STEP_MM)
    if edges.size < 3:
        return None
    voxel_mm3 = float(np.prod(mm))
    area = np.histogram(along, edges)[0] * voxel_mm3 / _STEP_MM
    disc_area = np.histogram(disc_along, edges)[0] * voxel_mm3 / _STEP_MM
    side = int(np.ceil(_MIN_SIDE_MM / _STEP_MM))
    best: tuple[float, int] | None = None
    for k in range(side, area.size - side):
        peak = min(area[:k].max(), area[k + 1 :].max())
        ratio = float(area[k] / peak) if peak > 0 else 1.0
        if disc_dip(ratio, float(disc_area[max(0, k - 1) : k + 2].sum())) and (best is None or ratio < best[0]):
            best = (ratio, k)
    if best is None:
        return None
    k = best[1]
    lower = np.zeros(shape, dtype=bool)
    upper = np.zeros(shape, dtype=bool)
    below = along < edges[k]
    above = along >= edges[k + 1]
    lower[tuple(index[below].T)] = True
    upper[tuple(index[above].T)] = True
    log.debug("tilted body cut %.1f mm along the column (area ratio %.2f)", float(edges[k]), best[0])
    return [lower, upper]
