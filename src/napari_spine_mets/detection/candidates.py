"""Candidate lesions: bone voxels whose smoothed HU departs from the patient's normal bone.

For each bone voxel the expected HU and spread come from :mod:`.expected` (the normal
smoothed HU at the voxel's depth below the surface, shifted by its level's trabecular
offset). A voxel's departure is ``z = (smoothed - expected) / spread``.

* lytic: ``z <= -seed_z`` seeds (at least ``lytic_min_depth_mm`` inside the surface, away
  from the partial volume with the soft tissue around the bone, and ``min_lytic_deficit_hu``
  below the trabecular reference), or the same departure of the *coarse* smoothing (sigma
  2 mm, medulla only) at least ``coarse_min_depth_mm`` deep: a large deposit of low contrast
  (the pale bone of an old patient) reaches 5 SD only once more voxels are averaged;
* blastic: ``z >= seed_z`` seeds above the trabecular range by ``min_blastic_excess_hu``,
  either deep (``blastic_core_depth_mm``: the cortical shell is dense by nature) or, in
  thinner bone, exceeding their mirror voxel across the vertebra's midsagittal plane by
  as much (:mod:`.mirror`; always required in the sacrum and S1).

A deep blastic seed must stand out against the densest normal value within
``DEPTH_TOLERANCE_MM`` of its depth (:mod:`.expected`): a label surface half a millimetre off
moves normal bone along the steep inner edge of the cortex, where it then looks dense. (The
same tolerance for lytic seeds cost thin posterior elements their lytic lesions: there the
profile's shallow side is the soft tissue's partial volume.) Seeds grow by hysteresis to
connected voxels departing by ``grow_z`` in their direction, against the profile at their
exact depth.
Then departures of *either* sign within ``join_mm`` (3 mm) of a grown region join it, with
1-voxel gaps closed: the lytic and sclerotic parts of a mixed deposit lie side by side, a
normal-looking voxel or two apart once smoothed, and belong to one lesion (before, a mixed
deposit came out as its denser half only). The result is split into connected components,
each assigned to the bone label holding most of it; components smaller than a sphere of
``min_diameter_mm`` (5 mm, the size the issue counts lesions from) are dropped. All z, HU
and distance values are project heuristics, tuned on synthetic cases (see docs/lesions.md);
none is a published threshold.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..anatomy import TOTALSEG_SACRUM, TOTALSEG_VERTEBRA_IDS
from ..knobs import Knobs
from .bone_grid import BoneGrid
from .expected import DEPTH_TOLERANCE_MM, coarse_departure, expected_maps, expected_on_bone
from .mirror import midlines, mirror_difference, mirror_overlap
from .normal_bone import NormalBone

#: Labels where a blastic seed must be one-sided (see :func:`find_candidates`).
SACRAL_LABELS: tuple[int, ...] = (TOTALSEG_SACRUM, TOTALSEG_VERTEBRA_IDS["S1"])

__all__ = ["SACRAL_LABELS", "CandidateParams", "Candidate", "expected_maps", "mirror_difference", "find_candidates"]


@dataclass(frozen=True)
class CandidateParams(Knobs):
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
    #: Coarse-scale lytic seeds only this deep (the trabecular core: near the surface the coarse
    #: smoothing mixes in the cortex).
    coarse_min_depth_mm: float = 3.0
    #: Departures of either sign this close to a seeded region join its lesion (mixed deposits).
    join_mm: float = 3.0

    @property
    def min_volume_mm3(self) -> float:
        return float(np.pi / 6.0 * self.min_diameter_mm**3)

    def to_json(self) -> dict[str, float]:
        return super().to_json() | {"min_volume_mm3": round(self.min_volume_mm3, 1)}


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
    #: Fraction of the candidate whose mirror voxel (across its label's midsagittal plane) is also in it.
    mirror_overlap: float | None = None
    #: 90th centile of (smoothed HU - smoothed HU of the mirror voxel) over the candidate.
    asymmetry_p90_hu: float | None = None


def _ball(mm: float, spacing: tuple[float, float, float]) -> np.ndarray:
    """Structuring element: voxels within ``mm`` of the centre (anisotropic spacing)."""
    radius = [int(np.floor(mm / s)) for s in spacing]
    grid = np.ogrid[tuple(slice(-r, r + 1) for r in radius)]
    return sum((g * s) ** 2 for g, s in zip(grid, spacing)) <= mm**2


def _join(seeded: np.ndarray, departing: np.ndarray, bone: np.ndarray, spacing: tuple[float, float, float],
          join_mm: float) -> np.ndarray:
    """``seeded`` plus the departures (either sign) within ``join_mm`` of it, 1-voxel gaps closed.

    Worked out in each seeded region's own box, so the cost follows the lesions, not the scan.
    """
    from scipy import ndimage

    out = seeded.copy()
    ball = _ball(join_mm, spacing)
    cube = np.ones((3, 3, 3), bool)
    pad = [r + 2 for r in (np.array(ball.shape) // 2)]
    components, _ = ndimage.label(seeded, structure=cube)
    for box in ndimage.find_objects(components):
        if box is None:
            continue
        big = tuple(slice(max(b.start - p, 0), min(b.stop + p, n)) for b, p, n in zip(box, pad, seeded.shape))
        own = seeded[big]
        near = ndimage.binary_dilation(own, structure=ball) & bone[big]
        parts = departing[big] & near
        joined = ndimage.binary_closing(parts, structure=cube) & near
        out[big] |= _hysteresis(own, joined | parts | own)
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
    """Candidates, and the per-voxel z map and code map (1 lytic, 2 blastic, 3 gap joined into a lesion) they came from."""
    from scipy import ndimage

    bone = grid.labels > 0
    mid = midlines(grid)  # each label's midsagittal plane, for the asymmetry map and the candidates' overlap
    expected_low, expected_high, spread, high_spread, trabecular = expected_on_bone(grid, normal, bone)
    _, sure_high, _, sure_high_spread, _ = expected_on_bone(grid, normal, bone, DEPTH_TOLERANCE_MM)
    smoothed, depth, labels = grid.smoothed[bone], grid.depth_mm[bone], grid.labels[bone]
    # every voxelwise test on the bone voxels only (flat arrays), then put back on the grid
    with np.errstate(invalid="ignore"):
        z_low = (smoothed - expected_low) / spread
        z_high = (smoothed - expected_high) / high_spread
        low = z_low <= -params.grow_z
        lytic_seed = low & (z_low <= -params.seed_z) & (depth >= params.lytic_min_depth_mm) \
            & (smoothed <= np.minimum(trabecular, expected_low) - params.min_lytic_deficit_hu)
        z_coarse = coarse_departure(grid, normal, bone)
        if z_coarse is not None:  # large, faint lytic deposits: seeds at the coarse scale, in the trabecular core
            lytic_seed |= low & (z_coarse <= -params.seed_z) & (depth >= params.coarse_min_depth_mm) \
                & (grid.coarse[bone] <= trabecular - params.min_lytic_deficit_hu)
        high = (z_high >= params.grow_z) & (smoothed > trabecular)
        dense = high & (z_high >= params.seed_z) & (smoothed >= trabecular + params.min_blastic_excess_hu)
        # Deep (trabecular) bone: dense is abnormal. Shallower, thin bone (pedicles, laminae) is
        # dense by nature: there only a one-sided excess over the mirror side counts.
        asymmetry_map = mirror_difference(grid, mid=mid)
        asymmetry = asymmetry_map[bone]
        # With thick slices the cortex's partial volume reaches one slice deep: scale the depths with it.
        core_depth = max(params.blastic_core_depth_mm, 1.5 * max(grid.spacing))
        # The sacrum (and S1, fused to it) holds thick dense bone by nature (alae, sacroiliac
        # subchondral bone): there the left-right comparison is always required.
        sacral = (labels == SACRAL_LABELS[0]) | (labels == SACRAL_LABELS[1])
        dense_whatever_the_surface = (smoothed - sure_high) / sure_high_spread >= params.seed_z
        blastic_seed = dense & (((depth >= core_depth) & ~sacral & dense_whatever_the_surface) | (
            (depth >= params.blastic_min_depth_mm) & (asymmetry >= params.seed_z * high_spread)
            & (asymmetry >= params.min_blastic_excess_hu)))
        z_flat = np.where(z_low < 0, z_low, np.maximum(z_high, 0))
    z = np.full(grid.labels.shape, np.nan, dtype=np.float32)
    z[bone] = z_flat
    masks = []
    for flat in (low, high, lytic_seed, blastic_seed):
        full = np.zeros(grid.labels.shape, dtype=bool)
        full[bone] = flat
        masks.append(full)
    low, high, lytic_seed, blastic_seed = masks
    # One lesion = departures of either sign lying together: a mixed deposit's lytic and sclerotic
    # parts are a normal-looking voxel or two apart once smoothed, so 1-voxel gaps are closed
    # first, then every closed component holding a seed is kept (gap voxels included).
    seeded = _hysteresis(lytic_seed, low) | _hysteresis(blastic_seed, high)
    lesion = _join(seeded, low | high, bone, grid.spacing, params.join_mm)
    code = np.zeros(grid.labels.shape, dtype=np.uint8)
    code[lesion] = 3
    code[lesion & low] = 1
    code[lesion & high] = 2
    components, n = ndimage.label(lesion, structure=np.ones((3, 3, 3), bool))
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
        label = max(touched, key=touched.get)
        asym = asymmetry_map[box][mask]
        asym = asym[np.isfinite(asym)]
        candidates.append(Candidate(
            index=len(candidates) + 1, label=label, mask_box=box, mask=mask,
            n_lytic_voxels=int((c == 1).sum()), n_blastic_voxels=int((c == 2).sum()),
            peak_z=float(np.nanmax(np.abs(zs))), mean_abs_z=float(np.nanmean(np.abs(zs))), labels_touched=touched,
            mirror_overlap=mirror_overlap(mask, box, mid[label]) if label in mid else None,
            asymmetry_p90_hu=float(np.percentile(asym, 90)) if asym.size else None,
        ))
    return candidates, z, code
