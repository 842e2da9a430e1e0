"""One record per lesion: where, what kind, how big, how much of the body and arch it takes.

Body involvement is lesion voxels in the body / body voxels (SINS "more than 50 % of the
body involved"); posterolateral involvement per side is lesion voxels in that side's
pedicle/facet region / that region's voxels (read by
:func:`napari_spine_mets.scores.sins.propose_posterolateral`, whose 5 % cut-off is a
project heuristic). Confidence is an *uncalibrated* 0-1 score from the lesion's contrast
and size (project heuristic): it ranks candidates for review, it is not a probability.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..case_parts import HuStats, Lesion, LesionKind, LesionStatus
from ..io.geometry import world_from_index
from .bone_grid import BoneGrid
from .candidates import Candidate, CandidateParams
from .classify import KindEvidence
from .normal_bone import level_name
from .regions import VertebraRegions

__all__ = ["LesionRecord", "describe_candidate", "confidence_score", "SOURCE"]

SOURCE = "napari-spine-mets lesion detector 1.1 (HU vs the patient's normal bone)"


@dataclass
class LesionRecord:
    """A lesion as the user reviews it: the case's :class:`Lesion` plus the measurements behind it."""

    lesion: Lesion
    evidence: KindEvidence | None
    centroid_lps_mm: tuple[float, float, float]
    body_fraction: float | None
    posterolateral_left: float | None
    posterolateral_right: float | None
    fraction_in_body: float | None
    labels_touched: dict[str, int] = field(default_factory=dict)
    peak_z: float | None = None

    def to_json(self) -> dict[str, Any]:
        les = self.lesion
        r3 = (lambda v: None if v is None else round(float(v), 3))
        return {
            "id": les.id, "level": les.level, "kind": les.kind.value, "status": les.status.value,
            "volume_mm3": None if les.volume_mm3 is None else round(les.volume_mm3, 1),
            "hu": {"mean": r3(les.hu.mean), "sd": r3(les.hu.sd), "median": r3(les.hu.median),
                   "min": r3(les.hu.minimum), "max": r3(les.hu.maximum), "n_voxels": les.hu.n_voxels},
            "body_fraction_involved": r3(self.body_fraction),
            "fraction_of_lesion_in_body": r3(self.fraction_in_body),
            "posterolateral_fraction": {"left": r3(self.posterolateral_left), "right": r3(self.posterolateral_right)},
            "centroid_lps_mm": [round(v, 2) for v in self.centroid_lps_mm],
            "confidence": r3(les.confidence), "confidence_note": "uncalibrated ranking score (project heuristic)",
            "peak_departure_sd": r3(self.peak_z),
            "kind_evidence": None if self.evidence is None else self.evidence.to_json(),
            "labels_touched": dict(self.labels_touched), "source": les.source, "notes": les.notes,
        }


def confidence_score(mean_abs_z: float, volume_mm3: float, params: CandidateParams = CandidateParams()) -> float:
    """Uncalibrated 0-1 score: higher for stronger contrast and larger volume (project heuristic)."""
    contrast = 1.0 / (1.0 + np.exp(-(mean_abs_z - params.seed_z)))
    size = 1.0 - np.exp(-volume_mm3 / (4.0 * params.min_volume_mm3))
    return float(np.clip(contrast * size, 0.0, 1.0))


def hu_stats(values: np.ndarray) -> HuStats:
    v = values.astype(np.float64)
    return HuStats(mean=float(v.mean()), sd=float(v.std(ddof=1)) if v.size > 1 else 0.0, median=float(np.median(v)),
                   minimum=float(v.min()), maximum=float(v.max()), n_voxels=int(v.size))


def describe_candidate(lesion_id: int, candidate: Candidate, evidence: KindEvidence | None, grid: BoneGrid,
                       regions: dict[int, VertebraRegions], affine: np.ndarray,
                       status: LesionStatus = LesionStatus.PROPOSED, source: str = SOURCE) -> LesionRecord:
    """Measure one candidate (its mask lies in ``candidate.mask_box`` of the cropped grid)."""
    box, mask = candidate.mask_box, candidate.mask
    n = int(mask.sum())
    volume = n * grid.voxel_mm3
    offset = np.array([s.start + b.start for s, b in zip(box, grid.box)], dtype=float)
    centroid = world_from_index(affine, np.argwhere(mask).mean(axis=0) + offset)
    region = regions.get(candidate.label)
    body_fraction = in_body = left = right = None
    notes = []
    if region is not None:
        if region.body is not None and region.body.any():
            in_b = int((region.body[box] & mask).sum())
            body_fraction = in_b / int(region.body.sum())
            in_body = in_b / max(n, 1)
        else:
            notes.append("no vertebral body found for this level: body involvement not measured")
        left = float((region.left[box] & mask).sum()) / max(int(region.left.sum()), 1) if region.left.any() else None
        right = float((region.right[box] & mask).sum()) / max(int(region.right.sum()), 1) if region.right.any() else None
    touched = {level_name(k): v for k, v in candidate.labels_touched.items()}
    if len(touched) > 1:
        notes.append(f"crosses labels {', '.join(touched)}; assigned to the level holding most of it")
    lesion = Lesion(
        id=lesion_id, level=level_name(candidate.label), kind=evidence.kind if evidence else LesionKind.UNKNOWN,
        volume_mm3=float(volume), hu=hu_stats(grid.hu[box][mask]), status=status,
        confidence=confidence_score(candidate.mean_abs_z, volume), source=source, notes="; ".join(notes),
    )
    return LesionRecord(lesion, evidence, tuple(float(c) for c in centroid), body_fraction, left, right, in_body,
                        touched, candidate.peak_z)
