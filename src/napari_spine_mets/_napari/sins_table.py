"""SINS per lesion level as a table the clinician can edit: the image proposals, entries and overrides.

One row per lesion level: the total (coloured: missing / flagged / computed) and the six
components. A proposed value reads "img: lytic 2" in italics (hover for the measurement
and the rule); the pain entered in the form reads "form: mechanical 3"; a component
nobody gave reads "not entered" / "no proposal" in red. Clicking a cell opens the
choices (points shown); a choice is an entry at that level, which overrides the proposal.
"""

from __future__ import annotations

from typing import Any

from qtpy.QtCore import Qt, QTimer, Signal
from qtpy.QtGui import QBrush, QColor, QFont
from qtpy.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QLabel,
    QStyledItemDelegate,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..scores.from_case import SINS_COMPONENTS, CaseScores, sins_proposals

__all__ = ["SinsTable", "SINS_COLUMNS", "CHOICE_TEXT", "sins_points"]

SINS_COLUMNS = ("Level", "Total", "Location", "Pain", "Bone lesion", "Alignment", "Collapse", "Posterolateral")
_FIRST = 2  # column of the first component
_MISSING = QColor("#e57373")
_FLAG = QColor("#ffb74d")
_OK = QColor("#81c784")
#: Short display text of each SINS choice (Fisher 2010 categories).
CHOICE_TEXT: dict[str, dict[str, str]] = {
    "location": {"junctional": "junctional", "mobile": "mobile", "semi-rigid": "semi-rigid", "rigid": "rigid"},
    "pain": {"mechanical": "mechanical", "occasional_non_mechanical": "occasional", "none": "pain-free"},
    "bone_lesion": {"lytic": "lytic", "mixed": "mixed", "blastic": "blastic"},
    "alignment": {"normal": "normal", "de_novo_deformity": "deformity", "subluxation_translation": "subluxation"},
    "collapse": {"none": "none", "none_gt50_involved": ">50 % involved", "lt50": "<50 %", "gt50": ">50 %"},
    "posterolateral": {"none": "none", "unilateral": "unilateral", "bilateral": "bilateral"},
}


def sins_points(component: str) -> dict[str, int]:
    """The SINS points table of a component, as the score module defines it."""
    from ..scores.sins import (ALIGNMENT_POINTS, COLLAPSE_POINTS, LESION_POINTS, LOCATION_POINTS, PAIN_POINTS,
                               POSTEROLATERAL_POINTS)

    return {"location": LOCATION_POINTS, "pain": PAIN_POINTS, "bone_lesion": LESION_POINTS,
            "alignment": ALIGNMENT_POINTS, "collapse": COLLAPSE_POINTS,
            "posterolateral": POSTEROLATERAL_POINTS}[component]


def _choices(comp: str, proposal: Any, pain: str | None) -> tuple[list[tuple[str, str | None]], str]:
    """(text, value) choices of one cell (first: the proposal, the form's pain or nothing) and its tooltip."""
    points = sins_points(comp)
    if proposal is not None:
        category = proposal.value
        if comp == "location":
            from ..scores.sins import location_category

            category = location_category(proposal.value)
        first = f"img: {CHOICE_TEXT[comp].get(category, category)} {points.get(category, '?')}"
        tip = f"Image proposal: {proposal.rule}. Click to choose another value (an entry overrides it)."
    elif comp == "pain" and pain:
        first = f"form: {CHOICE_TEXT['pain'].get(pain, pain)} {points.get(pain, '?')}"
        tip = "The pain entered in the form; click to enter another at this level."
    else:
        first = "not entered" if comp in ("pain", "alignment") else "no proposal"
        tip = "Click to enter it (nothing is assumed)."
    return [(first, None)] + [(f"{text} {points[v]}", v) for v, text in CHOICE_TEXT[comp].items()], tip


class _ChoiceDelegate(QStyledItemDelegate):
    """A combo box over a cell; the choice is emitted by the table (its owner rescores)."""

    def __init__(self, owner: "SinsTable") -> None:
        super().__init__(owner.table)
        self.owner = owner

    def createEditor(self, parent: QWidget, option: Any, index: Any) -> QWidget | None:  # noqa: N802 (Qt name)
        data = index.data(Qt.ItemDataRole.UserRole)
        if not data:
            return None
        combo = QComboBox(parent)
        for text, value in data[2]:
            combo.addItem(text, value)
        combo.activated.connect(lambda _i, c=combo: self.commitData.emit(c))
        combo.activated.connect(lambda _i, c=combo: self.closeEditor.emit(c))
        QTimer.singleShot(0, combo.showPopup)
        return combo

    def setEditorData(self, editor: QWidget, index: Any) -> None:  # noqa: N802
        entered = index.data(Qt.ItemDataRole.UserRole)[3]
        editor.setCurrentIndex(max(editor.findData(entered), 0) if entered is not None else 0)

    def setModelData(self, editor: QWidget, model: Any, index: Any) -> None:  # noqa: N802
        level, comp, _, entered = index.data(Qt.ItemDataRole.UserRole)
        if editor.currentData() != entered:
            self.owner.edited.emit(level, comp, editor.currentData())


class SinsTable(QWidget):
    """The per-level SINS table; ``edited(level, component, value or None)`` on every choice."""

    edited = Signal(str, str, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        legend = QLabel("img (italic): proposed from the images, hover for the measurement; form: the pain entered in "
                        "the form; the number is the SINS points. Click a cell to enter a value at that level or to "
                        "override the proposal. Hover a total for its band or what is missing.")
        legend.setWordWrap(True)
        layout.addWidget(legend)
        self.table = QTableWidget(0, len(SINS_COLUMNS))
        self.table.setHorizontalHeaderLabels(SINS_COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.CurrentChanged
                                   | QAbstractItemView.EditTrigger.SelectedClicked)
        self.table.setItemDelegate(_ChoiceDelegate(self))
        layout.addWidget(self.table, 1)

    def fill(self, scores: CaseScores, entries: dict[str, dict[str, str]], pain: str | None) -> None:
        """One row per SINS level of ``scores``; ``entries`` are the per-level entries, ``pain`` the form's."""
        from .score_tree import fmt

        outcomes = [o for o in scores.of("SINS") if o.level]
        table = self.table
        table.setRowCount(len(outcomes))
        italic = QFont()
        italic.setItalic(True)
        for row, outcome in enumerate(outcomes):
            level = str(outcome.level)
            measures = scores.levels.levels.get(level)
            proposals = sins_proposals(measures)[0] if measures is not None else {}
            table.setItem(row, 0, QTableWidgetItem(level))
            for col, comp in enumerate(SINS_COMPONENTS, start=_FIRST):
                choices, tip = _choices(comp, proposals.get(comp), pain)
                entered = entries.get(level, {}).get(comp)
                text = next((t for t, v in choices if v == entered), choices[0][0])
                item = QTableWidgetItem(text)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
                item.setData(Qt.ItemDataRole.UserRole, (level, comp, choices, entered))
                item.setToolTip(tip)
                if entered is None and text.startswith("img:"):
                    item.setFont(italic)
                if entered is None and text in ("not entered", "no proposal"):
                    item.setForeground(QBrush(_MISSING))
                table.setItem(row, col, item)
            band = outcome.band or ("missing: " + "; ".join(outcome.missing) if outcome.missing else outcome.problem or "")
            total = QTableWidgetItem("missing" if outcome.total is None else fmt(outcome.total))
            total.setToolTip(band)
            total.setForeground(QBrush(_MISSING if outcome.result is None else _FLAG if outcome.result.flags else _OK))
            table.setItem(row, 1, total)
        table.resizeColumnsToContents()

    def cell(self, level: str, component: str) -> str:
        """The text of one cell ("total" or a component of ``SINS_COMPONENTS``)."""
        row = next(r for r in range(self.table.rowCount()) if self.table.item(r, 0).text() == level)
        col = 1 if component == "total" else SINS_COMPONENTS.index(component) + _FIRST
        return self.table.item(row, col).text()
