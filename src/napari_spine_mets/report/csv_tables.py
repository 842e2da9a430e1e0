"""The report's tables as CSV files: per_level_hu, lesions, scores, provenance (and the others).

Tables that share a ``csv_name`` (the three provenance tables) go into one file with a
``table`` column. Cells keep their numbers (not the rounded text of the PDF) and empty
cells (shown "—" in the PDF) stay empty. A text cell that a spreadsheet would run as a formula ("=", "+", "-",
"@" first) is prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import io
from os import PathLike
from pathlib import Path
from typing import Any

from .model import Report, ReportTable
from .text import DASH

__all__ = ["csv_text", "write_csv_tables"]

_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    if value is None or value == DASH:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    return value


def csv_text(tables: list[ReportTable]) -> str:
    """One CSV document from tables (a 'table' column first when there are several)."""
    several = len(tables) > 1
    columns: list[str] = (["table"] if several else [])
    for t in tables:
        columns += [c for c in t.columns if c not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for t in tables:
        for record in t.records():
            row = {k: _cell(v) for k, v in record.items()}
            if several:
                row["table"] = t.title
            writer.writerow(row)
    return buffer.getvalue()


def write_csv_tables(report: Report, out_dir: str | PathLike[str]) -> dict[str, Path]:
    """Write ``<csv_name>.csv`` per table group into ``out_dir``; returns name -> path."""
    from ..io.atomic import atomic_write_text

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    groups: dict[str, list[ReportTable]] = {}
    for t in report.tables:
        groups.setdefault(t.csv_name, []).append(t)
    return {name: atomic_write_text(out / f"{name}.csv", csv_text(tables)) for name, tables in groups.items()}
