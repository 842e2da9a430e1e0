"""What a report holds, as plain data: header lines, figures (PNG), tables; no drawing, no files.

:func:`~napari_spine_mets.report.build.build_report` fills a :class:`Report` from a Case
once; the PDF, HTML and CSV writers only lay it out, so the three formats always say
the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["Cell", "ReportTable", "ReportFigure", "Report", "NOT_COMPUTED"]

#: A table cell: text, a number, a bool or None (shown as "—", written empty in CSV).
Cell = Any
#: The row text of anything the case has not computed.
NOT_COMPUTED = "not computed"


@dataclass
class ReportTable:
    """One table: ``key`` names its CSV file; ``widths`` are relative column widths for the PDF."""

    key: str
    title: str
    columns: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    #: Sources, caveats and what is missing, shown under the table.
    notes: list[str] = field(default_factory=list)
    widths: list[float] | None = None
    #: CSV file (without .csv) the table is written to; tables sharing one are written together.
    csv_name: str = ""

    def __post_init__(self) -> None:
        self.csv_name = self.csv_name or self.key

    def records(self) -> list[dict[str, Cell]]:
        """Rows as dicts keyed by column name (for CSV and JSON)."""
        return [dict(zip(self.columns, row)) for row in self.rows]


@dataclass
class ReportFigure:
    """One rendered image (PNG bytes) with its title and a caption saying what is shown and from where."""

    key: str
    title: str
    png: bytes
    caption: str
    #: Height / width of the image in pixels (the PDF keeps it).
    aspect: float
    #: "overview", "lesion" or "hu_roi": the PDF groups figures of a kind on a page.
    kind: str = "overview"


@dataclass
class Report:
    """Everything one report shows, in order."""

    title: str
    #: (label, value) lines about the patient and the study.
    header: list[tuple[str, str]]
    notice: str
    figures: list[ReportFigure] = field(default_factory=list)
    tables: list[ReportTable] = field(default_factory=list)
    #: What the case lacks (no vertebra labels, no lesions...), in words.
    missing: list[str] = field(default_factory=list)
    generated: datetime | None = None
    identified: bool = False
    software_version: str = ""
    case_id: str = ""

    def table(self, key: str) -> ReportTable:
        """The table with this key (KeyError when absent)."""
        for t in self.tables:
            if t.key == key:
                return t
        raise KeyError(key)

    def figures_of(self, kind: str) -> list[ReportFigure]:
        return [f for f in self.figures if f.kind == kind]
