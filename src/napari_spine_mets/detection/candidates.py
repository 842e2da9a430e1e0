"""Candidate lesions: bone voxels whose smoothed HU departs from the patient's normal bone.

For each bone voxel the expected HU and spread come from :mod:`.normal_bone`: the normal
smoothed HU at the voxel's depth below the surface, shifted by its level's own trabecular
offset. A voxel's departure is ``z = (smoothed - expected) / spread``.

* lytic: ``z <= -seed_z`` seeds (at least ``lytic_min_depth_mm`` inside the surface, away
  from the partial volume with the soft tissue around the bone), grown by hysteresis to
  every connected voxel with ``z <= -grow_z``;
* blastic: ``z >= seed_z`` seeds at least ``blastic_min_depth_mm`` inside the surface (the
  cortical shell is excluded: dense there is normal), and above the trabecular range by
  ``min_blastic_excess_hu``; grown to connected voxels with ``z >= grow_z``.

The two grown masks are joined (a mixed lesion holds both), split into connected
components, each assigned to the bone label holding most of it, and components smaller
than a sphere of ``min_diameter_mm`` (5 mm, the size the issue counts lesions from) are
dropped. All z and depth values are project heuristics, tuned on synthetic cases (see
docs/lesions.md); none is a published threshold.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..anatomy import TOTALSEG_SACRUM, TOTALSEG_VERTEBRA_IDS
from .bone_grid import BoneGrid
from .normal_bone import NormalBone

#: Labels where a blastic seed must be one-sided (see :func:`find_candidates`).
SACRAL_LABELS: tuple[int, ...] = (TOTALSEG_SACRUM, TOTALSEG_VERTEBRA_IDS["S1"])

__all__ = ["SACRAL_LABELS", "CandidateParams", "Candidate", "expected_maps", "find_candidates"]


@dataclass(frozen=True)
class CandidateParams:
    """Every knob of candidate finding (recorded with the results)."""

    seed_z: float = 5.0
    grow_z: float = 3.0
    lytic_min_depth_mm: float = 0.5
    blastic_min_depth_mm: float = 1.0
    #: Dense bone this deep inside the surface is blastic without the left-right comparison.
    blastic_core_depth_mm: float = 3.0
    #: A blastic seed must also exceed the level's trabecular reference by this much (HU).
    min_blastic_excess_hu: float = 150.0
    #: A lytic seed must also lie this much below the level's trabecular reference... or its local normal (HU).
    min_lytic_deficit_hu: float = 40.0
    min_diameter_mm: float = 5.0

    @property
    def min_volume_mm3(self) -> float:
        return float(np.pi / 6.0 * self.min_diameter_mm**3)

    def to_json(self) -> dict[str, float]:
        return {k: float(v) for k, v in self.__dict__.items()} | {"min_volume_mm3": round(self.min_volume_mm3, 1)}


@dataclass
class Candidate:
    """One connected departure from normal bone (cropped-grid coordinates)."""

    index: int
    label: int
    mask_box: tuple[slice, slice, slice]
    mask: np.ndarray  # within mask_box
    n_lytic_voxels: int
    n_blastic_voxels: int
    peak_z: float
    mean_abs_z: float
    labels_touched: dict[int, int] = field(default_factory=dict)


def expected_maps(grid: BoneGrid, normal: NormalBone) -> tuple[np.ndarray, ...]:
    """Per bone voxel (NaN outside bone): expected HU (lytic, blastic), spread (lytic, blastic), trabecular ref.

    The lytic test uses the pooled profile at the voxel's depth, shifted by the level's
    (trimmed) trabecular offset: a large lytic deposit cannot drag it down. The blastic
    test uses the higher of that and the level's own profile (which knows, e.g., that the
    sacrum is denser at a given depth than a lumbar body), and the larger spread: the
    more conservative of the two.
    """
    edges = np.asarray(normal.depth_edges_mm)
    n_bands = len(normal.depth_median_hu)
    band = np.clip(np.digitize(grid.depth_mm, edges[1:-1]), 0, n_bands - 1)
    expected = np.asarray(normal.depth_median_hu, dtype=np.float32)[band]
    spread = np.asarray(normal.depth_sd_hu, dtype=np.float32)[band]
    n_labels = int(grid.labels.max()) + 1
    own_median = np.tile(np.asarray(normal.depth_median_hu, dtype=np.float32), (n_labels, 1))
    own_sd = np.tile(np.asarray(normal.depth_sd_hu, dtype=np.float32), (n_labels, 1))
    for label, (m, sd) in normal.label_profiles.items():
        own_median[label], own_sd[label] = m, sd
    offset = np.zeros(int(grid.labels.max()) + 1, dtype=np.float32)
    scale = np.ones_like(offset)
    trab = np.full_like(offset, normal.pooled_trabecular_hu)
    for label, lv in normal.levels.items():
        offset[label] = lv.reference_hu - normal.pooled_trabecular_hu
        trab[label] = lv.reference_hu
        if normal.pooled_smoothed_sd_hu > 0:
            scale[label] = np.clip(lv.reference_smoothed_sd_hu / normal.pooled_smoothed_sd_hu, 0.8, 1.5)
    labels = grid.labels
    bone = labels > 0
    pooled = expected + offset[labels]
    own = own_median[labels, band]
    spread = spread * scale[labels]
    high_spread = np.maximum(spread, own_sd[labels, band])
    nan = np.float32(np.nan)
    return (np.where(bone, pooled, nan), np.where(bone, np.maximum(pooled, own), nan),
            np.where(bone, spread, nan), np.where(bone, high_spread, nan), np.where(bone, trab[labels], nan))


def mirror_difference(grid: BoneGrid, core_mm: float = 3.0) -> np.ndarray:
    """Smoothed HU minus that of the mirror voxel across each label's midsagittal plane.

    The plane is the label's median column (x) of its trabecular core; NaN where the
    mirror voxel lies outside the label. Normal anatomy is nearly left-right symmetric, so
    dense *normal* bone (facets, processes) cancels while a one-sided sclerotic deposit
    stands out. Assumes the spine is not rotated much about its long axis.
    """
    from scipy import ndimage

    out = np.full(grid.labels.shape, np.nan, dtype=np.float32)
    nx = grid.labels.shape[2]
    core = ndimage.value_indices(grid.labels * (grid.depth_mm >= core_mm), ignore_value=0)
    for label, (z, y, x) in ndimage.value_indices(grid.labels, ignore_value=0).items():
        if label not in core:
            continue
        centre = float(np.median(core[label][2]))
        xm = np.rint(2.0 * centre - x).astype(np.intp)
        ok = (xm >= 0) & (xm < nx)
        z, y, x, xm = z[ok], y[ok], x[ok], xm[ok]
        same = grid.labels[z, y, xm] == label
        z, y, x, xm = z[same], y[same], x[same], xm[same]
        out[z, y, x] = grid.smoothed[z, y, x] - grid.smoothed[z, y, xm]
    return out


def _hysteresis(seeds: np.ndarray, grow: np.ndarray) -> np.ndarray:
    from scipy import ndimage

    components, n = ndimage.label(grow, structure=np.ones((3, 3, 3), bool))
    if n == 0:
        return np.zeros_like(grow)
    keep = np.zeros(n + 1, dtype=bool)
    keep[np.unique(components[seeds & grow])] = True
    keep[0] = False
    return keep[components]


def find_candidates(grid: BoneGrid, normal: NormalBone,
                    params: CandidateParams = CandidateParams()) -> tuple[list[Candidate], np.ndarray, np.ndarray]:
    """Candidates, and the per-voxel z map and lytic/blastic code map (1 lytic, 2 blastic) they came from."""
    from scipy import ndimage

    expected_low, expected_high, spread, high_spread, trabecular = expected_maps(grid, normal)
    with np.errstate(invalid="ignore"):
        z_low = (grid.smoothed - expected_low) / spread
        z_high = (grid.smoothed - expected_high) / high_spread
        z = np.where(z_low < 0, z_low, np.maximum(z_high, 0))
        bone = grid.labels > 0
        depth = grid.depth_mm
        low = bone & (z_low <= -params.grow_z)
        lytic_seed = low & (z_low <= -params.seed_z) & (depth >= params.lytic_min_depth_mm) \
            & (grid.smoothed <= np.minimum(trabecular, expected_low) - params.min_lytic_deficit_hu)
        high = bone & (z_high >= params.grow_z) & (grid.smoothed > trabecular)
        dense = high & (z_high >= params.seed_z) & (grid.smoothed >= trabecular + params.min_blastic_excess_hu)
        # Deep (trabecular) bone: dense is abnormal. Shallower, thin bone (pedicles, laminae) is
        # dense by nature: there only a one-sided excess over the mirror side counts.
        asymmetry = mirror_difference(grid)
        # With thick slices the cortex's partial volume reaches one slice deep: scale the depths with it.
        thick = max(grid.spacing)
        core_depth = max(params.blastic_core_depth_mm, 1.5 * thick)
        # The sacrum (and S1, fused to it) holds thick dense bone by nature (alae, sacroiliac
        # subchondral bone): there the left-right comparison is always required.
        sacral = np.isin(grid.labels, SACRAL_LABELS)
        blastic_seed = dense & (((depth >= core_depth) & ~sacral) | (
            (depth >= params.blastic_min_depth_mm) & (asymmetry >= params.seed_z * high_spread)
            & (asymmetry >= params.min_blastic_excess_hu)))
    lytic = _hysteresis(lytic_seed, low)
    blastic = _hysteresis(blastic_seed, high)
    code = np.zeros(grid.labels.shape, dtype=np.uint8)
    code[lytic] = 1
    code[blastic] = 2
    components, n = ndimage.label(code > 0, structure=np.ones((3, 3, 3), bool))
    min_voxels = params.min_volume_mm3 / grid.voxel_mm3
    candidates: list[Candidate] = []
    for i, box in enumerate(ndimage.find_objects(components), start=1):
        if box is None:
            continue
        mask = components[box] == i
        if mask.sum() < min_voxels:
            continue
        labs, counts = np.unique(grid.labels[box][mask], return_counts=True)
        touched = {int(a): int(b) for a, b in zip(labs, counts) if a}
        zs = z[box][mask]
        c = code[box][mask]
        candidates.append(Candidate(
            index=len(candidates) + 1, label=max(touched, key=touched.get), mask_box=box, mask=mask,
            n_lytic_voxels=int((c == 1).sum()), n_blastic_voxels=int((c == 2).sum()),
            peak_z=float(np.nanmax(np.abs(zs))), mean_abs_z=float(np.nanmean(np.abs(zs))), labels_touched=touched,
        ))
    return candidates, z, code
