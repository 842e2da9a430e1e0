"""The scores table: SINS, Bilsky, Tokuhashi, Tomita, Bauer, PNI and nomograms, each with its basis.

Scores are stored in the case as :class:`~napari_spine_mets.case_parts.Finding` s
(:meth:`~napari_spine_mets.scores.result.ScoreResult.to_findings`): the total as the
value, the band and each item's choice and points in the basis ("band: ...; item:
choice (n pt, user entry); ..."), the paper in the source, and one more finding per
flag ("<score>: flag"). Each score the case does not hold gets a "not computed" row;
findings that are neither scores nor HU figures go to an "other findings" table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..case import Case
from ..case_parts import DISCLAIMER, Finding
from .hu_table import HU_FLAG_NAMES
from .model import NOT_COMPUTED, ReportTable
from .text import DASH, clean, fmt, fmt_value, level_key

__all__ = ["SCORES", "MODEL_FINDING", "score_table", "other_findings_table", "is_score"]

_FLAG = ": flag"
#: The finding a model's prediction is recorded under (models.from_case.record_model_in_case).
MODEL_FINDING = "model prediction"


def _named(*names: str) -> Callable[[str], bool]:
    return lambda name: name.lower() in names


def _starts(prefix: str) -> Callable[[str], bool]:
    return lambda name: name.lower().startswith(prefix)


def _has(word: str) -> Callable[[str], bool]:
    return lambda name: word in name.lower()


#: (row title, does a finding's name belong to it, how to compute it when missing), in report order.
SCORES: list[tuple[str, Callable[[str], bool], str]] = [
    ("SINS", _named("sins"), "needs its six components per lesion (Scores dock, or spine-mets score sins)"),
    ("Bilsky (ESCC)", _starts("bilsky"), "a reader's grade on axial T2 MRI, or the CT estimate from vertebra parts"),
    ("Tokuhashi (revised)", _has("tokuhashi"), "needs Karnofsky, metastasis counts, organ metastases, primary "
                                               "site and Frankel grade"),
    ("Tomita", _has("tomita"), "needs primary growth or site, visceral and bone metastases"),
    ("Bauer (modified)", _has("bauer"), "needs visceral metastases, primary site and whether the metastasis is "
                                         "solitary"),
    ("PNI", _starts("pni"), "needs serum albumin and lymphocyte count"),
    ("Nomogram", lambda name: name.lower() == MODEL_FINDING or "nomogram" in name.lower(),
     "apply a fitted nomogram to the case (Nomogram panel, or spine-mets nomogram apply)"),
]


def is_score(name: str) -> bool:
    base = name[: -len(_FLAG)] if name.endswith(_FLAG) else name
    return any(match(base) for _, match, _ in SCORES)


def score_table(case: Case) -> ReportTable:
    """A row per score finding with its components and flags; 'not computed' rows for the others."""
    table = ReportTable(key="scores", title="Scores",
                        columns=["Score", "Level", "Result", "Components and basis", "Source"],
                        widths=[1.1, 0.7, 1.5, 4.1, 2.4])
    flags: dict[tuple[str, str | None], list[str]] = {}
    for f in case.findings:
        if f.name.endswith(_FLAG):
            flags.setdefault((f.name[: -len(_FLAG)], f.level), []).append(clean(f.value))
    for title, match, how in SCORES:
        found = sorted((f for f in case.findings if not f.name.endswith(_FLAG) and match(f.name)),
                       key=lambda f: (level_key(f.level), f.name))
        for f in found:
            result, components = _result_and_components(f)
            components += [f"! {flag}" for flag in flags.get((f.name, f.level), [])]
            if f.disclaimer and f.disclaimer != DISCLAIMER:
                result += f"\n({clean(f.disclaimer)})"
            if f.name.lower() != title.lower():
                components.insert(0, clean(f.name))
            table.rows.append([title, f.level or DASH, result, "\n".join(components) or DASH,
                               clean(f.source) or DASH])
        if not found:
            table.rows.append([title, DASH, NOT_COMPUTED, how, DASH])
    table.notes.append("Every score: decision support, not a diagnosis. 'user entry' items were entered by a "
                       "clinician, 'image proposal' items proposed from the images (and may be overridden).")
    return table


def _result_and_components(f: Finding) -> tuple[str, list[str]]:
    if isinstance(f.value, dict) and "probability" in f.value:  # a nomogram stored with its breakdown
        return _nomogram_cells(f)
    parts = [p.strip() for p in clean(f.basis).split("; ") if p.strip()]
    if f.value is None and parts and parts[0].startswith(NOT_COMPUTED):  # recorded with what stopped it
        parts[0] = parts[0][len(NOT_COMPUTED):].lstrip(": ") or parts[0]
        return NOT_COMPUTED, parts
    if parts and parts[0].startswith("probability of ") and isinstance(f.value, (int, float)):
        return f"probability {fmt_value(f.value)}\n({parts.pop(0)[len('probability '):]})", parts
    band = ""
    if parts and parts[0].startswith("band: "):
        band = parts.pop(0)[len("band: "):]
    unit = "" if f.unit == "points" and not isinstance(f.value, (int, float)) else f.unit
    result = (f"probability {fmt_value(f.value)}" if f.unit == "probability" and isinstance(f.value, (int, float))
              else fmt_value(f.value, unit))
    return (f"{result}\n{band}" if band else result), parts


def _nomogram_cells(f: Finding) -> tuple[str, list[str]]:
    v: dict[str, Any] = f.value
    result = f"probability {fmt_value(v.get('probability'))}"
    if v.get("threshold") is not None:
        above = "at or above" if v.get("above_threshold") else "below"
        result += f"\n{above} threshold {fmt_value(v.get('threshold'))}"
    lines = [f"{t.get('term')}: value {fmt_value(t.get('value'))}, {fmt(t.get('points'))} points"
             + (f" ({t['note']})" if t.get("note") else "") for t in v.get("terms", [])]
    if v.get("total_points") is not None:
        lines.append(f"total {fmt(v.get('total_points'))} points")
    lines += [clean(n) for n in v.get("notes", [])]
    if f.basis:
        lines.append(clean(f.basis))
    return result, lines


def other_findings_table(case: Case) -> ReportTable | None:
    """Findings that are neither scores nor per-level HU figures (e.g. BED, HU bone quality), or None."""
    rest = [f for f in case.findings
            if not is_score(f.name) and f.name != "trabecular_hu" and f.name not in HU_FLAG_NAMES]
    flags: dict[tuple[str, str | None], list[str]] = {}
    for f in rest:
        if f.name.endswith(_FLAG):
            flags.setdefault((f.name[: -len(_FLAG)], f.level), []).append(clean(f.value))
    rest = [f for f in rest if not f.name.endswith(_FLAG) or (f.name[: -len(_FLAG)], f.level) not in
            {(g.name, g.level) for g in rest}]
    if not rest:
        return None
    table = ReportTable(key="other_findings", title="Other findings",
                        columns=["Finding", "Level", "Value", "Basis", "Source"], widths=[1.3, 0.7, 1.3, 4.0, 2.4])
    for f in sorted(rest, key=lambda f: (f.name, level_key(f.level))):
        value = fmt_value(f.value, f.unit)
        if f.disclaimer and f.disclaimer != DISCLAIMER:
            value += f"\n({clean(f.disclaimer)})"
        basis = [p.strip() for p in clean(f.basis).split("; ") if p.strip()]
        basis += [f"! {flag}" for flag in flags.get((f.name, f.level), [])]
        table.rows.append([clean(f.name), f.level or DASH, value, "\n".join(basis) or DASH, clean(f.source) or DASH])
    return table
