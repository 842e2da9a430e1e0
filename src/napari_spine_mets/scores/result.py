"""The result every calculator returns: total, band, the points of each item and why.

A clinician must be able to see, for every number, which entry or measurement it came
from, which thresholds it crossed and which paper the rule comes from. So each
calculator returns a :class:`ScoreResult` holding its :class:`ScoreItem` s (points,
the choice, whether a user entered it or an image measurement proposed it, and that
measurement), the :class:`Threshold` s it was compared against, the citation and the
decision-support disclaimer. ``to_json()`` gives plain JSON; ``to_findings()`` gives
:class:`~napari_spine_mets.case_parts.Finding` s for the case.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from ..case_parts import DISCLAIMER, Finding, jsonable
from ..errors import SpineMetsError

__all__ = [
    "ScoreInputError",
    "Basis",
    "Measurement",
    "Proposal",
    "ScoreItem",
    "Threshold",
    "ScoreResult",
    "require_number",
    "require_int",
    "normalise",
    "choose",
]


class ScoreInputError(SpineMetsError):
    """A calculator input is missing, out of range or not one of the accepted values."""


class Basis(str, Enum):
    """Where an item's value came from."""

    ENTRY = "user entry"
    IMAGE = "image proposal"
    COMPUTED = "computed"
    HEURISTIC = "project heuristic"


@dataclass(frozen=True)
class Measurement:
    """One measured quantity behind a proposal (e.g. body height loss 0.35, fraction)."""

    name: str
    value: float | int | str | None
    unit: str = ""
    #: What measured it (module and version, or the label map it came from).
    source: str = ""

    def to_json(self) -> dict[str, Any]:
        return jsonable({"name": self.name, "value": self.value, "unit": self.unit, "source": self.source})

    def text(self) -> str:
        value = f"{self.value:.6g}" if isinstance(self.value, float) else str(self.value)
        unit = f" {self.unit}" if self.unit else ""
        source = f" ({self.source})" if self.source else ""
        return f"{self.name} = {value}{unit}{source}"


@dataclass(frozen=True)
class Proposal:
    """A category proposed from the images, with the measurements it rests on.

    A calculator given a ``Proposal`` instead of a plain value records the item as an
    image proposal and keeps the measurements, so the user sees why it was proposed and
    can override it with an entry.
    """

    value: str
    measurements: tuple[Measurement, ...] = ()
    #: How the category follows from the measurements, in words (thresholds used).
    rule: str = ""


@dataclass(frozen=True)
class ScoreItem:
    """One item of a score: the choice, its points, and where the choice came from."""

    name: str
    choice: str
    points: float | int | None
    basis: Basis = Basis.ENTRY
    #: Why this choice gives these points (the table row), in words.
    detail: str = ""
    measurements: tuple[Measurement, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return jsonable({
            "name": self.name,
            "choice": self.choice,
            "points": self.points,
            "basis": self.basis.value,
            "detail": self.detail,
            "measurements": [m.to_json() for m in self.measurements],
        })

    def text(self) -> str:
        points = "" if self.points is None else f"{_fmt(self.points)} pt  "
        line = f"{self.name}: {self.choice}  {points}[{self.basis.value}]"
        if self.detail:
            line += f"  {self.detail}"
        for m in self.measurements:
            line += f"\n      measured: {m.text()}"
        return line


@dataclass(frozen=True)
class Threshold:
    """A cut-off the result was compared against, and whether it was crossed."""

    name: str
    value: float
    unit: str = ""
    #: The comparison that defines "crossed", e.g. ">=" or "<".
    comparison: str = ">="
    crossed: bool = False
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return jsonable({
            "name": self.name,
            "value": self.value,
            "unit": self.unit,
            "comparison": self.comparison,
            "crossed": self.crossed,
            "detail": self.detail,
        })

    def text(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        state = "crossed" if self.crossed else "not crossed"
        detail = f"  {self.detail}" if self.detail else ""
        return f"{self.name} ({self.comparison} {_fmt(self.value)}{unit}): {state}{detail}"


@dataclass
class ScoreResult:
    """A calculator's answer, explaining itself."""

    name: str
    total: float | int | str | None
    unit: str = "points"
    band: str = ""
    items: list[ScoreItem] = field(default_factory=list)
    thresholds: list[Threshold] = field(default_factory=list)
    #: Short flags for the UI (e.g. "surgical consultation"), each a sentence.
    flags: list[str] = field(default_factory=list)
    citation: str = ""
    #: Caveats to show with the number (kVp, contrast, heuristics, unverified facts).
    notes: list[str] = field(default_factory=list)
    level: str | None = None
    disclaimer: str = DISCLAIMER

    def to_json(self) -> dict[str, Any]:
        return jsonable({
            "name": self.name,
            "total": self.total,
            "unit": self.unit,
            "band": self.band,
            "level": self.level,
            "items": [item.to_json() for item in self.items],
            "thresholds": [t.to_json() for t in self.thresholds],
            "flags": list(self.flags),
            "notes": list(self.notes),
            "citation": self.citation,
            "disclaimer": self.disclaimer,
        })

    def explain(self) -> str:
        """Several lines of plain text: total and band, each item, thresholds, flags, source."""
        total = self.total if not isinstance(self.total, float) else _fmt(self.total)
        unit = f" {self.unit}" if self.unit else ""
        where = f" at {self.level}" if self.level else ""
        lines = [f"{self.name}{where}: {total}{unit}" + (f"  ({self.band})" if self.band else "")]
        lines += [f"  - {item.text()}" for item in self.items]
        lines += [f"  threshold: {t.text()}" for t in self.thresholds]
        lines += [f"  ! {flag}" for flag in self.flags]
        lines += [f"  note: {note}" for note in self.notes]
        if self.citation:
            lines.append(f"  source: {self.citation}")
        lines.append(f"  ({self.disclaimer})")
        return "\n".join(lines)

    def to_findings(self) -> list[Finding]:
        """The total as one Finding, plus one Finding per flag, for the case and reports."""
        parts = [f"{item.name}: {item.choice} ({_fmt(item.points)} pt, {item.basis.value})"
                 if item.points is not None else f"{item.name}: {item.choice} ({item.basis.value})"
                 for item in self.items]
        parts += [t.text() for t in self.thresholds]
        if self.band:
            parts.insert(0, f"band: {self.band}")
        parts += self.notes
        findings = [Finding(
            name=self.name,
            value=self.total,
            unit=self.unit,
            level=self.level,
            basis="; ".join(parts),
            source=self.citation,
            disclaimer=self.disclaimer,
        )]
        findings += [Finding(name=f"{self.name}: flag", value=flag, level=self.level,
                             basis=f"from {self.name} = {self.total}", source=self.citation,
                             disclaimer=self.disclaimer) for flag in self.flags]
        return findings


def _fmt(value: float | int | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def require_number(name: str, value: Any, *, minimum: float | None = None, maximum: float | None = None,
                   unit: str = "", hint: str = "") -> float:
    """``value`` as a finite float within [minimum, maximum], or a ScoreInputError naming it."""
    if value is None:
        raise ScoreInputError(f"{name} is missing: enter it (nothing is assumed)")
    if isinstance(value, bool):
        raise ScoreInputError(f"{name} must be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ScoreInputError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ScoreInputError(f"{name} must be a finite number, got {value!r}")
    unit_text = f" {unit}" if unit else ""
    extra = f" ({hint})" if hint else ""
    if minimum is not None and number < minimum:
        raise ScoreInputError(f"{name} {number:g}{unit_text} is below the accepted range "
                              f"{minimum:g}-{maximum if maximum is not None else 'inf'}{unit_text}{extra}")
    if maximum is not None and number > maximum:
        raise ScoreInputError(f"{name} {number:g}{unit_text} is above the accepted range "
                              f"{minimum if minimum is not None else '-inf'}-{maximum:g}{unit_text}{extra}")
    return number


def require_int(name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """``value`` as an int within [minimum, maximum] (a float with a fraction is refused)."""
    number = require_number(name, value, minimum=minimum, maximum=maximum)
    if not float(number).is_integer():
        raise ScoreInputError(f"{name} must be a whole number, got {value!r}")
    return int(number)


def normalise(text: str) -> str:
    """Lower case, "-"/"_"/"/" as spaces, single spaces: the form aliases are matched in."""
    for ch in "-_/":
        text = text.replace(ch, " ")
    return " ".join(text.lower().split())


def choose(item: str, value: Any, table: dict[str, int], aliases: dict[str, str] | None = None) -> tuple[str, int]:
    """(canonical choice, points) for ``value`` in a points table, or an error listing the choices.

    ``table`` maps canonical choices to points; ``aliases`` maps other spellings to a
    canonical choice. Matching ignores case, "-", "_" and "/".
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ScoreInputError(f"{item} is missing: enter one of {', '.join(table)} (nothing is assumed)")
    if not isinstance(value, str):
        raise ScoreInputError(f"{item} must be one of {', '.join(table)}, got {value!r}")
    key = normalise(value)
    lookup = {normalise(k): k for k in table}
    lookup.update({normalise(k): v for k, v in (aliases or {}).items()})
    if key not in lookup:
        raise ScoreInputError(f"{item} {value!r} is not recognised: accepted values are {', '.join(table)}")
    canonical = lookup[key]
    return canonical, table[canonical]
