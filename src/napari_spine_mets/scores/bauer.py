"""Modified Bauer score (0-4): the Bauer score without its pathologic-fracture item.

Source: Leithner A, Radl R, Gruber G, et al. Predictive value of seven preoperative
prognostic scoring systems for spinal metastases. Eur Spine J 2008;17(11):1488-1495.
doi:10.1007/s00586-008-0763-1. One point each for: no visceral metastases; primary not
lung; primary breast, kidney, lymphoma or multiple myeloma; a single (solitary) skeletal
metastasis. 0-1 poor prognosis (supportive care, no surgery), 2 moderate (short-term
palliation, posterior surgery), 3-4 good (middle-term local control, anterior-posterior
surgery). Items and bands checked against the article's abstract and a reproduction of
its table; they agree with clinical-reference.md.

An unknown primary cannot be scored on "primary not lung" (the lung may be the hidden
primary): the caller must then say whether lung is the primary (``lung_primary``).
"""

from __future__ import annotations

from .primary_sites import bauer_is_favourable, bauer_is_lung, canonical_site
from .result import Basis, ScoreInputError, ScoreItem, ScoreResult, Threshold

__all__ = ["CITATION", "modified_bauer", "bauer_band"]

CITATION = (
    "Leithner A, Radl R, Gruber G, et al. Predictive value of seven preoperative prognostic scoring "
    "systems for spinal metastases. Eur Spine J 2008;17(11):1488-1495. doi:10.1007/s00586-008-0763-1"
)


def bauer_band(total: int) -> str:
    """Leithner 2008: 0-1 poor, 2 moderate, 3-4 good."""
    if not 0 <= total <= 4:
        raise ScoreInputError(f"modified Bauer total must be 0-4, got {total}")
    if total <= 1:
        return "poor prognosis (supportive care, no surgery)"
    if total == 2:
        return "moderate prognosis (short-term palliation)"
    return "good prognosis (middle-term local control)"


def _met(condition: bool) -> str:
    return "criterion met" if condition else "criterion not met"


def _require_bool(name: str, value: object) -> bool:
    if value is None:
        raise ScoreInputError(f"{name} is missing: enter yes or no (nothing is assumed)")
    if not isinstance(value, bool):
        raise ScoreInputError(f"{name} must be yes/no (True/False), got {value!r}")
    return value


def modified_bauer(
    *,
    visceral_metastases: bool | None,
    primary_site: str | None,
    solitary_skeletal_metastasis: bool | None,
    lung_primary: bool | None = None,
) -> ScoreResult:
    """Modified Bauer score. ``visceral_metastases`` as in ClinicalEntries (True = present)."""
    visceral = _require_bool("visceral metastases", visceral_metastases)
    solitary = _require_bool("solitary skeletal metastasis", solitary_skeletal_metastasis)
    site = canonical_site(primary_site)
    is_lung = bauer_is_lung(site)
    lung_basis = f"primary site {site}"
    if is_lung is None:
        if lung_primary is None:
            raise ScoreInputError("primary site unknown: Bauer's 'primary not lung' item cannot be scored; "
                                  "say whether the lung is the primary (lung_primary / --lung-primary yes|no)")
        is_lung = _require_bool("lung primary", lung_primary)
        lung_basis = "primary unknown; lung entered as " + ("the primary" if is_lung else "not the primary")
    favourable = bauer_is_favourable(site)
    items = [
        ScoreItem("no visceral metastases", _met(not visceral), 0 if visceral else 1, Basis.ENTRY,
                  "visceral metastases present" if visceral else "no visceral metastases"),
        ScoreItem("primary not lung", _met(not is_lung), 0 if is_lung else 1, Basis.ENTRY, lung_basis),
        ScoreItem("primary breast, kidney, lymphoma or multiple myeloma", _met(favourable),
                  1 if favourable else 0, Basis.ENTRY, f"primary site {site}"),
        ScoreItem("solitary skeletal metastasis", _met(solitary), 1 if solitary else 0, Basis.ENTRY),
    ]
    total = sum(int(item.points or 0) for item in items)
    thresholds = [Threshold("moderate band", 2, "points", ">=", total >= 2),
                  Threshold("good band", 3, "points", ">=", total >= 3)]
    return ScoreResult(name="modified Bauer", total=total, band=bauer_band(total), items=items,
                       thresholds=thresholds, citation=CITATION)
