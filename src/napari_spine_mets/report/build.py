"""Build a :class:`~.model.Report` from a Case: header, notice, images, tables, what is missing.

Works on any partial case (only a CT, CT and vertebrae, everything): each part that
cannot be made is replaced by a line saying what is missing, never an error. Rendering
the images (matplotlib, Agg) is the slow part; ``images=False`` skips it (CSV only).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from .. import __version__
from ..case import Case
from ..case_parts import utc_now
from ..display import DECISION_SUPPORT_NOTICE
from .header import clinical_table, header_lines
from .hu_table import hu_level_table, trabecular_rois
from .inputs import find_inputs
from .lesion_list import lesion_entries
from .lesion_table import lesion_table
from .model import Report
from .provenance_table import provenance_tables
from .score_table import other_findings_table, score_table

__all__ = ["build_report", "NOTICE"]

log = logging.getLogger(__name__)

#: The notice every report shows at the top of its first page.
NOTICE = (f"{DECISION_SUPPORT_NOTICE} The scores, measurements and lesion findings below were computed or "
          "proposed by software and may be wrong: check them against the images; the treating clinician decides.")

Progress = Callable[[float, str], None]


def build_report(case: Case, *, identified: bool = False, images: bool = True,
                 progress: Progress | None = None) -> Report:
    """Everything the report shows for ``case`` (de-identified unless ``identified``)."""
    report_progress = progress or (lambda fraction, message: None)
    inputs = find_inputs(case)
    lesions = lesion_entries(case, inputs)
    report = Report(title="Spine metastasis imaging report", header=header_lines(case, inputs.volume,
                                                                                 identified=identified),
                    notice=NOTICE, missing=list(inputs.missing), generated=utc_now(), identified=identified,
                    software_version=__version__, case_id=case.case_id)
    if images and inputs.volume is not None:
        from .images import hu_roi_images, lesion_images, sagittal_overview

        report_progress(0.1, "sagittal overview")
        overview = sagittal_overview(inputs, lesions)
        if overview is not None:
            report.figures.append(overview)
        report_progress(0.35, "lesion images")
        report.figures += lesion_images(inputs, lesions)
        report_progress(0.6, "HU ROI images")
        report.figures += hu_roi_images(inputs, trabecular_rois(case))
    report_progress(0.8, "tables")
    report.tables.append(hu_level_table(case))
    report.tables.append(lesion_table(lesions, inputs.lesions_key))
    report.tables.append(score_table(case))
    others = other_findings_table(case)
    if others is not None:
        report.tables.append(others)
    report.tables.append(clinical_table(case))
    report.tables += provenance_tables(case, identified=identified, report_version=__version__)
    if not lesions:
        report.missing.append("no lesions recorded")
    if not trabecular_rois(case):
        report.missing.append("no trabecular HU ROIs")
    if not any(t.key == "scores" and any(r[2] != "not computed" for r in t.rows) for t in report.tables):
        report.missing.append("no scores computed")
    log.info("report built: %d figure(s), %d table(s), missing: %s", len(report.figures), len(report.tables),
             "; ".join(report.missing) or "nothing")
    return report
