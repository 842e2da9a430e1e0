"""The patient's own normal bone: robust HU statistics of trabecular and cortical bone.

Lesions are found as departures from *this patient's* bone, not from population values,
because trabecular HU varies with age, sex, scanner, kVp and contrast phase (about 250 HU
at 20 years falling to about 120 HU at 80 in opportunistic-CT studies; see docs/hu.md).

Per level (vertebra or sacrum):

* trabecular = voxels at least ``core_mm`` (3 mm) inside the label's surface, away from
  the cortex and its partial volume; median and robust SD (1.4826 x MAD) of both raw and
  smoothed HU (the detector thresholds the smoothed image, so its spread is what matters);
* cortical = voxels within ``shell_mm`` (1.5 mm) of the surface: median HU (reported).

Pooled over levels: the median of the level medians and the median of the level spreads.
A level whose median departs from the pooled median by more than ``outlier_sd`` (3) robust
SDs of the level medians (a vertebra filled with sclerotic or lytic disease, or a
fractured body) is an *outlier*: its own statistics are not trusted and the pooled ones
are its reference. Median/MAD are used because a lesion in a level is itself an outlier
among that level's voxels and must not set the level's "normal".

MAD alone breaks down once a deposit fills half of a small body's core, so every estimate
is *trimmed* first: a level's statistics come from its core voxels within ``LEVEL_TRIM_SD``
(2.5) pooled SDs of the pooled median, and each depth band of a profile (pooled, per level,
coarse) from the voxels within ``TRIM_SD`` (4) SDs of a first, untrimmed estimate (for a
level's own profile: the pooled band shifted by the level's offset). The 3 mm, 1.5 mm, SD and
trimming choices are project heuristics.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..anatomy import TOTALSEG_SACRUM, level_of_label
from .bone_grid import BoneGrid

__all__ = ["LevelNormal", "NormalBone", "estimate_normal_bone", "depth_profile", "DEPTH_EDGES_MM", "CORE_MM", "SHELL_MM", "OUTLIER_SD", "level_name"]

CORE_MM = 3.0
SHELL_MM = 1.5
OUTLIER_SD = 3.0
#: Depth profiles are re-estimated from voxels within this many SDs of a first estimate (project heuristic).
TRIM_SD = 4.0
#: Per-level statistics are re-estimated from voxels within this many pooled SDs of the pooled
#: median: tighter, because a faint lytic deposit (lytic tissue ~75 HU below the pale bone of an
#: old patient, about 4 SD) filling most of a small body must not pull its level's median along
#: (project heuristic).
LEVEL_TRIM_SD = 2.5
#: Depth bands (mm below the label's surface) of the normal-bone profile (project heuristic).
DEPTH_EDGES_MM: tuple[float, ...] = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 6.0, float("inf"))
#: Robust SD = 1.4826 x MAD for normally distributed values.
MAD_TO_SD = 1.4826
#: Levels with fewer trabecular voxels than this are not used on their own (too few to trust).
MIN_CORE_VOXELS = 200
#: A label's own depth band needs this many voxels, else the pooled band is used.
MIN_BAND_VOXELS = 100


def level_name(label: int) -> str:
    """"T12", "S1", or "sacrum"."""
    return "sacrum" if int(label) == TOTALSEG_SACRUM else (level_of_label(int(label)) or f"label_{label}")


def _median_sd(values: np.ndarray) -> tuple[float, float]:
    median = float(np.median(values))
    return median, MAD_TO_SD * float(np.median(np.abs(values - median)))


@dataclass
class LevelNormal:
    """Normal-bone statistics of one level, and the reference the detector uses there."""

    label: int
    level: str
    n_core_voxels: int
    trabecular_median_hu: float | None
    trabecular_sd_hu: float | None
    smoothed_median_hu: float | None
    smoothed_sd_hu: float | None
    cortical_median_hu: float | None
    outlier: bool = False
    #: Reference used by the detector here (own statistics, or pooled when an outlier/too small).
    reference_hu: float = 0.0
    reference_sd_hu: float = 0.0
    reference_smoothed_sd_hu: float = 0.0
    reference_source: str = "own"


@dataclass
class NormalBone:
    """Per-level and pooled normal bone of one patient."""

    levels: dict[int, LevelNormal] = field(default_factory=dict)
    pooled_trabecular_hu: float = 0.0
    pooled_trabecular_sd_hu: float = 0.0
    pooled_smoothed_sd_hu: float = 0.0
    pooled_cortical_hu: float | None = None
    excluded_levels: list[str] = field(default_factory=list)
    method: str = ""
    #: Smoothed HU of normal bone as a function of depth below the surface (see :func:`depth_profile`).
    depth_edges_mm: list[float] = field(default_factory=list)
    depth_median_hu: list[float] = field(default_factory=list)
    depth_sd_hu: list[float] = field(default_factory=list)
    #: The same profile per label (its own bone only): label -> (medians, sds).
    label_profiles: dict[int, tuple[list[float], list[float]]] = field(default_factory=dict)
    #: The pooled profile of the coarse smoothing (``BoneGrid.coarse``); empty when there is none.
    coarse_depth_median_hu: list[float] = field(default_factory=list)
    coarse_depth_sd_hu: list[float] = field(default_factory=list)

    def reference(self, label: int) -> tuple[float, float, float]:
        """(reference HU, raw robust SD, smoothed robust SD) for a bone label."""
        lv = self.levels.get(int(label))
        if lv is None:
            return self.pooled_trabecular_hu, self.pooled_trabecular_sd_hu, self.pooled_smoothed_sd_hu
        return lv.reference_hu, lv.reference_sd_hu, lv.reference_smoothed_sd_hu

    def to_json(self) -> dict[str, Any]:
        def r(v: Any) -> Any:
            return round(v, 1) if isinstance(v, float) else v

        return {
            "pooled_trabecular_hu": r(self.pooled_trabecular_hu),
            "pooled_trabecular_sd_hu": r(self.pooled_trabecular_sd_hu),
            "pooled_smoothed_sd_hu": r(self.pooled_smoothed_sd_hu),
            "pooled_cortical_hu": r(self.pooled_cortical_hu),
            "excluded_levels": list(self.excluded_levels),
            "depth_profile": [{"depth_mm": [a, b if np.isfinite(b) else None], "median_hu": r(m), "sd_hu": r(d)}
                              for a, b, m, d in zip(self.depth_edges_mm[:-1], self.depth_edges_mm[1:],
                                                    self.depth_median_hu, self.depth_sd_hu)],
            "method": self.method,
            "levels": [{k: r(v) for k, v in asdict(lv).items()} for lv in self.levels.values()],
        }


def depth_profile(grid: BoneGrid, labels: list[int], edges: tuple[float, ...] = (), min_count: int = 50,
                  fallback: tuple[list[float], list[float]] | None = None,
                  window: tuple[list[float], list[float]] | None = None,
                  image: np.ndarray | None = None,
                  samples: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[list[float], list[float], list[float]]:
    """Median and robust SD of smoothed HU of the given levels' bone, per depth band (mm).

    Near the surface normal bone is cortex (and its partial volume), deep inside it is
    trabecular: a lesion is judged against normal bone *at the same depth*, which keeps
    the cortical shell from looking blastic and lets a lytic breach of the cortex stand out.
    ``window`` = (centre, half-width) per band: only values inside it are used (trimmed
    estimate), so a deposit filling most of a small body's core cannot become its "normal".
    ``image`` replaces the fine smoothing (``grid.smoothed``), e.g. by the coarse one; ``samples``
    = (depth, values) already taken from the grid replaces ``labels`` and ``image``.
    """
    edges = edges or DEPTH_EDGES_MM
    if samples is not None:
        depth, values = samples
    else:
        mask = np.isin(grid.labels, labels) if labels else grid.labels > 0
        depth = grid.depth_mm[mask]
        values = (grid.smoothed if image is None else image)[mask]
    if image is not None:  # the coarse smoothing is NaN outside the medulla
        finite = np.isfinite(values)
        depth, values = depth[finite], values[finite]
    band = np.digitize(depth, edges[1:-1])
    medians: list[float] = []
    sds: list[float] = []
    for i in range(len(edges) - 1):
        v = values[band == i]
        if window is not None:
            v = v[np.abs(v - window[0][i]) <= window[1][i]]
        if v.size < min_count and fallback is not None:
            medians.append(fallback[0][i])
            sds.append(fallback[1][i])
            continue
        if v.size < min_count:  # too few voxels at this depth (small labels): borrow the shallower band
            medians.append(medians[-1] if medians else float(np.median(values)))
            sds.append(sds[-1] if sds else _median_sd(values)[1])
            continue
        m, sd = _median_sd(v)
        medians.append(m)
        sds.append(max(sd, 1.0))
    return list(edges), medians, sds


def _trim_levels(grid: BoneGrid, core_idx: dict, levels: dict[int, LevelNormal], pooled: float,
                 pooled_sd: float, pooled_ssd: float) -> None:
    """Re-estimate each level from its voxels within ``LEVEL_TRIM_SD`` pooled SDs of the pooled median.

    A large lesion can hold a third of a body's voxels and drag its plain median and MAD
    towards itself; trimming to the normal range first keeps the lesion out of "normal".
    """
    for label, lv in levels.items():
        if lv.trabecular_median_hu is None or lv.outlier:
            continue
        idx = core_idx[label]
        raw = grid.hu[idx]
        sm = grid.smoothed[idx]
        keep = np.abs(sm - pooled) <= LEVEL_TRIM_SD * max(pooled_ssd, 1.0)
        if keep.sum() < MIN_CORE_VOXELS:
            continue
        lv.trabecular_median_hu, lv.trabecular_sd_hu = _median_sd(raw[keep])
        lv.smoothed_median_hu, lv.smoothed_sd_hu = _median_sd(sm[keep])


def estimate_normal_bone(grid: BoneGrid, core_mm: float = CORE_MM, shell_mm: float = SHELL_MM,
                         outlier_sd: float = OUTLIER_SD) -> NormalBone:
    """Robust per-level and pooled statistics of normal bone (see the module docstring)."""
    from scipy import ndimage

    labels = grid.labels
    ids = [int(v) for v in np.unique(labels) if v]
    core = labels * (grid.depth_mm >= core_mm)
    shell = labels * ((labels > 0) & (grid.depth_mm < shell_mm))
    core_idx = ndimage.value_indices(core, ignore_value=0)
    shell_idx = ndimage.value_indices(shell, ignore_value=0)
    levels: dict[int, LevelNormal] = {}
    for label in ids:
        idx = core_idx.get(label)
        n = 0 if idx is None else int(idx[0].size)
        raw = sm = (None, None)
        if n >= MIN_CORE_VOXELS:
            raw = _median_sd(grid.hu[idx])
            sm = _median_sd(grid.smoothed[idx])
        cort = float(np.median(grid.hu[shell_idx[label]])) if label in shell_idx else None
        levels[label] = LevelNormal(label, level_name(label), n, raw[0], raw[1], sm[0], sm[1], cort)
    usable = [lv for lv in levels.values() if lv.trabecular_median_hu is not None]
    if not usable:  # tiny labels only: fall back on every labelled voxel deep enough to exist
        values = grid.hu[labels > 0]
        smooth = grid.smoothed[labels > 0]
        pooled, pooled_sd = _median_sd(values)
        pooled_ssd = _median_sd(smooth)[1]
        excluded: list[str] = []
    else:
        medians = np.array([lv.trabecular_median_hu for lv in usable])
        pooled, spread = _median_sd(medians)
        # The spread of level medians is small in health; never let it shrink below the voxel noise scale.
        limit = outlier_sd * max(spread, float(np.median([lv.smoothed_sd_hu for lv in usable])))
        excluded = []
        for lv in usable:
            if abs(lv.trabecular_median_hu - pooled) > limit and len(usable) >= 3:
                lv.outlier = True
                excluded.append(lv.level)
        normal = [lv for lv in usable if not lv.outlier] or usable
        pooled = float(np.median([lv.trabecular_median_hu for lv in normal]))
        pooled_sd = float(np.median([lv.trabecular_sd_hu for lv in normal]))
        pooled_ssd = float(np.median([lv.smoothed_sd_hu for lv in normal]))
    _trim_levels(grid, core_idx, levels, pooled, pooled_sd, pooled_ssd)
    for lv in levels.values():
        if lv.trabecular_median_hu is None or lv.outlier:
            lv.reference_hu, lv.reference_sd_hu, lv.reference_smoothed_sd_hu = pooled, pooled_sd, pooled_ssd
            lv.reference_source = "pooled (level is an outlier)" if lv.outlier else "pooled (too few trabecular voxels)"
        else:
            lv.reference_hu = float(lv.smoothed_median_hu)
            # a level's own spread may be inflated by a lesion: never trust more than 1.5 x the pooled one
            lv.reference_sd_hu = float(min(lv.trabecular_sd_hu, 1.5 * pooled_sd))
            lv.reference_smoothed_sd_hu = float(min(lv.smoothed_sd_hu, 1.5 * pooled_ssd))
    normal_labels = [lv.label for lv in levels.values() if not lv.outlier]
    edges, first_median, first_sd = depth_profile(grid, normal_labels)
    # trimmed re-estimate: a large deposit in a short scan must not widen or shift the pooled profile
    _, prof_median, prof_sd = depth_profile(grid, normal_labels, fallback=(first_median, first_sd),
                                            window=(first_median, [TRIM_SD * v for v in first_sd]))
    label_profiles = {}
    voxels = ndimage.value_indices(grid.labels, ignore_value=0)
    for label, lv in levels.items():
        shift = lv.reference_hu - pooled
        window = ([m + shift for m in prof_median], [TRIM_SD * v for v in prof_sd])
        idx = voxels[label]
        _, lm, ls = depth_profile(grid, [label], min_count=MIN_BAND_VOXELS, fallback=(prof_median, prof_sd),
                                  window=window, samples=(grid.depth_mm[idx], grid.smoothed[idx]))
        label_profiles[label] = (lm, ls)
    coarse_median: list[float] = []
    coarse_sd: list[float] = []
    if grid.coarse is not None:
        _, first_median, first_sd = depth_profile(grid, normal_labels, image=grid.coarse)
        _, coarse_median, coarse_sd = depth_profile(grid, normal_labels, fallback=(first_median, first_sd),
                                                    window=(first_median, [TRIM_SD * v for v in first_sd]),
                                                    image=grid.coarse)
    cortical = [lv.cortical_median_hu for lv in levels.values() if lv.cortical_median_hu is not None]
    return NormalBone(
        levels=levels, pooled_trabecular_hu=float(pooled), pooled_trabecular_sd_hu=float(pooled_sd),
        pooled_smoothed_sd_hu=float(pooled_ssd), pooled_cortical_hu=float(np.median(cortical)) if cortical else None,
        excluded_levels=excluded, depth_edges_mm=edges, depth_median_hu=prof_median, depth_sd_hu=prof_sd,
        label_profiles=label_profiles, coarse_depth_median_hu=coarse_median, coarse_depth_sd_hu=coarse_sd,
        method=(f"trabecular = voxels >= {core_mm:g} mm inside each label's surface, cortical = within {shell_mm:g} mm; "
                f"median and 1.4826 x MAD per level; levels > {outlier_sd:g} robust SD from the pooled median use "
                "the pooled values (project heuristics)"),
    )
