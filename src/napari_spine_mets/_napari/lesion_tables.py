"""The Lesions dock's two tables: one row per lesion, one row per graded vertebra.

Kept apart from the dock so the dock holds the workflow (detect, review, draw) and this
module only how a lesion or a fracture finding reads in a table: rejected lesions greyed
and italic, each type with its layer colour, a possibly pathologic fracture in bold.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from qtpy.QtCore import Qt
from qtpy.QtGui import QColor, QFont, QIcon, QPixmap
from qtpy.QtWidgets import QAbstractItemView, QTableWidget, QTableWidgetItem

from ..anatomy import LEVELS
from ..case_parts import Finding, Lesion, LesionStatus
from ..detection.record import FRACTURE_FINDINGS
from ..display import DECISION_SUPPORT_NOTICE
from .lesion_layer import KIND_COLOURS

__all__ = ["COLUMNS", "FRACTURE_COLUMNS", "make_table", "fill_lesions", "fill_fractures", "lesion_id_at"]

COLUMNS = ("#", "Level", "Type", "Vol. (cm³)", "Mean HU", "Confidence", "Status")
FRACTURE_COLUMNS = ("Level", "Genant grade", "Height loss", "Possibly pathologic")
GREY = QColor(140, 140, 140)
_FLAG = QColor(213, 94, 0)
_ID_ROLE = Qt.ItemDataRole.UserRole


def make_table(columns: tuple[str, ...], selectable: bool) -> QTableWidget:
    """A read-only table with these headers (whole-row single selection when ``selectable``)."""
    table = QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(columns)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().setVisible(False)
    if selectable:
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    else:
        table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    if "Confidence" in columns:
        table.horizontalHeaderItem(columns.index("Confidence")).setToolTip(
            "Uncalibrated 0-1 ranking score from contrast and size (project heuristic): it orders the review, "
            "it is not a probability")
    return table


def lesion_id_at(table: QTableWidget, row: int) -> int | None:
    item = table.item(row, 0)
    return None if item is None else int(item.data(_ID_ROLE))


def fill_lesions(table: QTableWidget, lesions: list[Lesion], selected: int | None) -> None:
    """One row per lesion (the lesion id rides in each cell); re-selects ``selected``. Caller blocks signals."""
    table.setRowCount(len(lesions))
    for row, les in enumerate(lesions):
        volume = "—" if les.volume_mm3 is None else f"{les.volume_mm3 / 1000:.2f}"
        values = (str(les.id), les.level or "—", les.kind.value, volume, _fmt(les.hu.mean, "{:.0f}"),
                  _fmt(les.confidence, "{:.2f}"), les.status.value)
        tip = "\n".join(t for t in (f"source: {les.source}", les.notes, DECISION_SUPPORT_NOTICE) if t)
        for column, text in enumerate(values):
            item = QTableWidgetItem(text)
            item.setData(_ID_ROLE, les.id)
            item.setToolTip(tip)
            if column == COLUMNS.index("Type"):
                item.setIcon(_swatch(KIND_COLOURS[les.kind]))
            if les.status == LesionStatus.REJECTED:
                item.setForeground(GREY)
                _set_font(item, italic=True)
            table.setItem(row, column, item)
        if les.id == selected:
            table.selectRow(row)
    table.resizeColumnsToContents()


def fill_fractures(table: QTableWidget, findings: list[Finding]) -> None:
    """One row per level with a fracture finding, cranial to caudal; basis and source in the tooltip."""
    by_level: dict[str, dict[str, Finding]] = {}
    for f in findings:
        if f.name in FRACTURE_FINDINGS and f.level:
            by_level.setdefault(f.level, {})[f.name] = f
    levels = sorted(by_level, key=lambda lv: LEVELS.index(lv) if lv in LEVELS else len(LEVELS))
    table.setRowCount(len(levels))
    for row, level in enumerate(levels):
        got = by_level[level]
        grade, loss = got.get("genant_grade"), got.get("vertebral_height_loss")
        flagged = bool(got["possibly_pathologic_fracture"].value) if "possibly_pathologic_fracture" in got else False
        values = (level, "not graded" if grade is None or grade.value is None else str(grade.value),
                  "—" if loss is None or loss.value is None else f"{loss.value:.0f} %", "yes" if flagged else "no")
        tip = "\n".join(f"{f.name}: {f.basis}\nSource: {f.source}" for f in got.values() if f.basis)
        for column, text in enumerate(values):
            item = QTableWidgetItem(text)
            item.setToolTip(f"{tip}\n{DECISION_SUPPORT_NOTICE}")
            if flagged:
                item.setForeground(_FLAG)
                _set_font(item, bold=True)
            table.setItem(row, column, item)
    table.resizeColumnsToContents()


def _set_font(item: QTableWidgetItem, italic: bool = False, bold: bool = False) -> None:
    font = QFont(item.font())
    font.setItalic(italic)
    font.setBold(bold)
    item.setFont(font)


def _fmt(value: Any, pattern: str) -> str:
    return "—" if value is None or (isinstance(value, float) and np.isnan(value)) else pattern.format(value)


def _swatch(colour: str) -> QIcon:
    pixmap = QPixmap(12, 12)
    pixmap.fill(QColor(colour))
    return QIcon(pixmap)
