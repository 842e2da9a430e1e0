"""Biologically effective dose (BED) of a fractionated schedule, and the SBRT fracture flag.

BED = n d (1 + d / (alpha/beta)) for n fractions of d Gy: the standard linear-quadratic
expression (e.g. Fowler JF. The linear-quadratic formula and progress in fractionated
radiotherapy. Br J Radiol 1989;62:679-694). No repopulation or time factor is included.

Flag: in an SBRT cohort of 217 spinal lesions (J Clin Med 2025, per clinical-reference.md),
BED with alpha/beta = 3 Gy (BED3) >= 104 Gy was the only significant risk factor for a
painful vertebral compression fracture. We could NOT find that article to verify the
figure; the threshold is used as written in clinical-reference.md and says so in every
result. BED is compared after rounding to 1e-6 Gy so that a schedule whose exact BED3 is
104 Gy is not missed by floating-point error.
"""

from __future__ import annotations

from .result import Basis, ScoreInputError, ScoreItem, ScoreResult, Threshold, require_int, require_number

__all__ = ["CITATION", "BED3_VCF_THRESHOLD_GY", "bed_gy", "bed"]

CITATION = (
    "BED = n d (1 + d/(alpha/beta)), linear-quadratic model (Fowler, Br J Radiol 1989;62:679-694); "
    "BED3 >= 104 Gy painful compression fracture risk after spine SBRT: J Clin Med 2025 (as cited in "
    "clinical-reference.md; not verified by the project)."
)

#: BED3 at or above this was the risk factor for painful compression fracture after spine SBRT.
BED3_VCF_THRESHOLD_GY = 104.0


def bed_gy(dose_per_fraction_gy: float, fractions: int, alpha_beta_gy: float) -> float:
    """BED in Gy (unrounded)."""
    return fractions * dose_per_fraction_gy * (1.0 + dose_per_fraction_gy / alpha_beta_gy)


def bed(*, dose_per_fraction_gy: float | None, fractions: int | None, alpha_beta_gy: float | None = 3.0) -> ScoreResult:
    """BED of ``fractions`` x ``dose_per_fraction_gy`` at ``alpha_beta_gy``, with BED3 and its flag."""
    d = require_number("dose per fraction", dose_per_fraction_gy, minimum=0.0, maximum=40.0, unit="Gy",
                       hint="a single fraction above 40 Gy is not a clinical schedule; check the unit (Gy, not cGy)")
    if d <= 0.0:
        raise ScoreInputError(f"dose per fraction must be above 0 Gy, got {d:g}")
    n = require_int("number of fractions", fractions, minimum=1, maximum=100)
    ab = require_number("alpha/beta", alpha_beta_gy, minimum=0.5, maximum=30.0, unit="Gy")
    value = round(bed_gy(d, n, ab), 6)
    bed3 = round(bed_gy(d, n, 3.0), 6)
    flagged = bed3 >= BED3_VCF_THRESHOLD_GY
    items = [
        ScoreItem("schedule", f"{n} x {d:g} Gy", None, Basis.ENTRY, f"total physical dose {n * d:g} Gy"),
        ScoreItem("alpha/beta", f"{ab:g} Gy", None, Basis.ENTRY),
    ]
    if ab != 3.0:
        items.append(ScoreItem("BED3 (alpha/beta 3 Gy)", f"{bed3:g} Gy", None, Basis.COMPUTED,
                               "computed for the compression-fracture threshold"))
    flags = []
    if flagged:
        flags.append(f"BED3 {bed3:g} Gy >= {BED3_VCF_THRESHOLD_GY:g} Gy: higher risk of painful vertebral "
                     "compression fracture after spine SBRT")
    return ScoreResult(
        name=f"BED (alpha/beta {ab:g} Gy)", total=value, unit="Gy", band=f"BED3 = {bed3:g} Gy", items=items,
        thresholds=[Threshold("BED3 compression-fracture threshold", BED3_VCF_THRESHOLD_GY, "Gy", ">=", flagged)],
        flags=flags, citation=CITATION,
        notes=["linear-quadratic BED without time factor",
               "the 104 Gy threshold is quoted from clinical-reference.md; its source was not verified"],
    )
