"""What normal bone should look like at each bone voxel: expected HU and spread, fine and coarse scale.

From :mod:`.normal_bone`: the pooled depth profile (smoothed HU of normal bone by depth
below the surface), shifted by each level's own trabecular offset and widened by its own
spread (at most ``MAX_LEVEL_SCALE`` times the pooled one), and for the blastic test also
the level's own depth profile. A voxel's departure is ``z = (smoothed - expected) / spread``.
Everything is computed for the bone voxels only (a few % of the cropped grid).

A voxel's depth is only as good as the label's surface, and a network's surface lies up to
about half a millimetre off the true one. Where the profile is steep (2.5-4 mm deep, at the
inner edge of the cortex: ~270 HU at 2.9 mm, ~230 HU at 3.4 mm), that shift alone made normal
bone look blastic on the network's labels. ``expected_on_bone`` with a tolerance gives the
most forgiving profile values within it (the lowest for the lytic test, the highest for the
blastic one, the widest spread); ``candidates`` asks a deep blastic seed to stand out against
them, and grows every lesion against the profile at its exact depth, as before.
"""

from __future__ import annotations

import numpy as np

from .bone_grid import BoneGrid
from .normal_bone import NormalBone

__all__ = ["MAX_LEVEL_SCALE", "DEPTH_TOLERANCE_MM", "level_terms", "expected_on_bone", "expected_maps",
           "coarse_departure"]

#: A level's spread may exceed the pooled one by at most this factor: a large deposit widens its
#: own level's spread, and an unbounded factor would let it hide itself (project heuristic).
MAX_LEVEL_SCALE = 1.25
#: How far (mm) a label's surface may lie from the bone's: a seed's expected value is taken over
#: this much depth either side of its own (module docstring). Measured: the shipped network's
#: surface 0.5 mm outside the truth where a blastic false positive arose.
DEPTH_TOLERANCE_MM = 0.5


def _bands_around(grid: BoneGrid, normal: NormalBone, bone: np.ndarray, n_bands: int,
                  tolerance_mm: float) -> np.ndarray:
    """(k, n) depth-band index of each bone voxel at its depth, and ``tolerance_mm`` either side of it."""
    edges = np.asarray(normal.depth_edges_mm)
    depth = grid.depth_mm[bone]
    shifts = (0.0, -tolerance_mm, tolerance_mm) if tolerance_mm > 0 else (0.0,)
    return np.stack([np.clip(np.digitize(np.maximum(depth + shift, 0.0), edges[1:-1]), 0, n_bands - 1)
                     for shift in shifts])


def level_terms(grid: BoneGrid, normal: NormalBone) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per label id: offset of its trabecular reference from the pooled one, spread scale, trabecular reference."""
    offset = np.zeros(int(grid.labels.max()) + 1, dtype=np.float32)
    scale = np.ones_like(offset)
    trab = np.full_like(offset, normal.pooled_trabecular_hu)
    for label, lv in normal.levels.items():
        offset[label] = lv.reference_hu - normal.pooled_trabecular_hu
        trab[label] = lv.reference_hu
        if normal.pooled_smoothed_sd_hu > 0:
            scale[label] = np.clip(lv.reference_smoothed_sd_hu / normal.pooled_smoothed_sd_hu, 0.8, MAX_LEVEL_SCALE)
    return offset, scale, trab


def expected_on_bone(grid: BoneGrid, normal: NormalBone, bone: np.ndarray,
                     tolerance_mm: float = 0.0) -> tuple[np.ndarray, ...]:
    """:func:`expected_maps` for the voxels of ``bone`` only, as flat arrays (bone is a few % of the crop);
    with ``tolerance_mm``, the most forgiving values within that much depth (module docstring)."""
    labels = grid.labels[bone]
    bands = _bands_around(grid, normal, bone, len(normal.depth_median_hu), tolerance_mm)
    n_labels = int(grid.labels.max()) + 1
    median = np.asarray(normal.depth_median_hu, dtype=np.float32)
    sd = np.asarray(normal.depth_sd_hu, dtype=np.float32)
    own_median = np.tile(median, (n_labels, 1))
    own_sd = np.tile(sd, (n_labels, 1))
    for label, (m, s) in normal.label_profiles.items():
        own_median[label], own_sd[label] = m, s
    offset, scale, trab = level_terms(grid, normal)
    low = median[bands].min(axis=0) + offset[labels]
    high = np.maximum(median[bands].max(axis=0) + offset[labels], own_median[labels, bands].max(axis=0))
    spread = sd[bands].max(axis=0) * scale[labels]
    high_spread = np.maximum(spread, own_sd[labels, bands].max(axis=0))
    return low, high, spread, high_spread, trab[labels]


def expected_maps(grid: BoneGrid, normal: NormalBone) -> tuple[np.ndarray, ...]:
    """Per bone voxel (NaN outside bone): expected HU (lytic, blastic), spread (lytic, blastic), trabecular ref.

    The lytic test uses the pooled profile at the voxel's depth, shifted by the level's
    (trimmed) trabecular offset: a large lytic deposit cannot drag it down. The blastic
    test uses the higher of that and the level's own profile (which knows, e.g., that the
    sacrum is denser at a given depth than a lumbar body), and the larger spread: the
    more conservative of the two.
    """
    bone = grid.labels > 0
    maps = []
    for values in expected_on_bone(grid, normal, bone):
        full = np.full(grid.labels.shape, np.nan, dtype=np.float32)
        full[bone] = values
        maps.append(full)
    return tuple(maps)


def coarse_departure(grid: BoneGrid, normal: NormalBone, bone: np.ndarray | None = None) -> np.ndarray | None:
    """z of the coarse smoothing against the coarse normal profile at the same depth, for the voxels of
    ``bone`` (default: all bone) as a flat array; None without a coarse smoothing."""
    if grid.coarse is None or not normal.coarse_depth_median_hu:
        return None
    bone = grid.labels > 0 if bone is None else bone
    labels = grid.labels[bone]
    band = _bands_around(grid, normal, bone, len(normal.coarse_depth_median_hu), 0.0)[0]
    offset, scale, _ = level_terms(grid, normal)
    expected = np.asarray(normal.coarse_depth_median_hu, dtype=np.float32)[band] + offset[labels]
    spread = np.asarray(normal.coarse_depth_sd_hu, dtype=np.float32)[band] * scale[labels]
    return (grid.coarse[bone] - expected) / spread
