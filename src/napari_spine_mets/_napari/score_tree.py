"""Every score of the case as a tree: total and band, each item with its points and basis, what is missing.

Top rows are the scores (one per level for SINS, Bilsky, HU); their children the items
(choice, points, "entered" / "from image: …" / "not entered"), the missing inputs, the
calculator's problem and the flags. The basis column wraps. Selecting a score shows its
full explanation (thresholds, measurements, citation) below the tree.
"""

from __future__ import annotations

from typing import Any

from qtpy.QtCore import QRect, QSize, Qt
from qtpy.QtGui import QBrush, QColor, QFont, QFontMetrics
from qtpy.QtWidgets import QStyledItemDelegate, QTextEdit, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from ..scores.from_case import BILSKY_CT, CaseScores, ScoreOutcome
from .sins_table import CHOICE_TEXT

__all__ = ["ScoreTree", "TREE_COLUMNS", "MISSING", "FLAG", "OK", "fmt"]

TREE_COLUMNS = ("Score / item", "Value", "Points", "Basis")
MISSING = QColor("#e57373")
FLAG = QColor("#ffb74d")
OK = QColor("#81c784")
#: Longer texts for SINS choices, where there is room.
_TREE_TEXT = {"collapse": {"none_gt50_involved": "none, >50 % of body involved", "lt50": "<50 % collapse",
                           "gt50": ">50 % collapse"},
              "alignment": {"de_novo_deformity": "de novo deformity", "subluxation_translation": "subluxation/translation"},
              "pain": {"occasional_non_mechanical": "occasional, non-mechanical"}}


def fmt(value: Any) -> str:
    """A total as shown: whole numbers without decimals, others to 4 significant digits."""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.4g}"
    return str(value)


def _choice_text(outcome: ScoreOutcome, item: str, choice: str | None) -> str:
    """A SINS choice in words ("lt50" -> "<50 % collapse"); other scores' choices as they are."""
    if choice is None:
        return "—"
    comp = item.replace(" ", "_")
    if outcome.score != "SINS" or comp not in CHOICE_TEXT:
        return choice
    return _TREE_TEXT.get(comp, {}).get(choice) or CHOICE_TEXT[comp].get(choice, choice)


def _explain(outcome: ScoreOutcome) -> str:
    if outcome.result is not None:
        return outcome.result.explain()
    lines = [f"{outcome.title}: not computed"]
    lines += [f"  missing: {m}" for m in outcome.missing]
    if outcome.problem:
        lines.append(f"  problem: {outcome.problem}")
    lines += [f"  - {r.name}: {r.choice or '—'}  [{r.basis}]" for r in outcome.items]
    return "\n".join(lines)


class _WrapDelegate(QStyledItemDelegate):
    """Row heights that fit wrapped text (QTreeView's own ignore the column width)."""

    def __init__(self, tree: QTreeWidget) -> None:
        super().__init__(tree)
        self.tree = tree

    def sizeHint(self, option: Any, index: Any) -> QSize:  # noqa: N802 (Qt name)
        size = super().sizeHint(option, index)
        text = index.data(Qt.ItemDataRole.DisplayRole) or ""
        font = index.data(Qt.ItemDataRole.FontRole) or option.font
        indent = self.tree.indentation() * (2 if index.parent().isValid() else 1) if index.column() == 0 else 0
        width = max(self.tree.columnWidth(index.column()) - indent - 10, 40)
        rect = QFontMetrics(font).boundingRect(QRect(0, 0, width, 100000), int(Qt.TextFlag.TextWordWrap), str(text))
        return QSize(size.width(), max(size.height(), rect.height() + 4))


class ScoreTree(QWidget):
    """The tree of scores and, below it, the selected score's explanation."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.scores: CaseScores | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.tree = QTreeWidget()
        self.tree.setColumnCount(len(TREE_COLUMNS))
        self.tree.setHeaderLabels(TREE_COLUMNS)
        self.tree.setWordWrap(True)
        self.tree.setUniformRowHeights(False)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.tree.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.tree.setItemDelegate(_WrapDelegate(self.tree))
        self.tree.header().sectionResized.connect(lambda *_: self.tree.doItemsLayout())
        self.tree.itemSelectionChanged.connect(self._show_details)
        layout.addWidget(self.tree, 4)
        self.details = QTextEdit()
        self.details.setReadOnly(True)
        self.details.setPlaceholderText("Select a score to see how it was computed and its source.")
        layout.addWidget(self.details, 1)

    def fill(self, scores: CaseScores) -> None:
        """Show ``scores`` (the selected score stays selected)."""
        selected = self._selected_title()
        self.scores = scores
        self.tree.clear()
        bold = QFont()
        bold.setBold(True)
        for index, outcome in enumerate(scores.outcomes):
            total = "—" if outcome.total is None else fmt(outcome.total)
            unit = outcome.result.unit if outcome.result is not None else ""
            unit = unit if unit in ("points", "HU") else ""  # longer units (a ratio) are in the explanation
            state = outcome.band if outcome.computed else ("not computed: " + "; ".join(outcome.missing)
                                                           if outcome.missing else f"not computed: {outcome.problem}")
            top = QTreeWidgetItem([outcome.title, f"{total} {unit}".strip(), "", state])
            top.setData(0, Qt.ItemDataRole.UserRole, index)
            for col in range(len(TREE_COLUMNS)):
                top.setFont(col, bold)
            top.setForeground(3, QBrush(OK if outcome.computed else MISSING))
            top.setToolTip(3, state)
            for row in outcome.items:
                points = "" if row.points is None else fmt(row.points)
                child = QTreeWidgetItem([row.name, _choice_text(outcome, row.name, row.choice), points, row.basis])
                child.setToolTip(3, row.basis + (f"\n{row.detail}" if row.detail else ""))
                if row.choice is None:
                    child.setForeground(3, QBrush(MISSING))
                top.addChild(child)
            for label, texts, colour in (("missing", outcome.missing, MISSING),
                                         ("problem", [outcome.problem] if outcome.problem else [], MISSING),
                                         ("⚑ flag", outcome.result.flags if outcome.result is not None else [], FLAG)):
                for text in texts:
                    child = QTreeWidgetItem([label, "", "", text])
                    child.setForeground(0, QBrush(colour))
                    child.setForeground(3, QBrush(colour))
                    top.addChild(child)
            self.tree.addTopLevelItem(top)
            # an incomplete SINS: its header says why; a Bilsky estimate: its one item repeats the header
            top.setExpanded((outcome.computed or outcome.score != "SINS") and outcome.score != BILSKY_CT)
            if outcome.title == selected:
                top.setSelected(True)
        self.tree.header().setStretchLastSection(True)
        # the basis (last column, stretched) keeps at least ~40 % of the width to wrap in
        width = max(self.tree.viewport().width(), 420)
        for col, share in ((0, 0.30), (1, 0.20), (2, 0.10)):
            self.tree.resizeColumnToContents(col)
            self.tree.setColumnWidth(col, min(self.tree.columnWidth(col) + 8, int(share * width)))
        self.tree.doItemsLayout()  # row heights follow the wrapped basis text

    def _selected_title(self) -> str | None:
        items = self.tree.selectedItems()
        if not items:
            return None
        item = items[0] if items[0].parent() is None else items[0].parent()
        return item.text(0)

    def _show_details(self) -> None:
        items = self.tree.selectedItems()
        if not items or self.scores is None:
            return
        top = items[0] if items[0].parent() is None else items[0].parent()
        self.details.setPlainText(_explain(self.scores.outcomes[int(top.data(0, Qt.ItemDataRole.UserRole))]))

    def select(self, title: str) -> None:
        """Select a score by its title ("SINS at L1") and show its explanation."""
        self.tree.setCurrentItem(self._top(title))

    def _top(self, title: str) -> QTreeWidgetItem:
        for i in range(self.tree.topLevelItemCount()):
            if self.tree.topLevelItem(i).text(0) == title:
                return self.tree.topLevelItem(i)
        raise KeyError(title)

    def shown(self, title: str) -> dict[str, str]:
        """A score's row as {column: text}, plus its children as "item: name" -> "value | points | basis"."""
        top = self._top(title)
        out = {name: top.text(col) for col, name in enumerate(TREE_COLUMNS)}
        for j in range(top.childCount()):
            child = top.child(j)
            key = f"item: {child.text(0)}"
            out[key if key not in out else f"{key} {j}"] = " | ".join(child.text(c) for c in range(1, 4))
        return out
