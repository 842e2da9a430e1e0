"""Tomita score (2-10) and the surgical strategy band it points to.

Source: Tomita K, Kawahara N, Kobayashi T, Yoshida A, Murakami H, Akamaru T. Surgical
strategy for spinal metastases. Spine 2001;26(3):298-306. Items and bands as in
clinical-reference.md: primary tumour growth slow 1 / moderate 2 / rapid 4; visceral
metastases none 0 / treatable 2 / untreatable 4; bone metastases solitary or isolated 1 /
multiple 2. Total 2-3 wide or marginal excision (long-term local control), 4-5 marginal
or intralesional excision, 6-7 palliative surgery, 8-10 non-operative supportive care.
NOT verified against the Spine 2001 article in this project (its text was not available
to us); secondary descriptions agree. See docs/scores.md.

The primary site maps to a growth category only for the sites Tomita names (see
:mod:`.primary_sites`); otherwise the growth category must be entered.
"""

from __future__ import annotations

from .primary_sites import tomita_growth
from .result import Basis, ScoreInputError, ScoreItem, ScoreResult, Threshold, choose

__all__ = ["CITATION", "tomita", "tomita_band", "GROWTH_POINTS", "VISCERAL_POINTS", "BONE_POINTS"]

CITATION = (
    "Tomita K, Kawahara N, Kobayashi T, Yoshida A, Murakami H, Akamaru T. Surgical strategy for "
    "spinal metastases. Spine 2001;26(3):298-306."
)

GROWTH_POINTS: dict[str, int] = {"slow": 1, "moderate": 2, "rapid": 4}
VISCERAL_POINTS: dict[str, int] = {"none": 0, "treatable": 2, "untreatable": 4}
BONE_POINTS: dict[str, int] = {"solitary": 1, "multiple": 2}
_BONE_ALIASES = {"isolated": "solitary", "single": "solitary"}


def tomita_band(total: int) -> str:
    """Tomita 2001 strategy: 2-3, 4-5, 6-7, 8-10."""
    if not 2 <= total <= 10:
        raise ScoreInputError(f"Tomita total must be 2-10, got {total}")
    if total <= 3:
        return "wide or marginal excision (long-term local control)"
    if total <= 5:
        return "marginal or intralesional excision"
    if total <= 7:
        return "palliative surgery"
    return "non-operative supportive care"


def tomita(
    *,
    visceral_metastases: str | None,
    bone_metastases: str | None,
    primary_site: str | None = None,
    growth: str | None = None,
) -> ScoreResult:
    """Tomita score. Give ``growth`` (slow/moderate/rapid) or a ``primary_site`` Tomita names.

    When both are given, the entered growth is used and the site is recorded beside it.
    """
    if growth is not None:
        growth_choice, growth_points = choose("primary tumour growth", growth, GROWTH_POINTS)
        detail = "growth category entered" + (f" (primary site {primary_site})" if primary_site else "")
        growth_item = ScoreItem("primary tumour growth", growth_choice, growth_points, Basis.ENTRY, detail)
    elif primary_site is not None:
        site, category = tomita_growth(primary_site)
        growth_item = ScoreItem("primary tumour growth", category, GROWTH_POINTS[category], Basis.COMPUTED,
                                f"{site} is a {category}-growth primary in Tomita 2001")
    else:
        raise ScoreInputError("Tomita needs the primary tumour growth (slow, moderate, rapid) or a primary site "
                              "(nothing is assumed)")
    visceral_choice, visceral_points = choose("visceral metastases", visceral_metastases, VISCERAL_POINTS)
    bone_choice, bone_points = choose("bone metastases", bone_metastases, BONE_POINTS, _BONE_ALIASES)
    items = [
        growth_item,
        ScoreItem("visceral metastases", visceral_choice, visceral_points, Basis.ENTRY),
        ScoreItem("bone metastases", bone_choice, bone_points, Basis.ENTRY,
                  "solitary or isolated" if bone_choice == "solitary" else "multiple"),
    ]
    total = sum(int(item.points or 0) for item in items)
    thresholds = [Threshold(f"{band} band", low, "points", ">=", total >= low)
                  for band, low in (("4-5", 4), ("6-7", 6), ("8-10", 8))]
    return ScoreResult(name="Tomita", total=total, band=tomita_band(total), items=items, thresholds=thresholds,
                       citation=CITATION,
                       notes=["lower is better; strategy bands are those proposed in 2001"])
