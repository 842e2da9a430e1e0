"""The lesion table: level, type, volume, HU, review status, confidence and what produced each lesion."""

from __future__ import annotations

from .lesion_list import LABEL_ONLY, LesionEntry
from .model import NOT_COMPUTED, ReportTable
from .text import DASH, level_key

__all__ = ["lesion_table"]


def lesion_table(entries: list[LesionEntry], lesion_map: str | None) -> ReportTable:
    """One row per lesion, cranial to caudal; a 'not computed' row when the case has none."""
    table = ReportTable(
        key="lesions", title="Lesions",
        columns=["ID", "Level", "Type", "Volume mm³", "Mean HU", "SD HU", "Status", "Confidence", "Source"],
        widths=[0.4, 0.6, 0.7, 0.85, 0.7, 0.6, 1.3, 1.05, 2.6])
    for e in sorted(entries, key=lambda e: (level_key(e.level), e.id)):
        table.rows.append([e.id, e.level or DASH, e.kind, None if e.volume_mm3 is None else round(e.volume_mm3),
                           None if e.hu_mean is None else round(e.hu_mean, 1),
                           None if e.hu_sd is None else round(e.hu_sd, 1), e.status,
                           None if e.confidence is None else round(e.confidence, 2), e.source])
    if not table.rows:
        table.rows.append([DASH, DASH, DASH, None, None, None, NOT_COMPUTED, None,
                           "no lesion records and no lesion label map in the case"])
    if any(e.status == LABEL_ONLY for e in entries):
        table.notes.append(f"'{LABEL_ONLY}': a label of the map '{lesion_map}' without a lesion record (not reviewed); "
                           "its volume, HU and level were measured from the map for this report, its type read from "
                           "its label name where that says it.")
    if any(e.rejected for e in entries):
        table.notes.append("Rejected lesions are listed (they were reviewed and dismissed) but not drawn.")
    table.notes.append("Type, volume and HU of recorded lesions as stored in the case; confidence as given by the "
                       "detector (— when drawn by a user or not given).")
    return table
