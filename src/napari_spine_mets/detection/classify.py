"""Lytic, blastic or mixed, from the HU of the voxels inside each candidate (numbers kept).

Evidence is counted on the *unsmoothed* HU, because smoothing averages the lytic and
sclerotic parts of a mixed deposit into something in between:

* lytic voxel: HU below the level's trabecular reference by more than ``voxel_z`` (3)
  robust SDs of normal trabecular HU and by at least ``min_deficit_hu`` (40 HU);
* blastic voxel: HU above the reference by more than ``voxel_z`` SDs and by at least
  ``min_excess_hu`` (150 HU), at least ``min_depth_mm`` (1 mm) inside the bone surface
  (the cortex itself is dense by nature).

Kind: *mixed* when both fractions reach ``mixed_fraction`` (3 %; pure synthetic lesions hold
< 0.2 % of the other kind, mixed ones 0-54 %), otherwise the larger
one wins. These cut-offs are project heuristics tuned on synthetic cases, not published
thresholds: SINS (Fisher 2010) defines the categories lytic / mixed / blastic but gives
no HU rule. The fractions and the mean HU are kept so the user sees why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


from ..case_parts import LesionKind
from .bone_grid import BoneGrid
from .candidates import Candidate
from .normal_bone import NormalBone

__all__ = ["ClassifyParams", "KindEvidence", "classify_candidate"]


@dataclass(frozen=True)
class ClassifyParams:
    voxel_z: float = 3.0
    min_deficit_hu: float = 40.0
    min_excess_hu: float = 150.0
    min_depth_mm: float = 1.0
    mixed_fraction: float = 0.03

    def to_json(self) -> dict[str, float]:
        return {k: float(v) for k, v in self.__dict__.items()}


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

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "lytic_fraction": round(self.lytic_fraction, 3),
                "blastic_fraction": round(self.blastic_fraction, 3), "reference_hu": round(self.reference_hu, 1),
                "reference_sd_hu": round(self.reference_sd_hu, 1), "lytic_below_hu": round(self.lytic_below_hu, 1),
                "blastic_above_hu": round(self.blastic_above_hu, 1), "rule": self.rule}


def classify_candidate(candidate: Candidate, grid: BoneGrid, normal: NormalBone,
                       params: ClassifyParams = ClassifyParams()) -> KindEvidence:
    """The kind of one candidate with its evidence (see the module docstring)."""
    ref, sd, _ = normal.reference(candidate.label)
    hu = grid.hu[candidate.mask_box][candidate.mask]
    depth = grid.depth_mm[candidate.mask_box][candidate.mask]
    below = ref - max(params.voxel_z * sd, params.min_deficit_hu)
    above = ref + max(params.voxel_z * sd, params.min_excess_hu)
    n = max(int(hu.size), 1)
    lytic = float((hu < below).sum()) / n
    blastic = float(((hu > above) & (depth >= params.min_depth_mm)).sum()) / n
    if lytic >= params.mixed_fraction and blastic >= params.mixed_fraction:
        kind = LesionKind.MIXED
        rule = f"both lytic ({lytic:.0%}) and blastic ({blastic:.0%}) voxels >= {params.mixed_fraction:.0%}"
    elif lytic >= blastic:
        kind = LesionKind.LYTIC
        rule = f"lytic voxels {lytic:.0%} (HU < {below:.0f}); blastic {blastic:.0%} < {params.mixed_fraction:.0%}"
    else:
        kind = LesionKind.BLASTIC
        rule = f"blastic voxels {blastic:.0%} (HU > {above:.0f}); lytic {lytic:.0%} < {params.mixed_fraction:.0%}"
    return KindEvidence(kind, lytic, blastic, ref, sd, below, above, rule + " (project heuristic)")
