"""Ground truth records of a synthetic case: lesions, the fracture, each vertebra's pose."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..io import geometry
from .anatomy_model import LevelGeometry

__all__ = ["LesionTruth", "FractureTruth", "VertebraTruth", "genant_grade", "lesion_truth",
           "fracture_truth", "vertebra_truth"]


@dataclass(frozen=True)
class LesionTruth:
    """One drawn lesion, measured on the final image."""

    id: int
    level: str
    kind: str
    site: str
    volume_mm3: float
    mean_hu: float
    centroid_lps: tuple[float, float, float]
    radius_mm: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"centroid_lps": list(self.centroid_lps)}


@dataclass(frozen=True)
class FractureTruth:
    """The compression fracture: heights as drawn and those expected from the neighbours (mm)."""

    level: str
    shape: str
    collapse_fraction: float
    genant_grade: int
    anterior_height_mm: float
    middle_height_mm: float
    posterior_height_mm: float
    expected_anterior_height_mm: float
    expected_middle_height_mm: float
    expected_posterior_height_mm: float
    #: Local AP offsets (mm from the body centre, + posterior) where the heights are taken.
    measured_at_v_mm: tuple[float, float, float]

    @property
    def height_loss(self) -> float:
        """Largest fractional loss of height (what the Genant grade is read from)."""
        pairs = ((self.anterior_height_mm, self.expected_anterior_height_mm),
                 (self.middle_height_mm, self.expected_middle_height_mm),
                 (self.posterior_height_mm, self.expected_posterior_height_mm))
        return max(1.0 - h / e for h, e in pairs)

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"measured_at_v_mm": list(self.measured_at_v_mm),
                               "height_loss": self.height_loss}


@dataclass(frozen=True)
class VertebraTruth:
    """Pose and nominal size of one drawn vertebra (its local frame, in LPS mm)."""

    level: str
    label: int
    center_lps: tuple[float, float, float]
    axis_lps: tuple[float, float, float]  # unit vector, superior along the vertebral axis
    posterior_lps: tuple[float, float, float]  # unit vector, posterior in the sagittal plane
    height_mm: float
    width_mm: float
    depth_mm: float

    def to_json(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def genant_grade(height_loss: float) -> int:
    """Genant semiquantitative grade: <20 % -> 0, 20-25 % -> 1, 25-40 % -> 2, >= 40 % -> 3."""
    if height_loss < 0.20:
        return 0
    if height_loss < 0.25:
        return 1
    if height_loss < 0.40:
        return 2
    return 3


def lesion_truth(records: list[dict], labels: np.ndarray, ct: np.ndarray, affine: np.ndarray) -> list[LesionTruth]:
    """Volume, mean HU and centroid of each lesion, measured through its label."""
    from scipy import ndimage

    voxel_mm3 = float(np.prod(geometry.spacing_of(affine)))
    boxes = ndimage.find_objects(labels)
    out = []
    for rec in records:
        box = boxes[rec["id"] - 1]
        mask = labels[box] == rec["id"]
        idx = np.argwhere(mask).mean(axis=0) + np.array([s.start for s in box])
        centroid = geometry.world_from_index(affine, idx)
        out.append(LesionTruth(
            id=rec["id"], level=rec["level"], kind=rec["kind"], site=rec["site"],
            volume_mm3=round(float(mask.sum()) * voxel_mm3, 3),
            mean_hu=round(float(ct[box][mask].mean()), 2),
            centroid_lps=tuple(round(float(c), 3) for c in centroid),  # type: ignore[arg-type]
            radius_mm=rec["radius_mm"],
        ))
    return out


def fracture_truth(column: list[LevelGeometry]) -> FractureTruth | None:
    """Heights of the fractured body against those of its intact neighbours (Genant)."""
    for i, geo in enumerate(column):
        if geo.fracture is None:
            continue
        neighbours = [column[j] for j in (i - 1, i + 1) if 0 <= j < len(column) and column[j].level != "S1"]
        v = (-geo.depth / 2 + 2.0, 0.0, geo.depth / 2 - 2.0)
        rel = [x / geo.depth for x in v]  # same relative positions on the neighbours
        heights = [geo.body_height_at(x) for x in v]
        if neighbours:
            expected = [float(np.mean([n.body_height_at(r * n.depth) for n in neighbours])) for r in rel]
        else:
            expected = [geo.height - 2 * (geo.height / 2 - geo.endplate_top(x, 0.0) - float(geo.collapse_top(x, 0.0)))
                        for x in v]
        loss = max(1.0 - h / e for h, e in zip(heights, expected))
        return FractureTruth(
            level=geo.level, shape=geo.fracture.shape, collapse_fraction=geo.fracture.collapse_fraction,
            genant_grade=genant_grade(loss),
            anterior_height_mm=round(heights[0], 3), middle_height_mm=round(heights[1], 3),
            posterior_height_mm=round(heights[2], 3), expected_anterior_height_mm=round(expected[0], 3),
            expected_middle_height_mm=round(expected[1], 3), expected_posterior_height_mm=round(expected[2], 3),
            measured_at_v_mm=v,
        )
    return None


def vertebra_truth(column: list[LevelGeometry]) -> list[VertebraTruth]:
    """Pose of each drawn vertebra (S1 included; the fused sacrum below is not listed)."""
    def tup(a: np.ndarray) -> tuple[float, float, float]:
        return (round(float(a[0]), 4), round(float(a[1]), 4), round(float(a[2]), 4))

    return [VertebraTruth(level=g.level, label=g.label, center_lps=tup(g.center), axis_lps=tup(g.u_dir),
                          posterior_lps=tup(g.v_dir), height_mm=g.height, width_mm=g.width, depth_mm=g.depth)
            for g in column]
