"""The case report: PDF, HTML and CSV tables of everything computed for one patient-study.

``write_report(case, out_dir)`` writes ``report.pdf``, ``report.html`` and the CSV tables;
:func:`build_report` gives the same content as plain data. No Qt, no napari; matplotlib
(Agg) is imported only when images or the PDF are drawn.
"""

from __future__ import annotations

from .build import NOTICE, build_report
from .model import NOT_COMPUTED, Report, ReportFigure, ReportTable
from .writer import FORMATS, ReportFormatError, parse_formats, write_report

__all__ = ["FORMATS", "NOTICE", "NOT_COMPUTED", "Report", "ReportFigure", "ReportFormatError", "ReportTable",
           "build_report", "parse_formats", "write_report"]
