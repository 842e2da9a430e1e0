"""The report as a PDF: A4 portrait pages drawn with matplotlib (PdfPages), text kept as text.

Page 1: title, the decision-support notice in a box, patient and study, what the case
lacks, and the sagittal overview. Then the lesion images (two per row), the HU ROI
images, and the tables (split across pages with their header repeated). Every page has
a footer with the software version, the case ID, "page i of n" and the disclaimer.
Fonts are embedded as TrueType (``pdf.fonttype`` 42) so the text can be searched and
copied.
"""

from __future__ import annotations

import io
import logging
from os import PathLike
from pathlib import Path

from ..case_parts import DISCLAIMER
from .model import Report, ReportFigure
from .pdf_layout import PAGE, Pages, wrap_text

__all__ = ["render_pdf", "write_pdf"]

log = logging.getLogger(__name__)

_RED = "#b00020"
#: Height of a lesion image with its title and caption: three rows fit on a page.
_LESION_MAX_H = 3.05


def render_pdf(report: Report) -> bytes:
    """The PDF file's bytes."""
    import matplotlib
    from matplotlib.backends.backend_pdf import PdfPages

    pages = Pages(on_new_page=lambda p: _running_header(p, report))
    _first_page(pages, report)
    _figures(pages, report)
    pages.ensure(3.0)
    for table in report.tables:
        pages.table(table)
    buffer = io.BytesIO()
    with matplotlib.rc_context({"pdf.fonttype": 42}):
        metadata = {"Title": report.title, "Creator": f"napari-spine-mets {report.software_version}",
                    "Subject": DISCLAIMER}
        with PdfPages(buffer, metadata=metadata) as pdf:
            for number, fig in enumerate(pages.figures, start=1):
                _footer(pages, fig, report, number, len(pages.figures))
                pdf.savefig(fig)
    log.info("PDF report: %d page(s)", len(pages.figures))
    return buffer.getvalue()


def write_pdf(report: Report, path: str | PathLike[str]) -> Path:
    """Write the PDF atomically at ``path``."""
    from ..io.atomic import atomic_write_bytes

    return atomic_write_bytes(Path(path), render_pdf(report))


def _first_page(pages: Pages, report: Report) -> None:
    pages.new_page()
    pages.paragraph(report.title, 17, bold=True, gap=0.02)
    if report.identified:
        pages.paragraph("IDENTIFIED REPORT: contains patient identifiers. Handle as confidential.", 9, bold=True,
                        colour=_RED)
    else:
        pages.paragraph("De-identified report", 9, colour="#444444")
    _notice_box(pages, report.notice)
    label_w = 1.25
    for label, value in report.header:
        lines = wrap_text(value, pages.width - label_w, 8.5)
        pages.ensure(len(lines) * 0.15)
        pages.text_at(PAGE["left"], pages.y, label, 8.5, bold=True)
        for line in lines:
            pages.text_at(PAGE["left"] + label_w, pages.y, line, 8.5)
            pages.y += 8.5 * 1.28 / 72
    pages.y += 0.08
    if report.missing:
        pages.paragraph("Not in this case: " + "; ".join(report.missing) + ".", 8, italic=True, colour="#333333")
    overview = report.figures_of("overview")
    if overview:
        _figure(pages, overview[0], width=pages.width, max_height=max(pages.room - 0.9, 4.0))


def _notice_box(pages: Pages, notice: str) -> None:
    title = "DECISION SUPPORT, NOT A DIAGNOSIS"
    lines = wrap_text(notice, pages.width - 0.3, 9)
    height = 0.16 + 11 * 1.28 / 72 + len(lines) * 9 * 1.28 / 72 + 0.1
    pages.y += 0.05
    pages.rect(PAGE["left"], pages.y, pages.width, height, face="#fff4e5", edge=_RED, lw=1.5)
    y = pages.y + 0.1
    pages.text_at(PAGE["left"] + 0.15, y, title, 11, bold=True, colour=_RED)
    y += 11 * 1.28 / 72
    for line in lines:
        pages.text_at(PAGE["left"] + 0.15, y, line, 9)
        y += 9 * 1.28 / 72
    pages.y += height + 0.15


def _figure(pages: Pages, figure: ReportFigure, *, width: float, max_height: float, x: float | None = None) -> None:
    """Title, image (scaled to fit ``width`` x ``max_height``) and caption, centred unless ``x`` is given."""
    caption = wrap_text(figure.caption, width, 7)
    caption_h = len(caption) * 7 * 1.28 / 72
    title_h = 10 * 1.28 / 72 + 0.04
    image_h = min(width * figure.aspect, max_height - caption_h - title_h)
    image_w = image_h / figure.aspect
    pages.ensure(title_h + image_h + caption_h + 0.1)
    left = PAGE["left"] if x is None else x
    pages.text_at(left, pages.y, figure.title, 10, bold=True)
    pages.y += title_h
    pages.image(figure.png, left + (width - image_w) / 2, pages.y, image_w, image_h)
    pages.y += image_h + 0.05
    for line in caption:
        pages.text_at(left, pages.y, line, 7, colour="#333333")
        pages.y += 7 * 1.28 / 72
    pages.y += 0.15


def _figures(pages: Pages, report: Report) -> None:
    lesions = report.figures_of("lesion")
    if lesions:
        pages.new_page()
        pages.heading("Lesions: axial images", 12)
        column = (pages.width - 0.25) / 2
        for i in range(0, len(lesions), 2):
            pair = lesions[i:i + 2]
            heights = [_figure_height(f, column, _LESION_MAX_H) for f in pair]
            pages.ensure(max(heights))
            top = pages.y
            bottoms = []
            for k, fig in enumerate(pair):
                pages.y = top
                _figure(pages, fig, width=column, max_height=_LESION_MAX_H, x=PAGE["left"] + k * (column + 0.25))
                bottoms.append(pages.y)
            pages.y = max(bottoms)
    rois = report.figures_of("hu_roi")
    if rois:
        pages.new_page()
        pages.heading("Trabecular HU ROIs on their slices", 12)
        for fig in rois:
            _figure(pages, fig, width=pages.width, max_height=3.2)


def _figure_height(figure: ReportFigure, width: float, max_height: float) -> float:
    caption_h = len(wrap_text(figure.caption, width, 7)) * 7 * 1.28 / 72
    title_h = 10 * 1.28 / 72 + 0.04
    return title_h + min(width * figure.aspect, max_height - caption_h - title_h) + caption_h + 0.25


def _running_header(pages: Pages, report: Report) -> None:
    view = "identified: confidential" if report.identified else "de-identified"
    pages.text_at(PAGE["left"], 0.35, f"{report.title} ({view})", 7.5, colour="#555555")
    pages.text_at(PAGE["width"] - PAGE["right"], 0.35, "decision support, not a diagnosis", 7.5, colour=_RED,
                  ha="right")


def _footer(pages: Pages, fig: object, report: Report, number: int, total: int) -> None:
    pages.figures, saved = [fig], pages.figures  # draw on this page
    try:
        y = PAGE["height"] - PAGE["bottom"] + 0.3
        when = report.generated.strftime("%Y-%m-%d %H:%M UTC") if report.generated else ""
        pages.text_at(PAGE["left"], y, f"napari-spine-mets {report.software_version} · case {report.case_id[:12]} · "
                                       f"generated {when}", 7, colour="#555555")
        pages.text_at(PAGE["width"] - PAGE["right"], y, f"page {number} of {total}", 7, colour="#555555", ha="right")
        pages.text_at(PAGE["left"], y + 0.14, f"{DISCLAIMER.capitalize()}: every figure says where it came from.", 7,
                      colour=_RED)
    finally:
        pages.figures = saved
