"""Bone-quality flags from trabecular HU, each with its source and the caveats of its figure.

Two published rules (``/shared/design/clinical-reference.md``, "Bone quality from CT
Hounsfield units"):

* **Screw failure after instrumentation without fusion** (J. Clin. Med. 2024, 96 matched
  patients): HU at the lowest instrumented vertebra (LIV) below 127.273 predicted
  mechanical failure (sensitivity 59.1 %, specificity 73.4 %, AUC 0.655). The study
  measured the LIV; the issue asks for the flag at the upper instrumented vertebra (UIV)
  too, and the flag says when it is applied there by extension. Without a planned
  construct, every measured level gets the flag conditionally ("if this level is the
  LIV/UIV").
* **Opportunistic osteoporosis screening** (Pickhardt PJ et al., Ann Intern Med 2013;
  L1 trabecular HU at 120 kVp): ≤ 110 HU osteoporosis range (> 90 % specific), 110-160 HU
  osteopenia range, > 160 HU normal range (≤ 160 HU is about 90 % sensitive). Applied at
  L1 only, where the thresholds were derived.

Boundaries: the screw-failure flag is raised for HU strictly below 127.273; the bands are
``hu <= 110``, ``110 < hu <= 160`` and ``hu > 160``. Every flag carries the caveats of
the HU it was computed from (kVp, contrast, lesion, fracture, truncated body), and a level
that is not usable (no body, fractured) gets no flag.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..case_parts import DISCLAIMER
from ..scores.hu_bands import NORMAL_HU, OSTEOPOROSIS_HU, SCREW_FAILURE_HU

__all__ = [
    "SCREW_FAILURE_THRESHOLD_HU",
    "SCREW_FAILURE_SOURCE",
    "PICKHARDT_SOURCE",
    "PICKHARDT_LOW_HU",
    "PICKHARDT_HIGH_HU",
    "HuFlag",
    "screw_failure_flag",
    "l1_band",
    "l1_band_flag",
    "evaluate_flags",
]

# The numbers live once, with their sources, in the score module.
SCREW_FAILURE_THRESHOLD_HU = SCREW_FAILURE_HU
SCREW_FAILURE_SOURCE = (
    "J. Clin. Med. 2024 (96 matched patients, instrumentation without fusion): HU at the lowest "
    "instrumented vertebra < 127.273 predicted mechanical failure (sensitivity 59.1 %, specificity 73.4 %, AUC 0.655)"
)
PICKHARDT_LOW_HU = OSTEOPOROSIS_HU
PICKHARDT_HIGH_HU = NORMAL_HU
PICKHARDT_SOURCE = (
    "Pickhardt PJ et al., Ann Intern Med 2013;158:588-595 (opportunistic screening, L1 trabecular HU at 120 kVp): "
    "<= 160 HU about 90 % sensitive, <= 110 HU more than 90 % specific for osteoporosis"
)


@dataclass
class HuFlag:
    """One flag on one level: what, from which figure, by which rule, with which caveats."""

    name: str
    level: str
    #: True when the rule's condition is met (e.g. HU below the threshold).
    raised: bool
    hu: float
    message: str
    basis: str
    source: str
    caveats: list[str] = field(default_factory=list)
    disclaimer: str = DISCLAIMER

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "level": self.level,
            "raised": self.raised,
            "hu": round(self.hu, 1),
            "message": self.message,
            "basis": self.basis,
            "source": self.source,
            "caveats": list(self.caveats),
            "disclaimer": self.disclaimer,
        }


def screw_failure_flag(level: str, hu: float, role: str | None = None, caveats: Iterable[str] = ()) -> HuFlag:
    """The screw-failure rule at ``level``; ``role`` is "LIV", "UIV" or None (not planned yet)."""
    raised = hu < SCREW_FAILURE_THRESHOLD_HU
    where = {
        "LIV": "the lowest instrumented vertebra",
        "UIV": "the upper instrumented vertebra (the study measured the LIV; applied here by extension)",
    }.get((role or "").upper(), "the lowest or upper instrumented vertebra, if this level is one")
    if raised:
        message = (f"{level}: {hu:.0f} HU < 127 HU: risk of screw failure at {where} "
                   "after instrumentation without fusion; consider cement augmentation")
    else:
        message = f"{level}: {hu:.0f} HU ≥ 127 HU: above the screw-failure threshold (at {where})"
    return HuFlag(
        name="screw_failure_risk",
        level=level,
        raised=raised,
        hu=float(hu),
        message=message,
        basis=f"combined trabecular ROI mean {hu:.1f} HU against {SCREW_FAILURE_THRESHOLD_HU} HU (flag when below)",
        source=SCREW_FAILURE_SOURCE,
        caveats=list(caveats),
    )


def l1_band(hu: float) -> str:
    """"osteoporosis range" (≤ 110), "osteopenia range" (110-160] or "normal range" (> 160)."""
    if hu <= PICKHARDT_LOW_HU:
        return "osteoporosis range"
    if hu <= PICKHARDT_HIGH_HU:
        return "osteopenia range"
    return "normal range"


def l1_band_flag(hu: float, caveats: Iterable[str] = (), level: str = "L1") -> HuFlag:
    """Pickhardt's L1 band of ``hu`` (raised when at or below 160 HU)."""
    band = l1_band(hu)
    limits = {"osteoporosis range": "≤ 110 HU", "osteopenia range": "110–160 HU", "normal range": "> 160 HU"}[band]
    return HuFlag(
        name="l1_osteoporosis_band",
        level=level,
        raised=band != "normal range",
        hu=float(hu),
        message=f"{level}: {hu:.0f} HU, {limits}: {band} (opportunistic screening bands at 120 kVp)",
        basis=f"combined trabecular ROI mean {hu:.1f} HU; bands ≤ 110, 110–160, > 160 HU",
        source=PICKHARDT_SOURCE,
        caveats=list(caveats),
    )


def evaluate_flags(report: Any, *, uiv: str | None = None, liv: str | None = None) -> Any:
    """Fill ``flags`` of every level of a :class:`~.hu_roi.HuReport` (or one ``LevelHu``); returns it.

    With ``uiv``/``liv`` given, the screw-failure rule is applied at those levels only;
    without, at every usable level, worded conditionally. The L1 bands apply at L1.
    """
    levels = [report] if hasattr(report, "slices") else list(report.levels.values())
    roles = {lv.upper(): role for lv, role in ((uiv, "UIV"), (liv, "LIV")) if lv}
    for level_hu in levels:
        level_hu.flags = flags_for_level(level_hu, roles=roles)
    return report


def flags_for_level(level_hu: Any, roles: dict[str, str] | None = None) -> list[HuFlag]:
    """The flags of one ``LevelHu`` (none when it is not usable)."""
    if not level_hu.usable:
        return []
    hu = level_hu.combined.mean
    if hu is None:
        return []
    caveats = level_hu.caveats
    out: list[HuFlag] = []
    roles = roles or {}
    if not roles:
        out.append(screw_failure_flag(level_hu.level, hu, None, caveats))
    elif level_hu.level.upper() in roles:
        out.append(screw_failure_flag(level_hu.level, hu, roles[level_hu.level.upper()], caveats))
    if level_hu.level.upper() == "L1":
        out.append(l1_band_flag(hu, caveats))
    return out
