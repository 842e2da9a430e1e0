"""Spinal Instability Neoplastic Score (SINS): six components, total 0-18, band and referral flag.

Source: Fisher CG, DiPaola CP, Ryken TC, et al. A novel classification system for spinal
instability in neoplastic disease: an evidence-based approach and expert consensus from
the Spine Oncology Study Group. Spine 2010;35(22):E1221-E1229. The component table and the
bands (0-6 stable, 7-12 indeterminate/possibly impending instability, 13-18 unstable;
7-18 warrants surgical consultation) were checked against the Spine 2010 article's text
and several reproductions; they agree with clinical-reference.md.

Each component takes either a user entry (a string) or a :class:`Proposal` made from the
images; the result keeps which was used and the measurement behind a proposal. The
``propose_*`` helpers turn measurements into proposals. Two thresholds in them are
*project heuristics*, not part of SINS, and are labelled so: the smallest height loss
called "collapse" (20 %, the lower bound of Genant grade 1) and the smallest fraction of
a pedicle/facet replaced by lesion called "involved" (5 %).
"""

from __future__ import annotations

from ..anatomy import LEVELS
from .result import Basis, Measurement, Proposal, ScoreInputError, ScoreItem, ScoreResult, Threshold, choose, normalise

__all__ = [
    "CITATION",
    "LOCATION_POINTS",
    "PAIN_POINTS",
    "LESION_POINTS",
    "ALIGNMENT_POINTS",
    "COLLAPSE_POINTS",
    "POSTEROLATERAL_POINTS",
    "location_category",
    "sins",
    "sins_band",
    "propose_location",
    "propose_bone_lesion",
    "propose_collapse",
    "propose_posterolateral",
    "MIN_COLLAPSE_FRACTION",
    "MIN_INVOLVED_FRACTION",
]

CITATION = (
    "Fisher CG, DiPaola CP, Ryken TC, et al. A novel classification system for spinal instability "
    "in neoplastic disease: an evidence-based approach and expert consensus from the Spine Oncology "
    "Study Group. Spine 2010;35(22):E1221-E1229."
)

LOCATION_POINTS: dict[str, int] = {"junctional": 3, "mobile": 2, "semi-rigid": 1, "rigid": 0}
PAIN_POINTS: dict[str, int] = {"mechanical": 3, "occasional_non_mechanical": 1, "none": 0}
LESION_POINTS: dict[str, int] = {"lytic": 2, "mixed": 1, "blastic": 0}
ALIGNMENT_POINTS: dict[str, int] = {"subluxation_translation": 4, "de_novo_deformity": 2, "normal": 0}
COLLAPSE_POINTS: dict[str, int] = {"gt50": 3, "lt50": 2, "none_gt50_involved": 1, "none": 0}
POSTEROLATERAL_POINTS: dict[str, int] = {"bilateral": 3, "unilateral": 1, "none": 0}

_PAIN_ALIASES = {"occasional": "occasional_non_mechanical", "non mechanical": "occasional_non_mechanical",
                 "pain free": "none", "pain_free": "none", "no": "none"}
_LESION_ALIASES = {"mixed lytic blastic": "mixed", "lytic blastic": "mixed"}
_ALIGNMENT_ALIASES = {"subluxation": "subluxation_translation", "translation": "subluxation_translation",
                      "deformity": "de_novo_deformity", "kyphosis": "de_novo_deformity",
                      "scoliosis": "de_novo_deformity"}
_COLLAPSE_ALIASES = {">50": "gt50", "<50": "lt50", "involved gt50": "none_gt50_involved",
                     "no collapse gt50 involved": "none_gt50_involved"}
_LOCATION_ALIASES = {"semirigid": "semi-rigid"}

_DETAIL = {
    "location": {"junctional": "junctional (occiput-C2, C7-T2, T11-L1, L5-S1)", "mobile": "mobile (C3-C6, L2-L4)",
                 "semi-rigid": "semi-rigid (T3-T10)", "rigid": "rigid (S2-S5)"},
    "pain": {"mechanical": "mechanical pain (relief with recumbency and/or pain with movement or loading)",
             "occasional_non_mechanical": "occasional pain, not mechanical", "none": "pain-free lesion"},
    "bone lesion": {"lytic": "lytic", "mixed": "mixed lytic/blastic", "blastic": "blastic"},
    "alignment": {"subluxation_translation": "subluxation/translation present",
                  "de_novo_deformity": "de novo deformity (kyphosis/scoliosis)", "normal": "normal alignment"},
    "collapse": {"gt50": "> 50 % collapse", "lt50": "< 50 % collapse",
                 "none_gt50_involved": "no collapse with > 50 % of the body involved", "none": "none of the above"},
    "posterolateral": {"bilateral": "bilateral", "unilateral": "unilateral", "none": "none of the above"},
}

#: Project heuristic: height loss below this is not proposed as "collapse" (Genant grade 1 starts at 20 %).
MIN_COLLAPSE_FRACTION = 0.20
#: Project heuristic: a pedicle/facet with less of its volume replaced by lesion is not "involved".
MIN_INVOLVED_FRACTION = 0.05

_JUNCTIONAL = {"C1", "C2", "C7", "T1", "T2", "T11", "T12", "L1", "L5", "S1"}
_MOBILE = {"C3", "C4", "C5", "C6", "L2", "L3", "L4"}
_SEMI_RIGID = {f"T{i}" for i in range(3, 11)}
_RIGID = {"S2", "S3", "S4", "S5"}
_ALL_LEVELS = (*LEVELS, "S2", "S3", "S4", "S5")


def location_category(level: str) -> str:
    """The SINS location category of a vertebral level ("T12" -> "junctional")."""
    key = level.strip().upper() if isinstance(level, str) else level
    if key in _JUNCTIONAL:
        return "junctional"
    if key in _MOBILE:
        return "mobile"
    if key in _SEMI_RIGID:
        return "semi-rigid"
    if key in _RIGID:
        return "rigid"
    raise ScoreInputError(f"level {level!r} is not a vertebral level: accepted are {', '.join(_ALL_LEVELS)}")


def sins_band(total: int) -> str:
    """Fisher 2010: 0-6 stable, 7-12 indeterminate (possibly impending) instability, 13-18 unstable."""
    if not 0 <= total <= 18:
        raise ScoreInputError(f"SINS total must be 0-18, got {total}")
    if total <= 6:
        return "stable"
    if total <= 12:
        return "indeterminate (possibly impending) instability"
    return "unstable"


def _item(name: str, value: str | Proposal | None, table: dict[str, int], aliases: dict[str, str]) -> ScoreItem:
    if isinstance(value, Proposal):
        choice, points = choose(name, value.value, table, aliases)
        detail = _DETAIL[name][choice] + (f"; proposed because {value.rule}" if value.rule else "")
        return ScoreItem(name, choice, points, Basis.IMAGE, detail, value.measurements)
    choice, points = choose(name, value, table, aliases)
    return ScoreItem(name, choice, points, Basis.ENTRY, _DETAIL[name][choice])


def _location_item(value: str | Proposal | None) -> tuple[ScoreItem, str | None]:
    """Location accepts a level ("T12") or a category ("junctional")."""
    raw = value.value if isinstance(value, Proposal) else value
    level = None
    if isinstance(raw, str) and raw.strip().upper() in _ALL_LEVELS:
        level = raw.strip().upper()
        category = location_category(level)
    elif isinstance(raw, str) and normalise(raw) in {normalise(k) for k in (*LOCATION_POINTS, *_LOCATION_ALIASES)}:
        category = raw
    elif raw is None or (isinstance(raw, str) and not raw.strip()):
        raise ScoreInputError("location is missing: enter a level (C1-S5) or one of "
                              f"{', '.join(LOCATION_POINTS)} (nothing is assumed)")
    else:
        raise ScoreInputError(f"location {raw!r} is not recognised: enter a level ({_ALL_LEVELS[0]}-S5) "
                              f"or one of {', '.join(LOCATION_POINTS)}")
    choice, points = choose("location", category, LOCATION_POINTS, _LOCATION_ALIASES)
    detail = _DETAIL["location"][choice]
    if level:
        detail = f"{level} is {detail}"
    if isinstance(value, Proposal):
        if value.rule:
            detail += f"; proposed because {value.rule}"
        return ScoreItem("location", choice, points, Basis.IMAGE, detail, value.measurements), level
    return ScoreItem("location", choice, points, Basis.ENTRY, detail), level


def sins(
    *,
    location: str | Proposal | None,
    pain: str | Proposal | None,
    bone_lesion: str | Proposal | None,
    alignment: str | Proposal | None,
    collapse: str | Proposal | None,
    posterolateral: str | Proposal | None,
) -> ScoreResult:
    """SINS of one lesion: every component must be given (an entry or a proposal); none is assumed."""
    missing = [name for name, value in (("location", location), ("pain", pain), ("bone_lesion", bone_lesion),
                                        ("alignment", alignment), ("collapse", collapse),
                                        ("posterolateral", posterolateral)) if value is None]
    if missing:
        raise ScoreInputError(f"SINS needs all six components; missing: {', '.join(missing)} (nothing is assumed)")
    location_item, level = _location_item(location)
    items = [
        location_item,
        _item("pain", pain, PAIN_POINTS, _PAIN_ALIASES),
        _item("bone lesion", bone_lesion, LESION_POINTS, _LESION_ALIASES),
        _item("alignment", alignment, ALIGNMENT_POINTS, _ALIGNMENT_ALIASES),
        _item("collapse", collapse, COLLAPSE_POINTS, _COLLAPSE_ALIASES),
        _item("posterolateral", posterolateral, POSTEROLATERAL_POINTS, {}),
    ]
    total = sum(int(item.points or 0) for item in items)
    consult = total >= 7
    thresholds = [
        Threshold("indeterminate instability", 7, "points", ">=", total >= 7, "7-12 indeterminate"),
        Threshold("unstable", 13, "points", ">=", total >= 13, "13-18 unstable"),
    ]
    flags = ["SINS 7 or more: surgical consultation recommended (Fisher 2010)"] if consult else []
    notes = []
    proposed = [item.name for item in items if item.basis is Basis.IMAGE]
    if proposed:
        notes.append(f"image proposals used for: {', '.join(proposed)}; confirm or override each")
    return ScoreResult(name="SINS", total=total, unit="points", band=sins_band(total), items=items,
                       thresholds=thresholds, flags=flags, citation=CITATION, notes=notes, level=level)


# ----------------------------------------------------------------------------- proposals
def propose_location(level: str, source: str = "vertebra labels") -> Proposal:
    """Location proposed from the lesion's vertebral level (labelled vertebra)."""
    category = location_category(level)
    return Proposal(level.strip().upper(), (Measurement("vertebral level", level.strip().upper(), "", source),),
                    f"{level.strip().upper()} lies in the {category} segment")


def propose_bone_lesion(kind: str, lesion_hu: float | None = None, reference_hu: float | None = None,
                        source: str = "lesion classification") -> Proposal:
    """Lesion type proposed from the lesion classifier's kind (lytic/blastic/mixed), with its HU basis."""
    value = getattr(kind, "value", kind)
    if not isinstance(value, str) or normalise(value) not in {normalise(k) for k in LESION_POINTS}:
        raise ScoreInputError(f"cannot propose a SINS lesion type from kind {kind!r}: "
                              f"need one of {', '.join(LESION_POINTS)}")
    measurements = [Measurement("lesion kind", value, "", source)]
    if lesion_hu is not None:
        measurements.append(Measurement("lesion mean HU", float(lesion_hu), "HU", source))
    if reference_hu is not None:
        measurements.append(Measurement("patient's normal trabecular HU", float(reference_hu), "HU", source))
    return Proposal(value, tuple(measurements), f"the lesion was classified {value}")


def propose_collapse(height_loss_fraction: float, body_involvement_fraction: float | None = None,
                     source: str = "vertebral body heights") -> Proposal:
    """Collapse category from body height loss (vs the neighbours) and lesion/body volume.

    Height loss >= 20 % (project heuristic) counts as collapse; > 50 % is "gt50". Without
    collapse, > 50 % of the body involved gives "none_gt50_involved"; that needs
    ``body_involvement_fraction``, so it is refused when unknown rather than assumed.
    """
    loss = float(height_loss_fraction)
    if not 0.0 <= loss <= 1.0:
        raise ScoreInputError(f"height loss must be a fraction 0-1, got {height_loss_fraction!r}")
    measurements = [Measurement("body height loss", loss, "fraction of expected height", source)]
    if loss > 0.5:
        return Proposal("gt50", tuple(measurements), f"height loss {loss:.0%} > 50 %")
    if loss >= MIN_COLLAPSE_FRACTION:
        rule = f"height loss {loss:.0%} is at least {MIN_COLLAPSE_FRACTION:.0%} (project heuristic) and not > 50 %"
        if loss == 0.5:
            rule += "; exactly 50 % is not defined by Fisher 2010, review"
        return Proposal("lt50", tuple(measurements), rule)
    if body_involvement_fraction is None:
        raise ScoreInputError(
            f"height loss {loss:.0%} is below {MIN_COLLAPSE_FRACTION:.0%}: the collapse category then depends on "
            "how much of the body is involved; give body_involvement_fraction (lesion volume / body volume)")
    involved = float(body_involvement_fraction)
    if not 0.0 <= involved <= 1.0:
        raise ScoreInputError(f"body involvement must be a fraction 0-1, got {body_involvement_fraction!r}")
    measurements.append(Measurement("body involved by lesion", involved, "fraction of body volume", source))
    if involved > 0.5:
        return Proposal("none_gt50_involved", tuple(measurements),
                        f"no collapse (< {MIN_COLLAPSE_FRACTION:.0%}, project heuristic) and {involved:.0%} > 50 % involved")
    return Proposal("none", tuple(measurements),
                    f"no collapse (< {MIN_COLLAPSE_FRACTION:.0%}, project heuristic) and {involved:.0%} <= 50 % involved")


def propose_posterolateral(left_fraction: float, right_fraction: float,
                           source: str = "lesion overlap with pedicles/facets") -> Proposal:
    """Posterolateral involvement from the fraction of each side's pedicle/facet replaced by lesion."""
    sides = {}
    for side, value in (("left", left_fraction), ("right", right_fraction)):
        fraction = float(value)
        if not 0.0 <= fraction <= 1.0:
            raise ScoreInputError(f"{side} posterolateral involvement must be a fraction 0-1, got {value!r}")
        sides[side] = fraction
    involved = [side for side, fraction in sides.items() if fraction >= MIN_INVOLVED_FRACTION]
    choice = {2: "bilateral", 1: "unilateral", 0: "none"}[len(involved)]
    measurements = tuple(Measurement(f"{side} pedicle/facet replaced by lesion", fraction, "fraction", source)
                         for side, fraction in sides.items())
    rule = (f"sides with at least {MIN_INVOLVED_FRACTION:.0%} replaced (project heuristic): "
            f"{', '.join(involved) if involved else 'none'}")
    return Proposal(choice, measurements, rule)
