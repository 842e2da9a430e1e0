"""The clinician's entries as a form: one field per ClinicalEntries value, each saying its unit and its users.

Every field can be left "not entered" (None): nothing is assumed. Choices are limited to
what the calculators accept (Karnofsky in 10 % steps, the project's primary-site
vocabulary, Frankel A-E), so a refused value is rare; numbers are typed with their unit
shown beside them. A few entries that only some scores need (whether visceral metastases
are removable or treatable, Tomita's growth category, "is the lung the primary" for an
unknown primary) are kept in ``ClinicalEntries.extras`` under the keys of
:mod:`napari_spine_mets.scores.from_case`. The form emits ``changed`` on every edit.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from qtpy.QtCore import Signal
from qtpy.QtGui import QDoubleValidator
from qtpy.QtWidgets import QComboBox, QFormLayout, QLabel, QLineEdit, QSpinBox, QWidget

from ..case_parts import ClinicalEntries
from ..scores.from_case import LUNG_PRIMARY, TOMITA_GROWTH, VISCERAL_REMOVABLE, VISCERAL_TREATABLE
from ..scores.primary_sites import accepted_sites

__all__ = ["ClinicalForm", "FIELDS", "FormField", "NOT_ENTERED_TEXT"]

NOT_ENTERED_TEXT = "— not entered —"
_EXTRA = "extras."
_YES_NO = ((True, "yes"), (False, "no"))


@dataclass(frozen=True)
class FormField:
    """One entry: attribute (``extras.KEY`` for an extra), label, widget kind, choices, unit, users."""

    attr: str
    label: str
    kind: str  # "number", "count", "choice"
    used_by: str
    unit: str = ""
    choices: tuple[tuple[Any, str], ...] = ()
    minimum: float = 0.0
    maximum: float = 1e6

    @property
    def tooltip(self) -> str:
        unit = f"Unit: {self.unit}. " if self.unit else ""
        return f"{unit}Used by: {self.used_by}. Leave it “not entered” if unknown: nothing is assumed."


FIELDS: tuple[FormField, ...] = (
    FormField("age_years", "Age", "number", "nomogram/survival models that name age_years (e.g. age > 60)",
              "years", maximum=120),
    FormField("sex", "Sex", "choice", "models that name sex", choices=(("female", "female"), ("male", "male"),
                                                                        ("other", "other"))),
    FormField("pain", "Pain (SINS)", "choice", "SINS pain item, at every lesion level (a level's own entry in the "
              "SINS table overrides it)", choices=(("mechanical", "mechanical (3)"),
                                                   ("occasional_non_mechanical", "occasional, non-mechanical (1)"),
                                                   ("none", "pain-free lesion (0)"))),
    FormField("karnofsky", "Karnofsky", "choice", "revised Tokuhashi (general condition); survival models", "%",
              choices=tuple((v, f"{v} %") for v in range(100, 0, -10))),
    FormField("ecog", "ECOG", "choice", "models that name ecog", choices=tuple((v, str(v)) for v in range(5))),
    FormField("primary_site", "Primary site", "choice", "revised Tokuhashi (primary site), Tomita (growth category "
              "of the sites Tomita 2001 names), modified Bauer", choices=tuple((s, s) for s in accepted_sites())),
    FormField(_EXTRA + TOMITA_GROWTH, "Tomita growth", "choice", "Tomita, when Tomita 2001 does not name the primary "
              "site (an entry overrides the site's category)",
              choices=(("slow", "slow (1)"), ("moderate", "moderate (2)"), ("rapid", "rapid (4)"))),
    FormField(_EXTRA + LUNG_PRIMARY, "Lung primary?", "choice", "modified Bauer ('primary not lung') when the primary "
              "site is unknown", choices=_YES_NO),
    FormField("frankel_grade", "Frankel grade", "choice", "revised Tokuhashi (palsy)",
              choices=(("A", "A: complete"), ("B", "B: sensory only"), ("C", "C: motor useless"),
                       ("D", "D: motor useful"), ("E", "E: normal"))),
    FormField("visceral_metastases", "Visceral metastases", "choice", "revised Tokuhashi (major internal organs), "
              "Tomita, modified Bauer; survival models", choices=_YES_NO),
    FormField(_EXTRA + VISCERAL_REMOVABLE, "  removable?", "choice", "revised Tokuhashi (removable or unremovable "
              "metastases to major internal organs), when visceral metastases are present", choices=_YES_NO),
    FormField(_EXTRA + VISCERAL_TREATABLE, "  treatable?", "choice", "Tomita (treatable or untreatable visceral "
              "metastases), when visceral metastases are present", choices=_YES_NO),
    FormField("extraspinal_bone_metastases", "Extraspinal bone mets", "count", "revised Tokuhashi; Tomita and "
              "modified Bauer (solitary = 1 bone metastasis in all, with the vertebral count)", "count", minimum=0),
    FormField("vertebral_metastases", "Vertebral metastases", "count", "revised Tokuhashi (metastases in the vertebral "
              "bodies); Tomita and modified Bauer (solitary vs multiple)", "count", minimum=1),
    FormField("alp_u_per_l", "ALP", "number", "nomogram models that name alp_u_per_l (e.g. ALP > 120 U/L)", "U/L",
              maximum=10000),
    FormField("albumin_g_per_l", "Albumin", "number", "PNI (10 × albumin in g/dL = g/L ÷ 10); survival models", "g/L",
              maximum=100),
    FormField("lymphocytes_1e9_per_l", "Lymphocytes", "number", "PNI (0.005 × count per mm³ = ×10⁹/L × 1000)",
              "×10⁹/L", maximum=50),
    FormField("ca125_u_per_ml", "CA125", "number", "nomogram models that name ca125_u_per_ml (e.g. benign vs "
              "malignant fracture)", "U/mL", maximum=100000),
)


class ClinicalForm(QWidget):
    """Editable ClinicalEntries; ``entries(base)`` reads it, ``fill(entries)`` writes it."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.widgets: dict[str, QWidget] = {}
        self.fields = {f.attr: f for f in FIELDS}
        layout = QFormLayout(self)
        layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for f in FIELDS:
            widget = self._make(f)
            widget.setToolTip(f.tooltip)
            widget.setObjectName(f"clinical_{f.attr.replace('.', '_')}")
            self.widgets[f.attr] = widget
            label = QLabel(f"{f.label} ({f.unit}):" if f.unit and f.kind == "number" else f"{f.label}:")
            label.setToolTip(f.tooltip)
            layout.addRow(label, widget)
        self._update_enabled()

    def _make(self, f: FormField) -> QWidget:
        if f.kind == "choice":
            combo = QComboBox()
            combo.addItem(NOT_ENTERED_TEXT, None)
            for value, text in f.choices:
                combo.addItem(text, value)
            combo.currentIndexChanged.connect(self._edited)
            return combo
        if f.kind == "count":
            spin = QSpinBox()
            spin.setRange(int(f.minimum) - 1, 999)
            spin.setSpecialValueText(NOT_ENTERED_TEXT)  # shown at the minimum: one below the smallest valid count
            spin.setValue(spin.minimum())
            spin.valueChanged.connect(self._edited)
            return spin
        edit = QLineEdit()
        edit.setPlaceholderText("not entered")
        validator = QDoubleValidator(f.minimum, f.maximum, 3, edit)
        validator.setNotation(QDoubleValidator.Notation.StandardNotation)
        edit.setValidator(validator)
        edit.textChanged.connect(self._edited)
        return edit

    def _edited(self, *args: Any) -> None:
        self._update_enabled()
        self.changed.emit()

    def _update_enabled(self) -> None:
        visceral = self.value("visceral_metastases")
        for key in (VISCERAL_REMOVABLE, VISCERAL_TREATABLE):
            self.widgets[_EXTRA + key].setEnabled(visceral is True)
        self.widgets[_EXTRA + LUNG_PRIMARY].setEnabled(self.value("primary_site") == "unknown")

    # ----------------------------------------------------------------- values
    def value(self, attr: str) -> Any:
        """The field's value (None when not entered, or when the field does not apply now)."""
        widget = self.widgets[attr]
        if not widget.isEnabled():
            return None
        if isinstance(widget, QComboBox):
            return widget.currentData()
        if isinstance(widget, QSpinBox):
            return None if widget.value() == widget.minimum() else int(widget.value())
        text = widget.text().strip().replace(",", ".")
        try:
            return float(text) if text else None
        except ValueError:
            return None

    def set_value(self, attr: str, value: Any) -> None:
        """Set one field as the user would (emits ``changed``)."""
        widget = self.widgets[attr]
        if isinstance(widget, QComboBox):
            index = widget.findData(value)
            if index < 0:
                raise ValueError(f"{attr}: {value!r} is not one of the choices")
            widget.setCurrentIndex(index)
        elif isinstance(widget, QSpinBox):
            widget.setValue(widget.minimum() if value is None else int(value))
        else:
            widget.setText("" if value is None else f"{float(value):g}")
        self._update_enabled()

    def entries(self, base: ClinicalEntries) -> ClinicalEntries:
        """``base`` with the form's values (extras the form does not show are kept)."""
        out = copy.deepcopy(base)
        for attr in self.widgets:
            value = self.value(attr)
            if attr.startswith(_EXTRA):
                key = attr[len(_EXTRA):]
                if value is None:
                    out.extras.pop(key, None)
                else:
                    out.extras[key] = value
            else:
                setattr(out, attr, value)
        return out

    def fill(self, entries: ClinicalEntries) -> None:
        """Show ``entries`` (no ``changed`` signal); a recorded value outside the choices is added as a choice."""
        for attr, widget in self.widgets.items():
            value = entries.extras.get(attr[len(_EXTRA):]) if attr.startswith(_EXTRA) else getattr(entries, attr)
            widget.blockSignals(True)
            try:
                if isinstance(widget, QComboBox):
                    index = widget.findData(value) if value is not None else 0
                    if index < 0:  # recorded elsewhere (a CSV, a cohort): shown as it is, never dropped
                        widget.addItem(f"{value} (as recorded)", value)
                        index = widget.count() - 1
                    widget.setCurrentIndex(index)
                elif isinstance(widget, QSpinBox):
                    widget.setValue(widget.minimum() if value is None else int(value))
                else:
                    widget.setText("" if value is None else f"{float(value):g}")
            finally:
                widget.blockSignals(False)
        # enabled state follows the filled values; enable all first so value() can read them
        for widget in self.widgets.values():
            widget.setEnabled(True)
        self._update_enabled()
