"""Every score a Case allows: image proposals per lesion level, combined with the clinician's entries.

SINS is scored per lesion level: location, lesion type, collapse and posterolateral
involvement are proposed from the images (:mod:`.level_measures`, the ``propose_*``
helpers of :mod:`.sins`); pain and alignment are the clinician's. An entry always
overrides a proposal, and the item's basis says so. The revised Tokuhashi, Tomita and
modified Bauer scores and the PNI come from the clinical entries; HU bone quality from
the trabecular HU the Bone HU tool recorded; the Bilsky CT estimate from the canal. An
input that is not there is listed by name ("Karnofsky not entered"), never imputed; a
score is computed only when all its inputs are.

Entries beyond :class:`~napari_spine_mets.case_parts.ClinicalEntries`' fields live in
``clinical.extras`` under the keys below (JSON values):

* ``sins_entries``: ``{level: {component: value}}``, per-level SINS entries (alignment,
  or an override of a proposal: location, pain, bone_lesion, collapse, posterolateral);
* ``visceral_metastases_removable`` (bool): Tokuhashi's removable/unremovable organ metastases;
* ``visceral_metastases_treatable`` (bool): Tomita's treatable/untreatable visceral metastases;
* ``tomita_growth``: slow/moderate/rapid, for a primary Tomita 2001 does not name;
* ``lung_primary`` (bool): Bauer's "primary not lung" when the primary is unknown.

"Solitary" bone metastasis (Tomita, Bauer) is computed from the two entered counts
(vertebral + extraspinal = 1), and the item says so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..case_parts import Finding
from .bauer import CITATION as BAUER_CITATION
from .bauer import modified_bauer
from .hu_bands import CITATION as HU_CITATION
from .hu_bands import hu_bone_quality
from .pni import CITATION as PNI_CITATION
from .pni import pni_from_entries
from .sins import (ALIGNMENT_POINTS, COLLAPSE_POINTS, LESION_POINTS, LOCATION_POINTS, PAIN_POINTS,
                   POSTEROLATERAL_POINTS, location_category, propose_bone_lesion, propose_collapse,
                   propose_location, propose_posterolateral, sins)
from .sins import CITATION as SINS_CITATION
from .tokuhashi import CITATION as TOKUHASHI_CITATION
from .tokuhashi import tokuhashi
from .tomita import CITATION as TOMITA_CITATION
from .tomita import tomita
from .level_measures import HEIGHT_LOSS_FINDING, CaseLevels, LevelMeasures, measure_levels
from .result import Basis, Proposal, ScoreInputError, ScoreResult, choose, normalise

if TYPE_CHECKING:
    from ..case import Case
    from ..case_parts import ClinicalEntries
    from ..volume import VolumeMetadata

__all__ = [
    "SINS_ENTRIES", "VISCERAL_REMOVABLE", "VISCERAL_TREATABLE", "TOMITA_GROWTH", "LUNG_PRIMARY",
    "SINS_COMPONENTS", "SCORE_NAMES", "BILSKY_CT", "ItemRow", "ScoreOutcome", "CaseScores",
    "sins_proposals", "score_case", "record_scores_in_case", "score_findings", "hu_quality_on_scan",
]

log = logging.getLogger(__name__)

SINS_ENTRIES = "sins_entries"
VISCERAL_REMOVABLE = "visceral_metastases_removable"
VISCERAL_TREATABLE = "visceral_metastases_treatable"
TOMITA_GROWTH = "tomita_growth"
LUNG_PRIMARY = "lung_primary"

#: SINS components in the order of Fisher 2010, as the ``sins()`` keywords.
SINS_COMPONENTS = ("location", "pain", "bone_lesion", "alignment", "collapse", "posterolateral")
_ITEM_NAME = {"location": "location", "pain": "pain", "bone_lesion": "bone lesion", "alignment": "alignment",
              "collapse": "collapse", "posterolateral": "posterolateral"}
_COMPONENT_OF_ITEM = {v: k for k, v in _ITEM_NAME.items()}
_TABLES = {"pain": PAIN_POINTS, "bone_lesion": LESION_POINTS, "alignment": ALIGNMENT_POINTS,
           "collapse": COLLAPSE_POINTS, "posterolateral": POSTEROLATERAL_POINTS}

BILSKY_CT = "Bilsky/ESCC CT estimate"
#: The names of the findings this module writes (each may also have "<name>: flag" findings).
SCORE_NAMES = ("SINS", BILSKY_CT, "revised Tokuhashi", "Tomita", "modified Bauer", "PNI", "HU bone quality")
_CITATIONS = {"SINS": SINS_CITATION, "revised Tokuhashi": TOKUHASHI_CITATION, "Tomita": TOMITA_CITATION,
              "modified Bauer": BAUER_CITATION, "PNI": PNI_CITATION, "HU bone quality": HU_CITATION}
NOT_ENTERED = "not entered"


@dataclass
class ItemRow:
    """One line of a score as the user sees it: the choice, its points and where it came from."""

    name: str
    choice: str | None
    points: float | int | None = None
    #: "entered", "entered (overrides the image proposal …)", "from image: …", "computed: …" or "not entered".
    basis: str = NOT_ENTERED
    detail: str = ""


@dataclass
class ScoreOutcome:
    """One score of the case: its result when every input is there, else what is missing."""

    score: str
    level: str | None = None
    result: ScoreResult | None = None
    items: list[ItemRow] = field(default_factory=list)
    #: Inputs not there, each named ("Karnofsky not entered").
    missing: list[str] = field(default_factory=list)
    #: The calculator's message when an entered value is refused (e.g. Karnofsky 75 %).
    problem: str | None = None

    @property
    def computed(self) -> bool:
        return self.result is not None

    @property
    def total(self) -> Any:
        return None if self.result is None else self.result.total

    @property
    def band(self) -> str:
        return "" if self.result is None else self.result.band

    @property
    def title(self) -> str:
        return f"{self.score} at {self.level}" if self.level else self.score

    def findings(self) -> list[Finding]:
        """The result's findings, or one finding saying what stopped the score."""
        if self.result is not None:
            return self.result.to_findings()
        why = "; ".join(self.missing) if self.missing else (self.problem or "not computed")
        return [Finding(name=self.score, value=None, level=self.level, basis=f"not computed: {why}",
                        source=_CITATIONS.get(self.score, ""))]


@dataclass
class CaseScores:
    """Every score of one case, and the image measurements the proposals rest on."""

    outcomes: list[ScoreOutcome] = field(default_factory=list)
    levels: CaseLevels = field(default_factory=CaseLevels)

    def find(self, score: str, level: str | None = None) -> ScoreOutcome | None:
        return next((o for o in self.outcomes if o.score == score and o.level == level), None)

    def of(self, score: str) -> list[ScoreOutcome]:
        return [o for o in self.outcomes if o.score == score]

    @property
    def missing(self) -> list[str]:
        """Every missing input once, in the order the scores need them."""
        return list(dict.fromkeys(m for o in self.outcomes for m in o.missing))

    def findings(self) -> list[Finding]:
        return [f for o in self.outcomes for f in o.findings()]


# ----------------------------------------------------------------------------- SINS
def _sins_entries(entries: "ClinicalEntries", level: str) -> dict[str, str]:
    """The clinician's SINS values at ``level``: global pain, then the level's own entries."""
    out: dict[str, str] = {}
    if entries.pain:
        out["pain"] = entries.pain
    per_level = entries.extras.get(SINS_ENTRIES) or {}
    own = per_level.get(level) if isinstance(per_level, dict) else None
    if isinstance(own, dict):
        out.update({k: str(v) for k, v in own.items() if k in SINS_COMPONENTS and v not in (None, "")})
    return out


def sins_proposals(m: LevelMeasures) -> tuple[dict[str, Proposal], dict[str, str], dict[str, str]]:
    """(proposals, their basis in words, why the others cannot be proposed) at one lesion level."""
    proposals: dict[str, Proposal] = {}
    basis: dict[str, str] = {}
    why: dict[str, str] = {}
    try:
        proposals["location"] = propose_location(m.level)
        basis["location"] = f"{m.level}, the level of {m.lesion_text}"
    except ScoreInputError as exc:
        why["location"] = str(exc)
    _propose_lesion_type(m, proposals, basis, why)
    _propose_collapse(m, proposals, basis, why)
    if m.left_fraction is None or m.right_fraction is None:
        why["posterolateral"] = f"posterolateral involvement not measured at {m.level}" + _because(m)
    else:
        source = f"lesion overlap with pedicles/facets at {m.level}"
        proposals["posterolateral"] = propose_posterolateral(m.left_fraction, m.right_fraction, source=source)
        basis["posterolateral"] = (f"{m.level}, pedicle/facet bone replaced by lesion: left {m.left_fraction:.0%}, "
                                   f"right {m.right_fraction:.0%}")
    why.setdefault("pain", "pain is the clinician's entry")
    why.setdefault("alignment", "alignment is the clinician's entry (not measured from the images)")
    return proposals, basis, why


def _because(m: LevelMeasures) -> str:
    return f" ({'; '.join(m.notes)})" if m.notes else ""


def _propose_lesion_type(m: LevelMeasures, proposals: dict[str, Proposal], basis: dict[str, str],
                         why: dict[str, str]) -> None:
    known = [les for les in m.lesions if les.kind in LESION_POINTS]
    if not known:
        why["bone_lesion"] = f"no lesion at {m.level} is classified lytic, blastic or mixed ({m.lesion_text})"
        return
    kinds = sorted({les.kind for les in known})
    sources = "; ".join(f"lesion {les.id} {les.kind} ({les.kind_source})" for les in known)
    if len(kinds) == 1 and len(known) == 1:
        les = known[0]
        proposals["bone_lesion"] = propose_bone_lesion(les.kind, les.hu_mean,
                                                             source=f"lesion {les.id} at {m.level}, {les.kind_source}")
    elif len(kinds) == 1:
        proposals["bone_lesion"] = propose_bone_lesion(kinds[0], source=f"lesions at {m.level}: {sources}")
    else:
        first = propose_bone_lesion("mixed", source=f"lesions at {m.level}: {sources}")
        proposals["bone_lesion"] = Proposal("mixed", first.measurements,
                                            f"the lesions at {m.level} are {' and '.join(kinds)}: mixed lytic/blastic")
    basis["bone_lesion"] = f"{m.level}, {sources}"
    unclassified = [les.id for les in m.lesions if les.kind not in LESION_POINTS]
    if unclassified:
        basis["bone_lesion"] += f"; not classified: lesion {', '.join(map(str, unclassified))}"


def _propose_collapse(m: LevelMeasures, proposals: dict[str, Proposal], basis: dict[str, str],
                      why: dict[str, str]) -> None:
    if m.height_loss is None:
        why["collapse"] = f"body height not measured at {m.level}" + _because(m)
        return
    loss = max(0.0, float(m.height_loss))
    refs = ", ".join(m.reference_levels) or "no neighbour"
    try:
        proposal = propose_collapse(loss, m.body_fraction, source=m.height_source or f"vertebral body heights at {m.level}")
    except ScoreInputError as exc:
        why["collapse"] = f"{m.level}: {exc}"
        return
    if m.height_loss < 0:
        proposal = Proposal(proposal.value, proposal.measurements,
                            proposal.rule + f"; measured {m.height_loss:.0%} (taller than its neighbours): no loss")
    proposals["collapse"] = proposal
    body = "" if m.body_fraction is None else f"; {m.body_fraction:.0%} of the body involved"
    recorded = m.height_source.startswith("finding")
    against = f"(recorded by the lesion detection, {HEIGHT_LOSS_FINDING})" if recorded else f"vs {refs}"
    basis["collapse"] = f"{m.level}, height loss {loss:.0%} {against}{body}"


def _points(component: str, value: Any) -> int | None:
    """Points of a value in the SINS table (for rows of a SINS not yet complete)."""
    raw = value.value if isinstance(value, Proposal) else value
    try:
        if component == "location":
            try:
                category = location_category(str(raw))
            except ScoreInputError:
                category = str(raw)  # a category entered instead of a level
            return choose("location", category, LOCATION_POINTS)[1]
        return choose(_ITEM_NAME[component], raw, _TABLES[component])[1]
    except ScoreInputError:
        return None


def sins_outcome(m: LevelMeasures, entries: "ClinicalEntries") -> ScoreOutcome:
    """SINS at one lesion level: entries over proposals; the missing components named."""
    entered = _sins_entries(entries, m.level)
    proposals, image_basis, why = sins_proposals(m)
    outcome = ScoreOutcome("SINS", m.level)
    values: dict[str, Any] = {}
    bases: dict[str, str] = {}
    overrides: list[str] = []
    for comp in SINS_COMPONENTS:
        label = _ITEM_NAME[comp]
        if comp in entered:
            values[comp] = entered[comp]
            bases[comp] = "entered"
            proposal = proposals.get(comp)
            if proposal is not None and normalise(proposal.value) != normalise(entered[comp]):
                bases[comp] = f"entered (overrides the image proposal '{proposal.value}': {image_basis[comp]})"
                overrides.append(f"{label} entered as '{entered[comp]}', overriding the image proposal "
                                 f"'{proposal.value}' ({image_basis[comp]})")
            elif proposal is not None:
                bases[comp] = "entered (agrees with the image proposal)"
        elif comp in proposals:
            values[comp] = proposals[comp]
            bases[comp] = f"from image: {image_basis[comp]}"
        elif comp == "pain":
            outcome.missing.append("pain (SINS) not entered")
        elif comp == "alignment":
            outcome.missing.append(f"alignment at {m.level} not entered")
        else:
            outcome.missing.append(f"{label} at {m.level} not available: {why.get(comp, 'not measured')}")
    if not outcome.missing:
        try:
            outcome.result = sins(**{k: values[k] for k in SINS_COMPONENTS})
        except ScoreInputError as exc:
            outcome.problem = str(exc)
    if outcome.result is not None:
        outcome.result.notes.extend(overrides)
        for item in outcome.result.items:
            comp = _COMPONENT_OF_ITEM[item.name]
            outcome.items.append(ItemRow(item.name, item.choice, item.points, bases[comp], item.detail))
    else:
        for comp in SINS_COMPONENTS:
            value = values.get(comp)
            choice = None if value is None else (value.value if isinstance(value, Proposal) else str(value))
            if comp == "location" and choice is not None:
                try:  # a level is shown as its category, as the complete score shows it
                    choice = location_category(choice)
                except ScoreInputError:
                    pass
            outcome.items.append(ItemRow(_ITEM_NAME[comp], choice, None if value is None else _points(comp, value),
                                         bases.get(comp, NOT_ENTERED),
                                         value.rule if isinstance(value, Proposal) else why.get(comp, "")))
    return outcome


# ----------------------------------------------------------------------------- prognostic scores
def _entered(name: str, value: Any, unit: str = "") -> ItemRow:
    if value is None:
        return ItemRow(name, None, None, NOT_ENTERED)
    text = ("yes" if value else "no") if isinstance(value, bool) else f"{value:g}" if isinstance(value, float) else str(value)
    return ItemRow(name, f"{text}{(' ' + unit) if unit else ''}", None, "entered")


def _organ_metastases(entries: "ClinicalEntries", key: str, yes: str, no: str) -> tuple[str | None, str, str | None]:
    """(choice, basis, missing) of Tokuhashi's / Tomita's visceral item from the entries."""
    if entries.visceral_metastases is None:
        return None, NOT_ENTERED, "visceral metastases not entered"
    if not entries.visceral_metastases:
        return "none", "entered (visceral metastases: no)", None
    flag = entries.extras.get(key)
    if not isinstance(flag, bool):
        return None, NOT_ENTERED, f"whether the visceral metastases are {yes} not entered"
    return (yes if flag else no), f"entered (visceral metastases: yes, {yes if flag else no})", None


def _bone_metastases(entries: "ClinicalEntries") -> tuple[str | None, str, str | None]:
    """("solitary"/"multiple", basis, missing) computed from the two entered counts."""
    vertebral, extraspinal = entries.vertebral_metastases, entries.extraspinal_bone_metastases
    if vertebral is not None and extraspinal is not None:
        total = int(vertebral) + int(extraspinal)
        if total < 1:
            return None, NOT_ENTERED, "no bone metastasis counted (vertebral + extraspinal = 0)"
        basis = f"computed from the entered counts: {vertebral} vertebral + {extraspinal} extraspinal = {total}"
        return ("solitary" if total == 1 else "multiple"), basis, None
    for count, what in ((vertebral, "vertebral"), (extraspinal, "extraspinal")):
        if count is not None and int(count) >= 2:
            return "multiple", f"computed from the entered counts: {count} {what} metastases", None
    name = "number of vertebral metastases" if vertebral is None else "number of extraspinal bone metastases"
    return None, NOT_ENTERED, f"{name} not entered"


def _finish(outcome: ScoreOutcome, call: Any, derived: dict[str, str]) -> ScoreOutcome:
    """Run the calculator when nothing is missing; item rows from its result."""
    if outcome.missing:
        return outcome
    try:
        outcome.result = call()
    except ScoreInputError as exc:
        outcome.problem = str(exc)
        return outcome
    outcome.items = [ItemRow(item.name, item.choice, item.points,
                             derived.get(item.name) or _basis_text(item.basis, item.detail), item.detail)
                     for item in outcome.result.items]
    return outcome


def _basis_text(basis: Basis, detail: str) -> str:
    if basis is Basis.ENTRY:
        return "entered"
    if basis is Basis.COMPUTED:
        return f"computed: {detail}" if detail else "computed"
    return basis.value


def _vertebral_hint(levels: CaseLevels) -> str:
    if not levels.levels:
        return ""
    scanned = f"{levels.levels_present[0]}-{levels.levels_present[-1]}" if levels.levels_present else "the scan"
    return (f" (the images show lesions at {len(levels.levels)} level(s) in {scanned}; "
            "the scan may not show the whole spine)")


def tokuhashi_outcome(entries: "ClinicalEntries", levels: CaseLevels) -> ScoreOutcome:
    outcome = ScoreOutcome("revised Tokuhashi")
    organ, organ_basis, organ_missing = _organ_metastases(entries, VISCERAL_REMOVABLE, "removable", "unremovable")
    rows = [
        _entered("general condition (Karnofsky)", entries.karnofsky, "%"),
        _entered("extraspinal bone metastases", entries.extraspinal_bone_metastases),
        _entered("metastases in the vertebral bodies", entries.vertebral_metastases),
        ItemRow("metastases to major internal organs", organ, None, organ_basis),
        _entered("primary site", entries.primary_site),
        _entered("palsy (Frankel grade)", entries.frankel_grade),
    ]
    for value, text in ((entries.karnofsky, "Karnofsky not entered"),
                        (entries.extraspinal_bone_metastases, "number of extraspinal bone metastases not entered"),
                        (entries.vertebral_metastases,
                         "number of vertebral metastases not entered" + _vertebral_hint(levels))):
        if value is None:
            outcome.missing.append(text)
    if organ_missing:
        outcome.missing.append(organ_missing)
    for value, text in ((entries.primary_site, "primary site not entered"),
                        (entries.frankel_grade, "Frankel grade not entered")):
        if value is None:
            outcome.missing.append(text)
    outcome.items = rows
    return _finish(outcome, lambda: tokuhashi(
        karnofsky=entries.karnofsky, extraspinal_bone_metastases=entries.extraspinal_bone_metastases,
        vertebral_metastases=entries.vertebral_metastases, major_organ_metastases=organ,
        primary_site=entries.primary_site, frankel_grade=entries.frankel_grade),
        {"metastases to major internal organs": organ_basis})


def tomita_outcome(entries: "ClinicalEntries") -> ScoreOutcome:
    from .primary_sites import canonical_site, tomita_growth

    outcome = ScoreOutcome("Tomita")
    growth = entries.extras.get(TOMITA_GROWTH) or None
    growth_basis = "entered"
    if growth is None and entries.primary_site is None:
        outcome.missing.append("primary site not entered")
        growth_basis = NOT_ENTERED
    elif growth is None:
        try:
            site = canonical_site(entries.primary_site)
        except ScoreInputError as exc:
            outcome.problem, site = str(exc), None
        if site is not None:
            try:
                _, growth = tomita_growth(site)
                growth_basis = f"computed: {site} is a {growth}-growth primary in Tomita 2001"
            except ScoreInputError:  # a site Tomita 2001 does not name: the growth must be entered
                outcome.missing.append(f"Tomita growth category (slow, moderate or rapid) not entered: "
                                       f"Tomita 2001 does not name '{site}'")
                growth_basis = NOT_ENTERED
    visceral, visceral_basis, visceral_missing = _organ_metastases(entries, VISCERAL_TREATABLE, "treatable",
                                                                   "untreatable")
    bone, bone_basis, bone_missing = _bone_metastases(entries)
    outcome.missing += [m for m in (visceral_missing, bone_missing) if m]
    outcome.items = [ItemRow("primary tumour growth", growth, None, growth_basis),
                     ItemRow("visceral metastases", visceral, None, visceral_basis),
                     ItemRow("bone metastases", bone, None, bone_basis)]
    return _finish(outcome, lambda: tomita(
        visceral_metastases=visceral, bone_metastases=bone, primary_site=entries.primary_site,
        growth=entries.extras.get(TOMITA_GROWTH) or None),
        {"visceral metastases": visceral_basis, "bone metastases": bone_basis,
         **({"primary tumour growth": growth_basis} if growth_basis.startswith("computed") else {})})


def bauer_outcome(entries: "ClinicalEntries") -> ScoreOutcome:
    from .primary_sites import bauer_is_lung

    outcome = ScoreOutcome("modified Bauer")
    solitary, solitary_basis, solitary_missing = _bone_metastases(entries)
    lung = entries.extras.get(LUNG_PRIMARY)
    lung = lung if isinstance(lung, bool) else None
    if entries.visceral_metastases is None:
        outcome.missing.append("visceral metastases not entered")
    if entries.primary_site is None:
        outcome.missing.append("primary site not entered")
    else:
        try:
            if bauer_is_lung(entries.primary_site) is None and lung is None:
                outcome.missing.append("whether the lung is the primary not entered (primary unknown)")
        except ScoreInputError as exc:
            outcome.problem = str(exc)
    if solitary_missing:
        outcome.missing.append(solitary_missing)
    outcome.items = [_entered("no visceral metastases", entries.visceral_metastases),
                     _entered("primary site", entries.primary_site),
                     ItemRow("solitary skeletal metastasis", solitary, None, solitary_basis)]
    return _finish(outcome, lambda: modified_bauer(
        visceral_metastases=entries.visceral_metastases, primary_site=entries.primary_site,
        solitary_skeletal_metastasis=None if solitary is None else solitary == "solitary", lung_primary=lung),
        {"solitary skeletal metastasis": solitary_basis})


def pni_outcome(entries: "ClinicalEntries") -> ScoreOutcome:
    outcome = ScoreOutcome("PNI")
    outcome.items = [_entered("serum albumin", entries.albumin_g_per_l, "g/L"),
                     _entered("lymphocyte count", entries.lymphocytes_1e9_per_l, "x10^9/L")]
    if entries.albumin_g_per_l is None:
        outcome.missing.append("serum albumin not entered")
    if entries.lymphocytes_1e9_per_l is None:
        outcome.missing.append("lymphocyte count not entered")
    return _finish(outcome, lambda: pni_from_entries(entries), {})


# ----------------------------------------------------------------------------- image-only scores
def hu_quality_on_scan(hu_mean: float, level: str | None, metadata: "VolumeMetadata | None",
                       roi_source: str = "") -> ScoreResult:
    """HU bone quality of one level, with the kVp and contrast of the scan it was measured on.

    The bands assume 120 kVp without contrast, so the scan's own values (None: unknown,
    which the result says) always go with the HU. Shared by the case's scores and the
    cohort pipeline so that a level gets the same band in both.
    """
    return hu_bone_quality(hu_mean=hu_mean, level=level, kvp=None if metadata is None else metadata.kvp,
                           contrast=None if metadata is None else metadata.contrast_applied, roi_source=roi_source)


def hu_outcomes(case: "Case", levels: CaseLevels) -> list[ScoreOutcome]:
    """HU bone quality per level measured by the Bone HU tool ("trabecular_hu" findings)."""
    measured = [f for f in case.findings if f.name == "trabecular_hu" and isinstance(f.value, (int, float))
                and f.level]
    if not measured:
        return [ScoreOutcome("HU bone quality", missing=["trabecular HU not measured (Bone HU tool)"])]
    volume = next((v for v in case.volumes.values() if (v.metadata.modality or "").upper() == "CT"), None)
    metadata = volume.metadata if volume is not None else None
    out = []
    for finding in measured:
        outcome = ScoreOutcome("HU bone quality", finding.level)
        level = levels.levels.get(str(finding.level))
        _finish(outcome, lambda f=finding: hu_quality_on_scan(float(f.value), f.level, metadata,
                                                              roi_source="Bone HU ROIs"), {})
        if outcome.result is not None and level is not None:
            outcome.result.notes.append(f"{level.level} holds {level.lesion_text}: the figure may not be usable")
        out.append(outcome)
    return out


def bilsky_outcome(m: LevelMeasures) -> ScoreOutcome:
    outcome = ScoreOutcome(BILSKY_CT, m.level, result=m.bilsky)
    if m.bilsky is None:
        outcome.missing.append(f"canal at {m.level} not measured: {m.bilsky_problem or 'no parts map'}")
    else:
        outcome.items = [ItemRow(i.name, i.choice, i.points, f"from image: {i.detail}", i.detail)
                         for i in m.bilsky.items]
    return outcome


# ----------------------------------------------------------------------------- the case
def score_case(case: "Case", levels: CaseLevels | None = None) -> CaseScores:
    """Every score of ``case``; ``levels`` (from :func:`measure_levels`) is measured when not given."""
    levels = levels if levels is not None else measure_levels(case)
    entries = case.clinical
    out = CaseScores(levels=levels)
    if levels.levels:
        out.outcomes += [sins_outcome(m, entries) for m in levels.levels.values()]
        out.outcomes += [bilsky_outcome(m) for m in levels.levels.values()]
    else:
        out.outcomes.append(ScoreOutcome("SINS", missing=["no lesion level: " + "; ".join(levels.notes)]))
    out.outcomes += [tokuhashi_outcome(entries, levels), tomita_outcome(entries), bauer_outcome(entries),
                     pni_outcome(entries)]
    out.outcomes += hu_outcomes(case, levels)
    log.info("scores: %d computed, %d with missing inputs", sum(o.computed for o in out.outcomes),
             sum(not o.computed for o in out.outcomes))
    return out


def _is_score_finding(finding: Finding) -> bool:
    return any(finding.name == name or finding.name.startswith(f"{name}: ") for name in SCORE_NAMES)


def score_findings(case: "Case") -> list[Finding]:
    """The case's findings written by :func:`record_scores_in_case` (to tell whether they changed)."""
    return [f for f in case.findings if _is_score_finding(f)]


def record_scores_in_case(case: "Case", scores: CaseScores | None = None) -> list[Finding]:
    """Replace the case's score findings with those of ``scores`` (computed now when not given).

    Returns the new findings. Other findings (HU, lesions, nomograms) are kept.
    """
    scores = scores if scores is not None else score_case(case)
    findings = scores.findings()
    case.findings = [f for f in case.findings if not _is_score_finding(f)] + findings
    case.touch()
    return findings
