"""Per vertebra, the value of each metric an overlay can colour by, read from a Case.

* level: the vertebra's level name (categorical);
* SINS band: from the case's "SINS" findings at that level (the highest total when several
  lesions were scored), banded by :func:`napari_spine_mets.scores.sins.sins_band`;
* HU band: the level's trabecular HU (the "trabecular_hu" finding written by
  :func:`napari_spine_mets.measure.hu_roi.record_hu_in_case`, else the voxel-weighted mean
  of its trabecular ROIs), banded by :func:`napari_spine_mets.scores.hu_bands.hu_band`;
* lesion burden: the fraction of the vertebral body's voxels (the whole vertebra's when no
  parts map is given) labelled as lesion, rejected lesions left out; without a lesion map,
  the summed ``volume_mm3`` of the level's lesions over the vertebra's volume;
* nomogram risk: the predicted probability of a logistic model's finding at that level
  (:data:`napari_spine_mets.models.from_case.MODEL_FINDING`, or a name starting with
  "nomogram"; the highest when several). A prediction recorded for the whole case (no
  level) is not drawn on any vertebra: the legend says so.

A value that cannot be computed is None: the overlay shows it grey as "not computed",
never as a guess. No threshold is defined here: bands come from :mod:`..scores`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np

from ..anatomy import VertebraPart
from ..case_parts import Finding, Lesion, LesionKind, LesionStatus, Roi, RoiKind
from ..models.from_case import MODEL_FINDING
from ..scores.hu_bands import hu_band
from ..scores.sins import sins_band
from ..volume import LabelMap
from .inputs import OverlayInputs
from .vertebrae import VertebraGeometry, vertebra_geometry

__all__ = [
    "Metric",
    "METRIC_TITLES",
    "SINS_FINDING",
    "HU_FINDING",
    "NOMOGRAM_FINDING_PREFIX",
    "LevelValues",
    "OverlayValues",
    "sins_by_level",
    "hu_by_level",
    "nomogram_by_level",
    "lesion_kinds",
    "rejected_lesion_ids",
    "lesion_burden",
    "Burden",
    "burden_of",
    "overlay_values",
]

log = logging.getLogger(__name__)

#: Name of the SINS total's finding (:meth:`ScoreResult.to_findings` of :func:`scores.sins.sins`).
SINS_FINDING = "SINS"
#: Name of a level's trabecular HU finding (:func:`measure.hu_roi.record_hu_in_case`).
HU_FINDING = "trabecular_hu"
#: Findings whose name starts with this (any case) are read as nomogram probabilities.
NOMOGRAM_FINDING_PREFIX = "nomogram"


class Metric(str, Enum):
    """What the vertebrae are coloured by."""

    LEVEL = "level"
    SINS_BAND = "sins_band"
    HU_BAND = "hu_band"
    LESION_BURDEN = "lesion_burden"
    NOMOGRAM_RISK = "nomogram_risk"


#: The name each metric is shown under (combo box, legend title).
METRIC_TITLES: dict[Metric, str] = {
    Metric.LEVEL: "Level",
    Metric.SINS_BAND: "SINS band",
    Metric.HU_BAND: "HU band",
    Metric.LESION_BURDEN: "Lesion burden",
    Metric.NOMOGRAM_RISK: "Nomogram risk",
}


@dataclass
class LevelValues:
    """Everything the overlay shows for one vertebra; None = not computed."""

    label_id: int
    level: str
    hu: float | None = None
    sins: int | None = None
    lesion_burden: float | None = None
    nomogram_risk: float | None = None

    @property
    def sins_band(self) -> str | None:
        return None if self.sins is None else sins_band(self.sins)

    @property
    def hu_band(self) -> str | None:
        return None if self.hu is None else hu_band(self.hu)

    def value(self, metric: Metric) -> str | float | None:
        """The value coloured for ``metric``: a category (str) or a fraction 0-1 (float)."""
        return {
            Metric.LEVEL: self.level,
            Metric.SINS_BAND: self.sins_band,
            Metric.HU_BAND: self.hu_band,
            Metric.LESION_BURDEN: self.lesion_burden,
            Metric.NOMOGRAM_RISK: self.nomogram_risk,
        }[Metric(metric)]


@dataclass
class OverlayValues:
    """Per vertebra label id its values, the geometry they rest on, and notes for the legend."""

    levels: dict[int, LevelValues] = field(default_factory=dict)
    geometry: dict[int, VertebraGeometry] = field(default_factory=dict)
    #: What the lesion burden is a fraction of ("vertebral body" or "whole vertebra").
    burden_basis: str = ""
    notes: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------- findings
def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _level(finding: Finding) -> str | None:
    return finding.level.strip().upper() if isinstance(finding.level, str) and finding.level.strip() else None


def sins_by_level(findings: Iterable[Finding]) -> dict[str, int]:
    """Highest SINS total per level (several lesions at one level: the worst decides)."""
    out: dict[str, int] = {}
    for f in findings:
        level, total = _level(f), _number(f.value)
        if f.name.strip() != SINS_FINDING or level is None or total is None:
            continue
        if not float(total).is_integer():
            log.warning("SINS finding at %s has a non-integer total %r; ignored", level, f.value)
            continue
        out[level] = max(out.get(level, 0), int(total))
    return out


def hu_by_level(findings: Iterable[Finding], rois: Iterable[Roi] = ()) -> dict[str, float]:
    """Trabecular HU per level: the HU finding, else the voxel-weighted mean of the level's trabecular ROIs."""
    out: dict[str, float] = {}
    for f in findings:
        level, hu = _level(f), _number(f.value)
        if f.name == HU_FINDING and level is not None and hu is not None:
            out[level] = hu
    pooled: dict[str, list[tuple[float, float]]] = {}
    for roi in rois:
        level = roi.level.strip().upper() if roi.level else None
        mean = _number(roi.measurements.get("hu_mean"))
        if roi.kind != RoiKind.TRABECULAR_HU or level is None or level in out or mean is None:
            continue
        weight = _number(roi.measurements.get("hu_n_voxels")) or 0.0
        if weight > 0:
            pooled.setdefault(level, []).append((mean, weight))
    for level, pairs in pooled.items():
        total = sum(w for _, w in pairs)
        out[level] = sum(m * w for m, w in pairs) / total
    return out


def _probability(value: Any) -> float | None:
    if isinstance(value, dict):
        value = value.get("probability")
    p = _number(value)
    return p if p is not None and 0.0 <= p <= 1.0 else None


def nomogram_by_level(findings: Iterable[Finding]) -> tuple[dict[str, float], list[str]]:
    """Highest nomogram probability per level, and notes on results that are not per level."""
    out: dict[str, float] = {}
    notes: list[str] = []
    for f in findings:
        name = f.name.strip()
        is_model = name == MODEL_FINDING
        if not (is_model or name.lower().startswith(NOMOGRAM_FINDING_PREFIX)) or name.endswith(": flag"):
            continue
        level, p = _level(f), _probability(f.value)
        if p is None:
            if not (is_model and isinstance(f.value, dict)):  # a survival model's curve is not a risk
                log.warning("finding %r has no probability between 0 and 1 (%r); ignored", f.name, f.value)
            continue
        if level is None:
            notes.append(f"{f.name} = {p:.2f} is for the whole case, not one vertebra: not drawn on the vertebrae")
            continue
        out[level] = max(out.get(level, 0.0), p)
    return out, notes


# ----------------------------------------------------------------------------- lesions
def lesion_kinds(lesions_map: LabelMap | None, lesions: Iterable[Lesion] = ()) -> dict[int, LesionKind]:
    """Lesion type per lesion label id: the case's Lesion records, else the label names.

    Label names follow the detection and synthetic writers, ``lesion_<id>_<level>_<kind>``;
    a name without a known kind gives "unknown".
    """
    kinds = {k.value: k for k in LesionKind}
    out: dict[int, LesionKind] = {}
    if lesions_map is not None:
        for label_id, name in lesions_map.names.items():
            tokens = str(name).lower().replace("-", "_").split("_")
            found = [kinds[t] for t in tokens if t in kinds]
            out[int(label_id)] = found[-1] if found else LesionKind.UNKNOWN
    for lesion in lesions:
        out[int(lesion.id)] = LesionKind(lesion.kind)
    return out


def rejected_lesion_ids(lesions: Iterable[Lesion]) -> set[int]:
    """Ids of lesions a user dismissed: not counted in any burden."""
    return {int(lesion.id) for lesion in lesions if lesion.status == LesionStatus.REJECTED}


def lesion_burden(geometry: dict[int, VertebraGeometry], vertebrae: LabelMap, lesions_map: LabelMap, *,
                  parts: LabelMap | None = None, exclude: Iterable[int] = ()) -> tuple[dict[int, float], str]:
    """Fraction of each vertebral body (or whole vertebra without ``parts``) labelled as lesion.

    Returns the fractions by vertebra label id and the basis ("vertebral body" or "whole
    vertebra"); a vertebra without body voxels in ``parts`` falls back to the whole vertebra.
    """
    excluded = np.asarray(sorted(int(i) for i in exclude), dtype=np.int64)
    out: dict[int, float] = {}
    bases: set[str] = set()
    for label_id, geo in geometry.items():
        box = geo.bbox
        region = np.asarray(vertebrae.array[box]) == label_id
        basis = "whole vertebra"
        if parts is not None:
            body = region & (np.asarray(parts.array[box]) == VertebraPart.BODY)
            if body.any():
                region, basis = body, "vertebral body"
        lesion = np.asarray(lesions_map.array[box])
        hit = lesion > 0
        if excluded.size:
            hit &= ~np.isin(lesion, excluded)
        n = int(region.sum())
        if n:
            out[label_id] = float((hit & region).sum()) / n
            bases.add(basis)
    return out, (bases.pop() if len(bases) == 1 else "vertebral body where known, else whole vertebra")


def _burden_from_records(geometry: dict[int, VertebraGeometry], lesions: Iterable[Lesion]) -> dict[int, float]:
    """Without a lesion map: summed lesion volume over vertebra volume (clipped to 1)."""
    by_level: dict[str, float] = {}
    seen: set[str] = set()
    for lesion in lesions:
        if lesion.level and lesion.status != LesionStatus.REJECTED:
            level = lesion.level.strip().upper()
            seen.add(level)
            if lesion.volume_mm3 is not None:
                by_level[level] = by_level.get(level, 0.0) + float(lesion.volume_mm3)
    out: dict[int, float] = {}
    for label_id, geo in geometry.items():
        if geo.level in by_level and geo.volume_mm3 > 0:
            out[label_id] = min(1.0, by_level[geo.level] / geo.volume_mm3)
    return out


@dataclass
class Burden:
    """Lesion burden per vertebra label id (fraction 0-1), what it is a fraction of, and why missing."""

    fractions: dict[int, float] = field(default_factory=dict)
    basis: str = ""
    notes: list[str] = field(default_factory=list)


def burden_of(inputs: OverlayInputs, geometry: dict[int, VertebraGeometry], lesions: Iterable[Lesion] = ()) -> Burden:
    """Lesion burden from the lesion map (voxels), else from the lesion records' volumes."""
    lesions = list(lesions)
    if inputs.vertebrae is not None and inputs.lesions is not None:
        fractions, basis = lesion_burden(geometry, inputs.vertebrae, inputs.lesions, parts=inputs.parts,
                                         exclude=rejected_lesion_ids(lesions))
        return Burden(fractions, basis)
    if any(lesion.volume_mm3 is not None and lesion.level for lesion in lesions):
        return Burden(_burden_from_records(geometry, lesions), "whole vertebra (summed lesion volumes; no lesion map)")
    return Burden(notes=["no lesion map or lesion volumes: lesion burden not computed"])


# ----------------------------------------------------------------------------- all together
def overlay_values(inputs: OverlayInputs, *, findings: Iterable[Finding] = (), rois: Iterable[Roi] = (),
                   lesions: Iterable[Lesion] = (),
                   geometry: dict[int, VertebraGeometry] | None = None,
                   burden: Burden | None = None) -> OverlayValues:
    """Every metric for every vertebra of ``inputs.vertebrae``.

    ``geometry`` and ``burden`` may be passed when already computed for the same label maps
    and lesions (they depend on the voxels, not on the findings), so a change of findings
    or ROIs is cheap.
    """
    if inputs.vertebrae is None:
        return OverlayValues(notes=["no vertebra labels: nothing to colour"])
    findings, rois, lesions = list(findings), list(rois), list(lesions)
    geo = geometry if geometry is not None else vertebra_geometry(inputs.vertebrae)
    if burden is None:
        burden = burden_of(inputs, geo, lesions)
    sins = sins_by_level(findings)
    hu = hu_by_level(findings, rois)
    risk, risk_notes = nomogram_by_level(findings)
    levels = {
        label_id: LevelValues(label_id=label_id, level=g.level, hu=hu.get(g.level), sins=sins.get(g.level),
                              lesion_burden=burden.fractions.get(label_id), nomogram_risk=risk.get(g.level))
        for label_id, g in geo.items()
    }
    return OverlayValues(levels=levels, geometry=geo, burden_basis=burden.basis, notes=[*burden.notes, *risk_notes])
