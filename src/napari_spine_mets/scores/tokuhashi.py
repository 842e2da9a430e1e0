"""Revised Tokuhashi score (0-15) and its predicted-survival band.

Source: Tokuhashi Y, Matsuzaki H, Oda H, Oshima M, Ryu J. A revised scoring system for
preoperative evaluation of metastatic spine tumor prognosis. Spine 2005;30(19):2186-2191.
Table and bands checked against the table reproduced with the authors' permission in NICE
clinical guideline CG75 (2008), appendix 3: total 0-8 < 6 months, 9-11 >= 6 months,
12-15 >= 1 year. They agree with clinical-reference.md.

Input names follow :class:`~napari_spine_mets.case_parts.ClinicalEntries` where they
match (``karnofsky``, ``extraspinal_bone_metastases``, ``vertebral_metastases``,
``primary_site``, ``frankel_grade``). Karnofsky is taken in its 10 % steps only: a value
such as 75 % falls between the table's rows and is refused rather than rounded.
"""

from __future__ import annotations

from .primary_sites import tokuhashi_category
from .result import Basis, ScoreInputError, ScoreItem, ScoreResult, Threshold, choose, require_int

__all__ = ["CITATION", "tokuhashi", "tokuhashi_band", "MAJOR_ORGAN_POINTS"]

CITATION = (
    "Tokuhashi Y, Matsuzaki H, Oda H, Oshima M, Ryu J. A revised scoring system for preoperative "
    "evaluation of metastatic spine tumor prognosis. Spine 2005;30(19):2186-2191."
)

MAJOR_ORGAN_POINTS: dict[str, int] = {"unremovable": 0, "removable": 1, "none": 2}
_MAJOR_ORGAN_ALIASES = {"unresectable": "unremovable", "resectable": "removable", "no": "none"}
_FRANKEL = {"A": 0, "B": 0, "C": 1, "D": 1, "E": 2}


def tokuhashi_band(total: int) -> str:
    """Predicted survival: 0-8 < 6 months, 9-11 >= 6 months, 12-15 >= 1 year (Tokuhashi 2005)."""
    if not 0 <= total <= 15:
        raise ScoreInputError(f"revised Tokuhashi total must be 0-15, got {total}")
    if total <= 8:
        return "predicted survival < 6 months"
    if total <= 11:
        return "predicted survival >= 6 months"
    return "predicted survival >= 1 year"


def _karnofsky_item(karnofsky: object) -> ScoreItem:
    kps = require_int("Karnofsky performance status (%)", karnofsky, minimum=10, maximum=100)
    if kps % 10:
        raise ScoreInputError(f"Karnofsky performance status is given in steps of 10 %, got {kps} %")
    if kps <= 40:
        return ScoreItem("general condition (Karnofsky)", f"{kps} %", 0, Basis.ENTRY, "poor (10-40 %)")
    if kps <= 70:
        return ScoreItem("general condition (Karnofsky)", f"{kps} %", 1, Basis.ENTRY, "moderate (50-70 %)")
    return ScoreItem("general condition (Karnofsky)", f"{kps} %", 2, Basis.ENTRY, "good (80-100 %)")


def _count_item(name: str, count: int, rows: tuple[tuple[str, int], ...], points_of: dict[int, int]) -> ScoreItem:
    points = points_of[min(count, 3)]
    label = next(text for text, p in rows if p == points)
    return ScoreItem(name, str(count), points, Basis.ENTRY, label)


def tokuhashi(
    *,
    karnofsky: int | None,
    extraspinal_bone_metastases: int | None,
    vertebral_metastases: int | None,
    major_organ_metastases: str | None,
    primary_site: str | None,
    frankel_grade: str | None,
) -> ScoreResult:
    """Revised Tokuhashi score; every item must be entered (nothing is assumed)."""
    extraspinal = require_int("number of extraspinal bone metastases", extraspinal_bone_metastases, minimum=0)
    vertebral = require_int("number of metastases in the vertebral bodies", vertebral_metastases, minimum=1)
    organ_choice, organ_points = choose("metastases to major internal organs", major_organ_metastases,
                                        MAJOR_ORGAN_POINTS, _MAJOR_ORGAN_ALIASES)
    site, site_points, site_row = tokuhashi_category(primary_site)  # type: ignore[arg-type]
    if frankel_grade is None or not isinstance(frankel_grade, str) or not frankel_grade.strip():
        raise ScoreInputError("Frankel grade is missing: enter A, B, C, D or E (nothing is assumed)")
    grade = frankel_grade.strip().upper()
    if grade not in _FRANKEL:
        raise ScoreInputError(f"Frankel grade {frankel_grade!r} is not recognised: accepted are A, B, C, D, E")
    palsy_row = {0: "complete (Frankel A, B)", 1: "incomplete (Frankel C, D)", 2: "none (Frankel E)"}
    items = [
        _karnofsky_item(karnofsky),
        _count_item("extraspinal bone metastases", extraspinal, (("3 or more", 0), ("1-2", 1), ("none", 2)),
                    {0: 2, 1: 1, 2: 1, 3: 0}),
        _count_item("metastases in the vertebral bodies", vertebral, (("3 or more", 0), ("2", 1), ("1", 2)),
                    {1: 2, 2: 1, 3: 0}),
        ScoreItem("metastases to major internal organs", organ_choice, organ_points, Basis.ENTRY,
                  {"unremovable": "unremovable", "removable": "removable", "none": "no metastases"}[organ_choice]),
        ScoreItem("primary site", site, site_points, Basis.ENTRY, site_row),
        ScoreItem("palsy", f"Frankel {grade}", _FRANKEL[grade], Basis.ENTRY, palsy_row[_FRANKEL[grade]]),
    ]
    total = sum(int(item.points or 0) for item in items)
    thresholds = [
        Threshold(">= 6 months band", 9, "points", ">=", total >= 9, "9-11"),
        Threshold(">= 1 year band", 12, "points", ">=", total >= 12, "12-15"),
    ]
    return ScoreResult(name="revised Tokuhashi", total=total, band=tokuhashi_band(total), items=items,
                       thresholds=thresholds, citation=CITATION,
                       notes=["survival bands are those of the 2005 cohort; treatment has changed since"])
