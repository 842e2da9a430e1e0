"""Compression-fracture assessment per vertebra: height loss against the neighbours, Genant grade.

Heights are measured on the body mask along the vertebra's own axis (the spine's local
tangent: the line from the body centroid below to the one above), as the extent of bone in
each 1 mm cell across it, in three bands of the body's anterior-posterior depth: anterior
(5-20 %), middle (42-58 %) and posterior (80-95 %), central third of the width (the lateral
edges are rounded). Each height is the band's median over its cells. The
expected heights are the median of the same heights in the nearest *normal* levels above
and below (a first pass finds levels with >= 20 % loss against their neighbours and leaves
them out as references). Height loss = 1 - height / expected; the largest of the three
gives the grade.

Genant semi-quantitative grading (Genant HK, Wu CY, van Kuijk C, Nevitt MC. Vertebral
fracture assessment using a semiquantitative technique. J Bone Miner Res
1993;8(9):1137-1148): grade 0 < 20 % height reduction, grade 1 (mild) 20-25 %, grade 2
(moderate) 25-40 %, grade 3 (severe) > 40 %. A graded body holding a detected lesion is
flagged *possibly pathologic* (decision support: osteoporotic and malignant collapse can
coexist). Band positions are project heuristics. Truncated bodies and S1 are not graded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..anatomy import LEVELS
from ..morphology import largest_piece
from .regions import VertebraRegions

__all__ = ["VertebraFracture", "band_heights", "genant_grade", "assess_fractures", "GENANT_SOURCE"]

GENANT_SOURCE = ("Genant HK, Wu CY, van Kuijk C, Nevitt MC. Vertebral fracture assessment using a semiquantitative "
                 "technique. J Bone Miner Res 1993;8(9):1137-1148")
_BANDS = {"anterior": (0.05, 0.20), "middle": (0.42, 0.58), "posterior": (0.80, 0.95)}


@dataclass
class VertebraFracture:
    level: str
    heights_mm: dict[str, float | None] = field(default_factory=dict)
    expected_mm: dict[str, float | None] = field(default_factory=dict)
    loss: dict[str, float | None] = field(default_factory=dict)
    max_loss: float | None = None
    genant_grade: int | None = None
    pathologic: bool = False
    lesion_ids: list[int] = field(default_factory=list)
    reference_levels: list[str] = field(default_factory=list)
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        r = (lambda v: None if v is None else round(float(v), 3))
        return {"level": self.level, "heights_mm": {k: r(v) for k, v in self.heights_mm.items()},
                "expected_mm": {k: r(v) for k, v in self.expected_mm.items()},
                "height_loss": {k: r(v) for k, v in self.loss.items()}, "max_height_loss": r(self.max_loss),
                "genant_grade": self.genant_grade, "possibly_pathologic": self.pathologic,
                "lesion_ids": list(self.lesion_ids), "reference_levels": list(self.reference_levels),
                "note": self.note, "source": GENANT_SOURCE}


def genant_grade(loss: float) -> int:
    """Genant 1993: < 20 % -> 0, 20-25 % -> 1, 25-40 % -> 2, > 40 % -> 3."""
    if loss < 0.20:
        return 0
    if loss < 0.25:
        return 1
    if loss <= 0.40:
        return 2
    return 3


def _axes(centroids: dict[str, np.ndarray], level: str) -> tuple[np.ndarray, np.ndarray]:
    """(superior, posterior) unit vectors of a body in (z, y, x) mm: the spine's local tangent."""
    order = [lv for lv in LEVELS if lv in centroids]
    i = order.index(level)
    above, below = order[max(i - 1, 0)], order[min(i + 1, len(order) - 1)]
    axis = centroids[above] - centroids[below]
    if above == below or np.linalg.norm(axis) < 1e-6 or axis[0] <= 0:
        axis = np.array([1.0, 0.0, 0.0])
    axis = axis / np.linalg.norm(axis)
    posterior = np.array([0.0, 1.0, 0.0]) - axis[1] * axis  # AP direction with the tilt taken out
    return axis, posterior / np.linalg.norm(posterior)


def band_heights(body: np.ndarray, spacing: tuple[float, float, float], axis: np.ndarray | None = None,
                 posterior: np.ndarray | None = None, cell_mm: float = 1.0) -> dict[str, float | None]:
    """Anterior/middle/posterior heights (mm) of a body mask (z, y, x) measured along ``axis``.

    The body's voxels are put in a frame tilted with the vertebra (``axis`` superior,
    ``posterior`` AP, both in (z, y, x) mm); in each 1 mm (AP x LR) cell the height is the
    extent of bone along the axis; a band's height is the median over its cells.
    """
    out: dict[str, float | None] = {k: None for k in _BANDS}
    if body is None or not body.any():
        return out
    body = largest_piece(body)  # a few stray voxels behind the body would stretch its bands
    axis = np.array([1.0, 0.0, 0.0]) if axis is None else axis
    posterior = np.array([0.0, 1.0, 0.0]) if posterior is None else posterior
    points = np.argwhere(body).astype(np.float32) * np.asarray(spacing, dtype=np.float32)
    u = points @ axis.astype(np.float32)
    v = points @ posterior.astype(np.float32)
    w = points[:, 2]
    vi = np.floor((v - v.min()) / cell_mm).astype(np.int64)
    wi = np.floor((w - w.min()) / cell_mm).astype(np.int64)
    key = vi * (int(wi.max()) + 1) + wi
    order = np.argsort(key, kind="stable")
    key, u = key[order], u[order]
    starts = np.r_[0, np.nonzero(np.diff(key))[0] + 1]
    heights = np.maximum.reduceat(u, starts) - np.minimum.reduceat(u, starts) + float(spacing[0] * abs(axis[0])
                                                                                      + spacing[1] * abs(axis[1]))
    cells = key[starts]
    cv, cw = cells // (int(wi.max()) + 1), cells % (int(wi.max()) + 1)
    depth = int(cv.max()) + 1
    for name, (a, b) in _BANDS.items():
        in_band = (cv >= a * depth) & (cv < max(b * depth, a * depth + 1))
        if not in_band.any():
            continue
        ws = cw[in_band]
        lo, hi = ws.min(), ws.max()
        central = in_band & (cw >= lo + (hi - lo) / 3) & (cw <= lo + 2 * (hi - lo) / 3)
        values = heights[central] if central.any() else heights[in_band]
        out[name] = float(np.median(values))
    return out


def _losses(h: dict[str, float | None], e: dict[str, float | None]) -> dict[str, float | None]:
    return {k: (None if h.get(k) is None or not e.get(k) else max(0.0, 1.0 - h[k] / e[k])) for k in _BANDS}


def _expected(level: str, heights: dict[str, dict[str, float | None]], exclude: set[str]) -> tuple[dict[str, float | None], list[str]]:
    i = LEVELS.index(level)
    refs: list[str] = []
    for step in (1, 2):
        for j in (i - step, i + step):
            if 0 <= j < len(LEVELS) and LEVELS[j] in heights and LEVELS[j] not in exclude and LEVELS[j] != "S1":
                refs.append(LEVELS[j])
        if len(refs) >= 2:
            break
    expected = {}
    for k in _BANDS:
        values = [heights[r][k] for r in refs if heights[r][k] is not None]
        expected[k] = float(np.median(values)) if values else None
    return expected, refs


def assess_fractures(regions: dict[int, VertebraRegions], spacing: tuple[float, float, float],
                     lesion_levels: dict[str, list[int]]) -> list[VertebraFracture]:
    """Fracture record per vertebra with a usable body, cranial to caudal."""
    heights: dict[str, dict[str, float | None]] = {}
    notes: dict[str, str] = {}
    scale = np.asarray(spacing, dtype=float)
    centroids = {r.level: np.argwhere(r.body).mean(axis=0) * scale for r in regions.values()
                 if r.body is not None and r.body.any()}
    for r in regions.values():
        if r.body is None or not r.body.any():
            notes[r.level] = "no vertebral body found: not graded"
        elif r.body_truncated:
            notes[r.level] = "body reaches the edge of the scan: not graded"
        else:
            heights[r.level] = band_heights(r.body, spacing, *_axes(centroids, r.level))
    abnormal: set[str] = set()
    for level in heights:  # first pass: who is collapsed against their neighbours?
        exp, refs = _expected(level, heights, set())
        losses = [v for v in _losses(heights[level], exp).values() if v is not None]
        if refs and losses and max(losses) >= 0.20:
            abnormal.add(level)
    out = []
    for level in sorted({r.level for r in regions.values()}, key=LEVELS.index):
        rec = VertebraFracture(level=level, lesion_ids=sorted(lesion_levels.get(level, [])), note=notes.get(level, ""))
        if level in heights and level != "S1":
            exp, refs = _expected(level, heights, abnormal - {level})
            rec.heights_mm, rec.expected_mm, rec.reference_levels = heights[level], exp, refs
            rec.loss = _losses(heights[level], exp)
            valid = [v for v in rec.loss.values() if v is not None]
            if refs and valid:
                rec.max_loss = max(valid)
                rec.genant_grade = genant_grade(rec.max_loss)
                rec.pathologic = rec.genant_grade >= 1 and bool(rec.lesion_ids)
            else:
                rec.note = rec.note or "no normal neighbouring level to compare with: not graded"
        elif level == "S1":
            rec.note = "S1 is not graded (no compression fracture model)"
        out.append(rec)
    return out
