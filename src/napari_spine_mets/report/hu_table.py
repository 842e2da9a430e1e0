"""The per-level trabecular HU table: mean, SD and voxel count, band, flags and caveats.

Figures come from the case's trabecular HU ROIs (``RoiKind.TRABECULAR_HU``, written by
:func:`~napari_spine_mets.measure.hu_roi.record_hu_in_case`): the slice ROIs of a level
are pooled (mean and sample SD of all their voxels, from each slice's mean, SD and
count), which equals the level's combined figure up to the rounding of the stored
slice figures. Problems and caveats are those the measurement recorded in its
``trabecular_hu`` finding; the band is :func:`~napari_spine_mets.scores.hu_bands.hu_band`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..case import Case
from ..case_parts import Finding, Origin, Roi, RoiKind
from .model import NOT_COMPUTED, ReportTable
from .text import DASH, level_key

__all__ = ["PooledHu", "pool_slices", "hu_level_table", "trabecular_rois", "HU_FLAG_NAMES"]

#: Findings written beside the trabecular HU (shown in the flags column, not with the scores).
HU_FLAG_NAMES = ("screw_failure_risk", "l1_osteoporosis_band")


@dataclass(frozen=True)
class PooledHu:
    mean: float
    sd: float | None
    n_voxels: int


def pool_slices(parts: list[tuple[float, float | None, int]]) -> PooledHu | None:
    """Mean and sample SD of the union of slices given as (mean, sample SD, count)."""
    parts = [(m, s, n) for m, s, n in parts if m is not None and n]
    total = sum(n for _, _, n in parts)
    if not total:
        return None
    mean = sum(m * n for m, _, n in parts) / total
    if total < 2 or any(s is None and n > 1 for _, s, n in parts):
        return PooledHu(mean, None, total)
    squares = sum((n - 1) * (s or 0.0) ** 2 + n * (m - mean) ** 2 for m, s, n in parts)
    return PooledHu(mean, math.sqrt(squares / (total - 1)), total)


def trabecular_rois(case: Case) -> list[Roi]:
    return [r for r in case.rois if r.kind == RoiKind.TRABECULAR_HU]


def hu_level_table(case: Case) -> ReportTable:
    """One row per level with trabecular HU ROIs or a trabecular HU finding (else a 'not computed' row)."""
    from ..scores.hu_bands import CITATION, hu_band

    rois: dict[str, list[Roi]] = {}
    for roi in trabecular_rois(case):
        rois.setdefault(roi.level or "?", []).append(roi)
    findings = {f.level or "?": f for f in case.findings if f.name == "trabecular_hu"}
    flags: dict[str, list[Finding]] = {}
    for f in case.findings:
        if f.name in HU_FLAG_NAMES and f.value is True:
            flags.setdefault(f.level or "?", []).append(f)
    table = ReportTable(
        key="per_level_hu", title="Trabecular bone HU per level",
        columns=["Level", "Mean HU", "SD HU", "Voxels", "ROIs", "Band", "Flags", "Caveats"],
        widths=[0.7, 0.7, 0.6, 0.8, 1.5, 1.35, 2.1, 3.0])
    levels = sorted(set(rois) | set(findings), key=level_key)
    recorded = {level: _problem_and_caveats(findings.get(level)) for level in levels}
    common = [c for c in recorded[levels[0]][1] if all(c in recorded[lv][1] for lv in levels)] \
        if len(levels) > 1 else []
    for level in levels:
        level_rois = rois.get(level, [])
        pooled = pool_slices([(r.measurements.get("hu_mean"), r.measurements.get("hu_sd"),
                               int(r.measurements.get("hu_n_voxels") or 0)) for r in level_rois])
        finding = findings.get(level)
        problem, caveats = recorded[level]
        stored = finding.value if finding is not None and isinstance(finding.value, (int, float)) else None
        mean = pooled.mean if pooled else stored
        band = hu_band(float(mean)) if mean is not None and not problem else DASH
        slices = sorted(int(r.measurements.get("slice_index", -1)) for r in level_rois)
        origin = {("manual" if r.origin == Origin.MANUAL else "automatic") for r in level_rois}
        roi_text = (f"{'/'.join(sorted(origin))}, {len(level_rois)} slice(s): {', '.join(map(str, slices))}"
                    if level_rois else "no ROI stored")
        own = [c for c in caveats if c not in common]
        table.rows.append([
            level, None if mean is None else round(float(mean), 1),
            None if pooled is None or pooled.sd is None else round(pooled.sd, 1),
            pooled.n_voxels if pooled else None, roi_text, band,
            "\n".join(_first_sentence(f.basis) for f in flags.get(level, [])) or DASH,
            "\n".join(([f"problem: {problem}"] if problem else []) + own) or DASH,
        ])
    if common:
        table.notes.append("Caveats for every level: " + " ".join(common))
    if not table.rows:
        table.rows.append(["all", None, None, None, NOT_COMPUTED, DASH, DASH,
                           "no trabecular HU ROIs in the case (Bone HU dock, or spine-mets hu)"])
    sources = sorted({f.source for f in findings.values() if f.source})
    table.notes += [f"ROI method: {s}" for s in sources]
    table.notes.append("Mean and SD (sample) pool every voxel of the level's slice ROIs. Bands: " + CITATION)
    return table


def _problem_and_caveats(finding: Finding | None) -> tuple[str, list[str]]:
    """The problem and caveats recorded in a trabecular_hu finding's basis ('; problem: ...; caveats: a | b')."""
    if finding is None:
        return "", []
    text = finding.basis
    caveats: list[str] = []
    if "; caveats: " in text:
        text, tail = text.split("; caveats: ", 1)
        caveats = [c.strip() for c in tail.split(" | ") if c.strip()]
    problem = text.split("; problem: ", 1)[1].strip() if "; problem: " in text else ""
    return problem, caveats


def _first_sentence(basis: str) -> str:
    return basis.split("; ", 1)[0].strip()
