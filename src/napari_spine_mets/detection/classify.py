"""Lytic, blastic or mixed: the lytic and sclerotic parts found inside each lesion, with their sizes.

Evidence is counted on the *unsmoothed* HU, because smoothing averages the lytic and
sclerotic parts of a mixed deposit into something in between. Against the level's
trabecular reference (median and robust SD of the patient's own normal bone, from
:mod:`.normal_bone`):

* lytic voxel: HU below the reference by more than ``lytic_z`` (2) robust SDs and by at
  least ``min_deficit_hu`` (40 HU): bone replaced by soft tissue;
* sclerotic voxel: HU above the reference by more than ``blastic_z`` (3) SDs and by at
  least ``min_excess_hu`` (150 HU), at least ``min_depth_mm`` (1 mm) inside the bone
  surface (the cortex itself is dense by nature).

Voxels of each sort are grouped into connected *parts* (26-connectivity); a part of fewer
than ``min_part_voxels`` (2) voxels is noise, not a part. The lesion is *mixed* when its
lytic parts reach ``mixed_lytic_fraction`` (3 %) of its volume and its sclerotic parts
``mixed_sclerotic_fraction`` (7 %: a lytic deposit's edge takes in some cortex), otherwise
the sort with more volume wins. On the tuning cases pure blastic lesions held at most 1 %
lytic parts and pure lytic ones at most 2.3 % sclerotic parts, while mixed ones held
6-54 % lytic and 20-66 % sclerotic parts, except two whose lytic half was blurred into
the sclerotic one (docs/lesions.md). The parts (count, volume, largest, mean HU) are kept so the user sees
why. All cut-offs are project heuristics tuned on synthetic cases: SINS (Fisher 2010)
defines the categories lytic / mixed / blastic but gives no HU rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..case_parts import LesionKind
from ..knobs import Knobs
from .bone_grid import BoneGrid
from .candidates import Candidate
from .normal_bone import NormalBone

__all__ = ["ClassifyParams", "KindEvidence", "PartsSummary", "classify_candidate"]


@dataclass(frozen=True)
class ClassifyParams(Knobs):
    lytic_z: float = 2.0
    blastic_z: float = 3.0
    min_deficit_hu: float = 40.0
    min_excess_hu: float = 150.0
    min_depth_mm: float = 1.0
    min_part_voxels: int = 2
    #: Mixed needs lytic parts of at least this fraction of the lesion...
    mixed_lytic_fraction: float = 0.03
    #: ...and sclerotic parts of at least this fraction: higher, because a lytic deposit's edge
    #: takes in some cortex, which is dense by nature.
    mixed_sclerotic_fraction: float = 0.07


@dataclass
class PartsSummary:
    """The lytic (or sclerotic) parts of one lesion."""

    n_parts: int = 0
    volume_mm3: float = 0.0
    largest_mm3: float = 0.0
    mean_hu: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {"n_parts": self.n_parts, "volume_mm3": round(self.volume_mm3, 1),
                "largest_mm3": round(self.largest_mm3, 1),
                "mean_hu": None if self.mean_hu is None else round(self.mean_hu, 1)}


@dataclass
class KindEvidence:
    """Why a candidate got its kind."""

    kind: LesionKind
    lytic_fraction: float
    blastic_fraction: float
    reference_hu: float
    reference_sd_hu: float
    lytic_below_hu: float
    blastic_above_hu: float
    rule: str
    lytic_parts: PartsSummary = field(default_factory=PartsSummary)
    sclerotic_parts: PartsSummary = field(default_factory=PartsSummary)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "lytic_fraction": round(self.lytic_fraction, 3),
                "blastic_fraction": round(self.blastic_fraction, 3), "reference_hu": round(self.reference_hu, 1),
                "reference_sd_hu": round(self.reference_sd_hu, 1), "lytic_below_hu": round(self.lytic_below_hu, 1),
                "blastic_above_hu": round(self.blastic_above_hu, 1), "lytic_parts": self.lytic_parts.to_json(),
                "sclerotic_parts": self.sclerotic_parts.to_json(), "rule": self.rule}


def _parts(voxels: np.ndarray, hu: np.ndarray, min_voxels: int, voxel_mm3: float) -> tuple[np.ndarray, PartsSummary]:
    """Connected parts of ``voxels`` (a mask in the candidate's box) of at least ``min_voxels``: kept mask, summary."""
    from scipy import ndimage

    labels, n = ndimage.label(voxels, structure=np.ones((3, 3, 3), bool))
    if n == 0:
        return voxels, PartsSummary()
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    keep = sizes >= min_voxels
    kept = keep[labels]
    if not kept.any():
        return kept, PartsSummary()
    return kept, PartsSummary(n_parts=int(keep.sum()), volume_mm3=float(kept.sum()) * voxel_mm3,
                              largest_mm3=float(sizes.max()) * voxel_mm3, mean_hu=float(hu[kept].mean()))


def classify_candidate(candidate: Candidate, grid: BoneGrid, normal: NormalBone,
                       params: ClassifyParams = ClassifyParams()) -> KindEvidence:
    """The kind of one candidate with its evidence (see the module docstring)."""
    ref, sd, _ = normal.reference(candidate.label)
    box, mask = candidate.mask_box, candidate.mask
    hu = grid.hu[box]
    below = ref - max(params.lytic_z * sd, params.min_deficit_hu)
    above = ref + max(params.blastic_z * sd, params.min_excess_hu)
    lytic_mask, lytic = _parts(mask & (hu < below), hu, params.min_part_voxels, grid.voxel_mm3)
    sclerotic_mask, sclerotic = _parts(mask & (hu > above) & (grid.depth_mm[box] >= params.min_depth_mm), hu,
                                       params.min_part_voxels, grid.voxel_mm3)
    n = max(int(mask.sum()), 1)
    lytic_f = float(lytic_mask.sum()) / n
    blastic_f = float(sclerotic_mask.sum()) / n
    parts = (f"lytic parts {lytic.n_parts} ({lytic_f:.0%}, HU < {below:.0f}), "
             f"sclerotic parts {sclerotic.n_parts} ({blastic_f:.0%}, HU > {above:.0f})")
    if lytic_f >= params.mixed_lytic_fraction and blastic_f >= params.mixed_sclerotic_fraction:
        kind = LesionKind.MIXED
        rule = (f"lytic parts >= {params.mixed_lytic_fraction:.0%} and sclerotic parts >= "
                f"{params.mixed_sclerotic_fraction:.0%} of the lesion: {parts}")
    elif lytic_f == blastic_f == 0.0:  # faint: the direction of the smoothed departure decides
        kind = LesionKind.LYTIC if candidate.n_lytic_voxels >= candidate.n_blastic_voxels else LesionKind.BLASTIC
        rule = f"no lytic or sclerotic part; smoothed HU departs {'below' if kind is LesionKind.LYTIC else 'above'} normal"
    elif lytic_f >= blastic_f:
        kind, rule = LesionKind.LYTIC, f"lytic; not both parts large enough for mixed: {parts}"
    else:
        kind, rule = LesionKind.BLASTIC, f"blastic; not both parts large enough for mixed: {parts}"
    return KindEvidence(kind, lytic_f, blastic_f, ref, sd, below, above, rule + " (project heuristic)", lytic, sclerotic)
