"""Text labels for the vertebrae: where each sits (its centroid, world mm) and what it says.

A label reads "T12 · 148 HU · SINS 9": the level, then only what was computed (nothing
is shown as a guess). When the vertebrae are coloured by lesion burden or nomogram risk,
that value is added, so the number behind a colour is always on screen.

In a 2D view napari shows a point only on the slice that holds it; a centroid would then
be labelled on one slice in a hundred. :func:`follow_slice` keeps each label on screen
on every slice that cuts its vertebra (its bounding box), at the centroid's in-plane
position; in 3D the labels sit at the centroids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .metrics import LevelValues, Metric, OverlayValues

__all__ = ["SEPARATOR", "MIN_SEPARATION_MM", "BRIGHT_BACKDROP", "text_colour", "text_anchor", "FRONT_GAP_MM", "VertebraText", "label_text",
           "vertebra_texts", "follow_slice"]

SEPARATOR = " · "
#: In a 2D view, two labels closer than this (mm, in the view's plane) are not both shown.
MIN_SEPARATION_MM = 20.0
#: In a 2D view showing the anterior-posterior axis, labels sit this far in front of their
#: vertebra, clear of the body itself, its HU ROIs and their own labels.
FRONT_GAP_MM = 6.0
_AP_AXIS = 1  # world (z, y, x) = LPS reversed: y grows towards the back
#: Display heuristic (not a clinical value): a backdrop drawn brighter than this fraction of
#: the grey scale gets black text, a darker one white text.
BRIGHT_BACKDROP = 0.6


@dataclass(frozen=True)
class VertebraText:
    """One vertebra's label: anchor (centroid) and bounding box in world (z, y, x) mm, and its text."""

    label_id: int
    level: str
    anchor_world: tuple[float, float, float]
    lo_world: tuple[float, float, float]
    hi_world: tuple[float, float, float]
    text: str


def _percent(fraction: float) -> str:
    return f"{fraction:.0%}".replace("%", " %")


def label_text(values: LevelValues, metric: Metric | str | None = None) -> str:
    """"T12 · 148 HU · SINS 9" (+ the burden or risk when coloured by it); missing parts left out."""
    parts = [values.level]
    if values.hu is not None:
        parts.append(f"{values.hu:.0f} HU")
    if values.sins is not None:
        parts.append(f"SINS {values.sins}")
    metric = Metric(metric) if metric is not None else None
    if metric is Metric.LESION_BURDEN and values.lesion_burden is not None:
        parts.append(f"lesion {_percent(values.lesion_burden)}")
    if metric is Metric.NOMOGRAM_RISK and values.nomogram_risk is not None:
        parts.append(f"risk {_percent(values.nomogram_risk)}")
    return SEPARATOR.join(parts)


def text_colour(backdrop_value: float | None, contrast_limits: Sequence[float]) -> str:
    """"black" over a backdrop the window draws bright (bone in a soft-tissue window), else "white"."""
    if backdrop_value is None:
        return "white"
    low, high = (float(v) for v in contrast_limits)
    brightness = (float(backdrop_value) - low) / (high - low) if high > low else 0.0
    return "black" if brightness > BRIGHT_BACKDROP else "white"


def vertebra_texts(values: OverlayValues, metric: Metric | str | None = None) -> list[VertebraText]:
    """One label per vertebra with geometry, cranial to caudal."""
    out = []
    for label_id, geo in values.geometry.items():
        v = values.levels.get(label_id) or LevelValues(label_id=label_id, level=geo.level)
        out.append(VertebraText(label_id=label_id, level=geo.level, anchor_world=geo.centroid_world,
                                lo_world=geo.lo_world, hi_world=geo.hi_world, text=label_text(v, metric)))
    return out


def text_anchor(displayed: Sequence[int]) -> str:
    """napari text anchor for a view showing axes ``displayed`` (world z, y, x = 0, 1, 2).

    Labels sit in front of their vertebra; where front-to-back runs across the screen
    (sagittal), the text ends at that point instead of being centred on it, so a long
    label ("T12 · 151 HU · SINS 8") does not run back over the body.
    """
    in_view = [int(a) % 3 for a in displayed]
    if len(in_view) == 2 and in_view[-1] == _AP_AXIS:
        return "upper_right"
    return "center"


def follow_slice(texts: Sequence[VertebraText], displayed: Sequence[int], point_world: Sequence[float],
                 min_separation_mm: float = MIN_SEPARATION_MM) -> tuple[np.ndarray, np.ndarray]:
    """Positions (N, 3) and shown flags (N,) of the labels for a view showing axes ``displayed``.

    On each axis not displayed, a label is shown when the slice (``point_world``) lies inside
    its vertebra's bounding box, and placed on that slice; on displayed axes it sits at the
    centroid, except front-to-back, where it sits ``FRONT_GAP_MM`` in front of the vertebra
    (axial and sagittal views: beside the body, not over it and its HU ROIs). Bounding boxes of neighbours overlap (processes slope over the next level), so
    of two labels closer than ``min_separation_mm`` in the view only the one whose centroid
    is nearer the slice is kept. With all three axes displayed (3D) every label is shown at
    its centroid.
    """
    centroids = np.array([t.anchor_world for t in texts], dtype=float).reshape(-1, 3)
    anchors = centroids.copy()
    shown = np.ones(len(anchors), dtype=bool)
    point = np.asarray(point_world, dtype=float)[-3:]
    in_view = sorted({int(a) % 3 for a in displayed})
    sliced = [axis for axis in range(3) if axis not in in_view]
    if not sliced:
        return anchors, shown
    for axis in sliced:
        lo = np.array([t.lo_world[axis] for t in texts], dtype=float)
        hi = np.array([t.hi_world[axis] for t in texts], dtype=float)
        shown &= (lo <= point[axis]) & (point[axis] <= hi)
        anchors[:, axis] = point[axis]
    if _AP_AXIS in in_view:  # in front of the vertebra, not over the body
        anchors[:, _AP_AXIS] = np.array([t.lo_world[_AP_AXIS] for t in texts], dtype=float) - FRONT_GAP_MM
    distance = np.linalg.norm(centroids[:, sliced] - point[sliced], axis=1)
    kept: list[int] = []
    for i in sorted(np.nonzero(shown)[0], key=lambda j: distance[j]):
        if all(np.linalg.norm(centroids[i, in_view] - centroids[k, in_view]) >= min_separation_mm for k in kept):
            kept.append(int(i))
    shown[:] = False
    shown[kept] = True
    return anchors, shown
