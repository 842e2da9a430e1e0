"""``write_report``: the report of a case as PDF, HTML and CSV tables in one folder.

File names are fixed (``report.pdf``, ``report.html``, ``<table>.csv``), never built
from patient data. The report is built once, so the formats agree with each other.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from os import PathLike
from pathlib import Path

from ..case import Case
from ..errors import SpineMetsError
from .build import build_report

__all__ = ["FORMATS", "ReportFormatError", "write_report", "parse_formats"]

log = logging.getLogger(__name__)

FORMATS = ("pdf", "html", "csv")


class ReportFormatError(SpineMetsError):
    """An unknown report format was asked for."""


def parse_formats(formats: str | Iterable[str]) -> tuple[str, ...]:
    """``"pdf,html"`` or ``["pdf", "html"]`` as a checked tuple (order kept, duplicates dropped)."""
    items = formats.split(",") if isinstance(formats, str) else list(formats)
    out: list[str] = []
    for item in (str(i).strip().lower() for i in items):
        if not item:
            continue
        if item not in FORMATS:
            raise ReportFormatError(f"unknown report format {item!r}: choose from {', '.join(FORMATS)}")
        if item not in out:
            out.append(item)
    if not out:
        raise ReportFormatError(f"no report format given: choose from {', '.join(FORMATS)}")
    return tuple(out)


def write_report(case: Case, out_dir: str | PathLike[str], *, formats: str | Iterable[str] = FORMATS,
                 identified: bool = False, progress: Callable[[float, str], None] | None = None) -> dict[str, Path]:
    """Write the report of ``case`` into ``out_dir``; returns {"pdf": path, "html": path, "csv:<table>": path...}.

    De-identified unless ``identified`` (then name, ID and birth date are shown when the
    case has them). Works on partial cases: what is missing is said in the report.
    """
    wanted = parse_formats(formats)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report_progress = progress or (lambda fraction, message: None)
    report = build_report(case, identified=identified, images="pdf" in wanted or "html" in wanted,
                          progress=lambda f, m: report_progress(0.7 * f, m))
    written: dict[str, Path] = {}
    if "pdf" in wanted:
        from .pdf import write_pdf

        report_progress(0.75, "PDF")
        written["pdf"] = write_pdf(report, out / "report.pdf")
    if "html" in wanted:
        from .html_report import write_html

        report_progress(0.9, "HTML")
        written["html"] = write_html(report, out / "report.html")
    if "csv" in wanted:
        from .csv_tables import write_csv_tables

        written.update({f"csv:{name}": path for name, path in write_csv_tables(report, out).items()})
    report_progress(1.0, "done")
    log.info("report of case %s written to %s (%s)", case.case_id, out, ", ".join(sorted(written)))
    return written
