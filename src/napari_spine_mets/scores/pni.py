"""Onodera's Prognostic Nutritional Index (PNI) and the 42.8 cut-off of a spine-surgery cohort.

PNI = 10 x serum albumin (g/dL) + 0.005 x total lymphocyte count (per mm3).
Formula: Onodera T, Goseki N, Kosaki G. Nihon Geka Gakkai Zasshi 1984;85(9):1001-1005
(Japanese; the original was not available to us, the formula was checked against later
papers that quote it with these units, e.g. Jian-hui C et al., Tumour Biol 2016;37:3277).
Cut-off: Clinical significance of prognostic nutritional index in patients who underwent
palliative surgery for spine metastasis. J Clin Med 2025;14(12):4372 (doi:10.3390/jcm14124372):
PNI >= 42.8 went with earlier ambulation and longer median survival (30.7 vs 7.0 months).
Checked against the article's abstract; agrees with clinical-reference.md.

Units are the trap here: ClinicalEntries stores albumin in g/L and lymphocytes in 10^9/L;
:func:`pni_from_entries` converts (g/L / 10 = g/dL; 10^9/L x 1000 = per mm3). Values that
look like the wrong unit are refused with a hint rather than converted silently.
"""

from __future__ import annotations

from ..case_parts import ClinicalEntries
from .result import Basis, ScoreInputError, ScoreItem, ScoreResult, Threshold, require_number

__all__ = ["CITATION", "PNI_CUTOFF", "pni", "pni_from_entries"]

CITATION = (
    "Onodera T, Goseki N, Kosaki G. Nihon Geka Gakkai Zasshi 1984;85(9):1001-1005 (formula); "
    "J Clin Med 2025;14(12):4372, doi:10.3390/jcm14124372 (cut-off 42.8 in palliative spine-metastasis surgery)."
)

#: PNI at or above this went with earlier ambulation and longer survival (J Clin Med 2025).
PNI_CUTOFF = 42.8


def pni(*, albumin_g_per_dl: float | None, lymphocytes_per_mm3: float | None) -> ScoreResult:
    """PNI from serum albumin (g/dL) and total lymphocyte count (per mm3 = per microlitre)."""
    albumin = require_number("serum albumin", albumin_g_per_dl, minimum=0.5, maximum=7.0, unit="g/dL",
                             hint="a value of 10 or more is probably g/L: divide by 10")
    lymphocytes = require_number("total lymphocyte count", lymphocytes_per_mm3, minimum=0.0, maximum=50000.0,
                                 unit="per mm3", hint="counts in 10^9/L must be multiplied by 1000")
    if 0.0 < lymphocytes < 20.0:
        raise ScoreInputError(f"total lymphocyte count {lymphocytes:g} per mm3 is implausibly low for a count "
                              "per mm3: a value in 10^9/L must be multiplied by 1000")
    albumin_part = 10.0 * albumin
    lymphocyte_part = 0.005 * lymphocytes
    value = round(albumin_part + lymphocyte_part, 6)
    high = value >= PNI_CUTOFF
    items = [
        ScoreItem("serum albumin", f"{albumin:g} g/dL", None, Basis.ENTRY, f"10 x albumin = {albumin_part:g}"),
        ScoreItem("total lymphocyte count", f"{lymphocytes:g} per mm3", None, Basis.ENTRY,
                  f"0.005 x lymphocytes = {lymphocyte_part:g}"),
    ]
    band = (f"PNI >= {PNI_CUTOFF}: the group with earlier ambulation and longer survival" if high
            else f"PNI < {PNI_CUTOFF}: the group with later ambulation and shorter survival")
    return ScoreResult(
        name="PNI", total=value, unit="", band=band, items=items,
        thresholds=[Threshold("J Clin Med 2025 cut-off", PNI_CUTOFF, "", ">=", high)],
        flags=[] if high else [f"PNI below {PNI_CUTOFF}: nutritional status may need attention before surgery"],
        citation=CITATION,
        notes=["cut-off from one retrospective cohort of palliative spine-metastasis surgery"],
    )


def pni_from_entries(entries: ClinicalEntries) -> ScoreResult:
    """PNI from the case's clinical entries (albumin g/L, lymphocytes 10^9/L), converted explicitly."""
    albumin = require_number("serum albumin", entries.albumin_g_per_l, minimum=5.0, maximum=70.0, unit="g/L")
    lymphocytes = require_number("lymphocyte count", entries.lymphocytes_1e9_per_l, minimum=0.0, maximum=50.0,
                                 unit="10^9/L")
    result = pni(albumin_g_per_dl=albumin / 10.0, lymphocytes_per_mm3=lymphocytes * 1000.0)
    result.notes.append(f"converted from {albumin:g} g/L and {lymphocytes:g} x 10^9/L")
    return result
