"""A model file applied to the live case: probability (or survival) and each term's share, or what is missing.

"Choose model file…" loads a versioned JSON model (:func:`napari_spine_mets.models.model_file.load_model`);
a demonstration model (fitted on a synthetic cohort) is labelled so in a red banner that
cannot be missed. The values come from the case's clinical entries and the radiomics
features of the chosen ROI (:mod:`napari_spine_mets.models.from_case`); every input the
model lacks is listed, nothing is imputed.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qtpy.QtCore import Signal
from qtpy.QtGui import QDoubleValidator
from qtpy.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from ..case import Case
    from ..models.from_case import ModelOutcome

__all__ = ["NomogramPanel", "DEMO_BANNER"]

log = logging.getLogger(__name__)

DEMO_BANNER = "⚠ DEMONSTRATION MODEL: fitted on a synthetic cohort. NOT FOR CLINICAL USE."
_NO_ROI = "(no ROI: clinical values only)"
_DEMO_STYLE = ("QLabel { background: #b71c1c; color: white; font-weight: bold; font-size: 13pt; "
               "padding: 6px; border-radius: 3px; }")


class NomogramPanel(QWidget):
    """Choose a model file and an ROI; shows the model's answer for the case."""

    #: Emitted when the model or the ROI changes (the owner recomputes).
    changed = Signal()
    #: (column, value or None): a model input the clinical form does not have, entered here.
    extra_entered = Signal(str, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model: dict[str, Any] | None = None
        self.model_path: Path | None = None
        self.outcome: ModelOutcome | None = None
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.choose_button = QPushButton("Choose model file…")
        self.choose_button.clicked.connect(self._choose)
        row.addWidget(self.choose_button)
        self.path_label = QLabel("No model chosen (nomogram or survival model JSON).")
        self.path_label.setWordWrap(True)
        row.addWidget(self.path_label, 1)
        layout.addLayout(row)
        self.demo_label = QLabel(DEMO_BANNER)
        self.demo_label.setObjectName("demoModelBanner")
        self.demo_label.setStyleSheet(_DEMO_STYLE)
        self.demo_label.setWordWrap(True)
        self.demo_label.setVisible(False)
        layout.addWidget(self.demo_label)
        self.name_label = QLabel("")
        self.name_label.setWordWrap(True)
        layout.addWidget(self.name_label)
        self.extras_box = QGroupBox("Inputs this model reads that the clinical form does not have")
        self.extras_form = QFormLayout(self.extras_box)
        self.extras_box.setVisible(False)
        self.extra_edits: dict[str, QLineEdit] = {}
        layout.addWidget(self.extras_box)
        form = QFormLayout()
        self.roi_combo = QComboBox()
        self.roi_combo.setToolTip("The ROI whose radiomics features the model reads (Radiomics dock)")
        self.roi_combo.currentIndexChanged.connect(lambda *_: self.changed.emit())
        form.addRow("Features from:", self.roi_combo)
        layout.addLayout(form)
        self.result_label = QLabel("")
        self.result_label.setWordWrap(True)
        self.result_label.setObjectName("modelResult")
        layout.addWidget(self.result_label)
        self.table = QTableWidget(0, 5)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setMinimumHeight(120)
        self.table.setVisible(False)
        layout.addWidget(self.table, 1)
        self.missing_label = QLabel("")
        self.missing_label.setWordWrap(True)
        self.missing_label.setStyleSheet("color: #e57373;")
        layout.addWidget(self.missing_label)
        self.notes_label = QLabel("")
        self.notes_label.setWordWrap(True)
        layout.addWidget(self.notes_label)
        layout.addStretch(1)

    # ----------------------------------------------------------------- model and ROI
    def _choose(self) -> None:
        start = str(Path(__file__).resolve().parents[1] / "models" / "demo")
        path, _ = QFileDialog.getOpenFileName(self, "Choose a model file", start, "Model files (*.json)")
        if path:
            self.load_model(path)

    def load_model(self, path: str | Path) -> None:
        """Load a model file; a bad file shows the loader's message and keeps the previous model."""
        from napari.utils.notifications import show_error

        from ..errors import SpineMetsError
        from ..models.model_file import load_model

        try:
            doc = load_model(path)
        except SpineMetsError as exc:
            show_error(str(exc))
            self.path_label.setText(str(exc))
            return
        self.model, self.model_path = doc, Path(path)
        self.path_label.setText(Path(path).name)
        self.demo_label.setVisible(bool(doc.get("demonstration")))
        kind = "nomogram (logistic)" if doc["kind"] == "logistic_nomogram" else "Cox survival model"
        label = f"<br><b>{doc['label']}</b>" if doc.get("label") else ""
        self.name_label.setText(f"<b>{doc['name']}</b> — {kind}{label}<br><i>{doc.get('disclaimer', '')}</i>")
        self._build_extra_inputs(doc)
        self.changed.emit()

    def _build_extra_inputs(self, doc: dict[str, Any]) -> None:
        """One field per clinical column of the model that ClinicalEntries has no field for (kept in extras)."""
        from dataclasses import fields

        from ..case_parts import ClinicalEntries
        from ..models.from_case import model_columns

        while self.extras_form.rowCount():
            self.extras_form.removeRow(0)
        known = {f.name for f in fields(ClinicalEntries)}
        self.extra_edits = {}
        for column in model_columns(doc)[0]:
            if column in known:
                continue
            edit = QLineEdit()
            edit.setPlaceholderText("not entered")
            edit.setValidator(QDoubleValidator(edit))
            edit.setToolTip(f"'{column}' as the model file names it; stored with the case's clinical entries")
            edit.editingFinished.connect(lambda c=column, e=edit: self.extra_entered.emit(c, _number(e.text())))
            self.extras_form.addRow(f"{column}:", edit)
            self.extra_edits[column] = edit
        self.extras_box.setVisible(bool(self.extra_edits))

    def show_extras(self, extras: dict[str, Any]) -> None:
        """Show the case's values of the model's extra inputs (without emitting)."""
        for column, edit in self.extra_edits.items():
            if edit.hasFocus():
                continue
            value = extras.get(column)
            edit.blockSignals(True)
            edit.setText("" if value is None else f"{value:g}" if isinstance(value, float) else str(value))
            edit.blockSignals(False)

    def refresh_rois(self, case: "Case") -> None:
        """List the case's ROIs that hold measurements (keeps the current choice)."""
        current = self.roi_combo.currentData()
        self.roi_combo.blockSignals(True)
        self.roi_combo.clear()
        self.roi_combo.addItem(_NO_ROI, None)
        for roi in case.rois:
            if roi.kind.value == "radiomics" and roi.measurements:
                where = f"{roi.label_map} label {roi.label_id}" if roi.label_map else "drawn ROI"
                level = f" ({roi.level})" if roi.level else ""
                self.roi_combo.addItem(f"ROI {roi.id}: {where}{level}", roi.id)
        index = self.roi_combo.findData(current)
        self.roi_combo.setCurrentIndex(index if index >= 0 else 0)
        self.roi_combo.blockSignals(False)

    def apply(self, case: "Case") -> "ModelOutcome | None":
        """Apply the chosen model to ``case`` and show the answer."""
        from ..models.from_case import apply_model_to_case

        if self.model is None:
            self.outcome = None
            return None
        self.show_extras(case.clinical.extras)
        self.outcome = apply_model_to_case(self.model, case, self.roi_combo.currentData())
        self._show(self.outcome)
        return self.outcome

    # ----------------------------------------------------------------- display
    def _show(self, outcome: "ModelOutcome") -> None:
        self.missing_label.setText("")
        self.notes_label.setText("")
        self.table.setRowCount(0)
        self.table.setVisible(outcome.result is not None)
        if outcome.result is None:
            self.result_label.setText("<b>Not computed.</b>" + (f" {outcome.problem}" if outcome.problem else ""))
            if outcome.missing:
                self.missing_label.setText("Missing (nothing is imputed):\n• " + "\n• ".join(outcome.missing))
            _fit(self.result_label, self.missing_label)
            return
        r = outcome.result
        if outcome.kind == "logistic_nomogram":
            side = "at or above" if r["above_threshold"] else "below"
            self.result_label.setText(
                f"Predicted probability of <b>{r['outcome']}</b> = 1: <b>{r['probability']:.3f}</b><br>"
                f"{side.capitalize()} the model's threshold {r['threshold']:g}; total points {r['total_points']:.1f}")
            rows = [(t["term"], t["value"], t["coefficient"], t["points"], t["logit_contribution"], t.get("note", ""))
                    for t in r["terms"]]
            self._fill(("Term", "Value", "Coefficient", "Points", "Logit share"), rows)
        else:
            survival = ", ".join(f"{k.replace('_', ' ')}: {v:.3f}" for k, v in r["survival_probability"].items())
            self.result_label.setText(f"Predicted survival probability: <b>{survival}</b><br>Relative hazard vs the "
                                      f"training cohort's average patient: {r['relative_hazard_vs_average']:.2f}")
            rows = [(c["variable"], c["value"], c["log_hazard_ratio"], c["hazard_factor"],
                     c["log_hazard_contribution"], c.get("note", "")) for c in r["contributions"]]
            self._fill(("Variable", "Value", "log HR", "Hazard factor", "log-hazard share"), rows)
        notes = list(r.get("notes") or []) + [r.get("basis", "")]
        self.notes_label.setText("\n".join(n for n in notes if n))
        _fit(self.result_label, self.notes_label)

    def _fill(self, header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        self.table.setColumnCount(len(header))
        self.table.setHorizontalHeaderLabels(header)
        self.table.setRowCount(len(rows))
        for i, row in enumerate(rows):
            for j, value in enumerate(row[: len(header)]):
                text = f"{value:.4g}" if isinstance(value, float) else str(value)
                item = QTableWidgetItem(text + (" !" if j == 0 and row[-1] else ""))
                if row[-1]:
                    item.setToolTip(row[-1])
                self.table.setItem(i, j, item)
        self.table.resizeColumnsToContents()
        for col in range(self.table.columnCount()):
            self.table.setColumnWidth(col, self.table.columnWidth(col) + 16)
        self.table.horizontalHeader().setStretchLastSection(True)
        rows_height = sum(self.table.rowHeight(r) for r in range(min(len(rows), 12)))
        self.table.setFixedHeight(self.table.horizontalHeader().height() + rows_height + 6)

    def term_values(self) -> dict[str, str]:
        """First two columns of the table as {term: value text} (for scripting and tests)."""
        return {self.table.item(i, 0).text().rstrip(" !"): self.table.item(i, 1).text()
                for i in range(self.table.rowCount())}


def _number(text: str) -> float | None:
    try:
        return float(text.strip().replace(",", ".")) if text.strip() else None
    except ValueError:
        return None


def _fit(*labels: QLabel) -> None:
    """Give wrapped labels the height of their text (they do not grow on their own beside a table)."""
    for label in labels:
        label.setMinimumHeight(label.heightForWidth(max(label.width(), 300)))
    parent = labels[0].parentWidget() if labels else None
    if parent is not None and parent.layout() is not None:
        parent.layout().activate()  # move the table below now, not at the next layout pass
