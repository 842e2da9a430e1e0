"""Which candidates are proposed as lesions; the others are kept, with the reason, for review.

A candidate is a departure from the patient's normal bone, and not every departure is a
deposit. Metastases reach the spine through the blood and grow in the red marrow of the
medulla; they are not thin shells of cortex. Two kinds of normal or degenerative bone
depart from the depth profile and are screened out (each rule is a project heuristic, chosen
on synthetic cases and the real series; see docs/lesions.md):

* **cortical band of the body**: a candidate lying mostly in a vertebral body (at least
  ``body_fraction`` of it, 50 %, in the body mask of :mod:`.regions` or anterior to the
  body's centre, where a vertebra holds nothing but body: this covers the endplate and
  scan-edge slices the body mask leaves out) of which less than ``min_medullary_fraction``
  (25 %) lies at least ``medulla_depth_mm`` (3 mm, the trabecular core of
  :mod:`.normal_bone`) below the bone surface does not reach the body's medulla:
  marginal sclerosis and osteophytes, endplate sclerosis, or partial volume with the
  disc at an endplate. In the thin posterior elements there is no such medulla and the
  rule does not apply;
* **symmetric dense bone**: a mostly sclerotic candidate away from the midline (less than
  ``max_mirror_overlap`` of it faces itself across the vertebra's midsagittal plane)
  whose mirror image is as dense (fewer than 10 % of its voxels exceed their mirror voxel
  by ``min_asymmetry_hu``) is paired normal anatomy (pedicle bases, costovertebral joints).

And one departure that is not focal at all: a candidate covering at least
``max_level_fraction`` (50 %) of its level's labelled bone means the whole level departs
from the normal bone estimated on it, either diffuse disease or labels that do not fit
the bone (a network's sacrum whose edge is not the bone surface did this). The detector
measures focal deposits against the level's own bone, so it cannot tell which: the
candidate is listed for review, not proposed.

Screened candidates are not proposed and get no label; :class:`ScreenedCandidate` keeps
where they are and why, so that the user can still look at them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..knobs import Knobs
from .bone_grid import BoneGrid
from .candidates import Candidate
from .normal_bone import CORE_MM, level_name
from .regions import VertebraRegions

__all__ = ["ScreenParams", "ScreenedCandidate", "body_share", "screen_candidate"]


@dataclass(frozen=True)
class ScreenParams(Knobs):
    body_fraction: float = 0.5
    medulla_depth_mm: float = CORE_MM
    min_medullary_fraction: float = 0.25
    max_mirror_overlap: float = 0.25
    min_asymmetry_hu: float = 150.0
    max_level_fraction: float = 0.5


@dataclass
class ScreenedCandidate:
    """A departure from normal bone that is not proposed as a lesion, and why."""

    level: str
    kind: str
    volume_mm3: float
    centroid_lps_mm: tuple[float, float, float]
    reason: str
    mean_hu: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {"level": self.level, "kind": self.kind, "volume_mm3": round(self.volume_mm3, 1),
                "mean_hu": None if self.mean_hu is None else round(self.mean_hu, 1),
                "centroid_lps_mm": [round(v, 2) for v in self.centroid_lps_mm], "reason": self.reason}


def body_share(candidate: Candidate, grid: BoneGrid, region: VertebraRegions | None) -> float | None:
    """Fraction of the candidate in its vertebra's body mask or anterior to the body's centre (None: no body)."""
    if region is None or region.body is None or not region.body.any():
        return None
    centre_y = float(np.dot(np.arange(region.body.shape[1]), region.body.sum(axis=(0, 2)))) / float(region.body.sum())
    # (array axis 1 runs anterior -> posterior: the body's centre row)
    box, mask = candidate.mask_box, candidate.mask
    y = np.arange(box[1].start, box[1].stop)[None, :, None]
    inside = region.body[box] | ((grid.labels[box] == candidate.label) & (y < centre_y))
    return float((inside & mask).sum()) / max(int(mask.sum()), 1)


def screen_candidate(candidate: Candidate, grid: BoneGrid, region: VertebraRegions | None,
                     params: ScreenParams = ScreenParams(), level_voxels: int | None = None) -> str | None:
    """The reason this candidate is not a lesion, or None when it is proposed.

    ``level_voxels``: voxels of the candidate's label in ``grid`` (counted here when not given).
    """
    if level_voxels is None:
        level_voxels = int((grid.labels == candidate.label).sum())
    share = float(candidate.mask.sum()) / max(level_voxels, 1)
    if share >= params.max_level_fraction:
        return (f"covers {share:.0%} of the {level_name(candidate.label)} bone: the whole level departs from the "
                "normal bone estimated on it (diffuse disease, or labels that do not fit the bone), not a focal "
                "lesion; review the level and its labels (project heuristic)")
    depth = grid.depth_mm[candidate.mask_box][candidate.mask]
    medullary = float((depth >= params.medulla_depth_mm).mean()) if depth.size else 0.0
    in_body = body_share(candidate, grid, region)
    if in_body is not None and in_body >= params.body_fraction and medullary < params.min_medullary_fraction:
        return (f"confined to the cortical band of the {level_name(candidate.label)} body: {medullary:.0%} of it "
                f"lies >= {params.medulla_depth_mm:g} mm below the surface (< {params.min_medullary_fraction:.0%}); "
                "marginal or endplate sclerosis, osteophyte or partial volume, not a marrow deposit (project heuristic)")
    if candidate.n_blastic_voxels > candidate.n_lytic_voxels:
        overlap, asym90 = candidate.mirror_overlap, candidate.asymmetry_p90_hu
        if overlap is not None and asym90 is not None and overlap < params.max_mirror_overlap \
                and asym90 < params.min_asymmetry_hu:
            return (f"dense bone mirrored across the {level_name(candidate.label)} midsagittal plane: 90% of it is "
                    f"within {params.min_asymmetry_hu:g} HU of its mirror voxel (90th centile {asym90:.0f} HU); "
                    "paired normal anatomy (project heuristic)")
    return None
