"""The "Scores" dock: the clinician's entries beside every score, each item with its points and basis.

Left, the clinical form (:mod:`.clinical_form`); right, every score of the live case
(:func:`napari_spine_mets.scores.from_case.score_case`): total, band, each item with its
points and where it came from (entered / from the image, which level and lesion / not
entered), and the inputs still missing. A "SINS by level" table shows the image proposals
of each lesion level and lets the clinician enter alignment or override any proposal; a
"Model" tab applies a nomogram or survival model file. Scores update as the user types
(debounced, no Compute button). Entries go into ``session.case.clinical`` (topic
"clinical"), the scores into the case's findings (topic "findings"). The image
measurements are redone off the Qt thread when lesions, labels or the case change.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from qtpy.QtCore import Qt, QTimer
from qtpy.QtWidgets import QLabel, QScrollArea, QSizePolicy, QSplitter, QTabWidget, QVBoxLayout, QWidget

from ..display import DECISION_SUPPORT_NOTICE
from ..scores.from_case import SINS_ENTRIES, CaseScores, record_scores_in_case, score_case, score_findings
from ..scores.level_measures import CaseLevels
from .clinical_form import ClinicalForm
from .nomogram_panel import NomogramPanel
from .score_tree import ScoreTree
from .session import session_of
from .sins_table import SinsTable
from .workers import run_in_background

if TYPE_CHECKING:
    import napari

__all__ = ["ScoresWidget", "DEBOUNCE_MS"]

log = logging.getLogger(__name__)

DEBOUNCE_MS = 300


class ScoresWidget(QWidget):
    """Dock widget: clinical form, live scores with their basis, SINS per level, model file."""

    def __init__(self, napari_viewer: "napari.Viewer") -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.session = session_of(napari_viewer)
        self.levels: CaseLevels | None = None
        self.scores: CaseScores | None = None
        self._sins_entries: dict[str, dict[str, str]] = {}
        self._measuring = False
        self._measure_again = False
        self._own_commit = False
        self._score_timer = QTimer(self)
        self._score_timer.setSingleShot(True)
        self._score_timer.setInterval(DEBOUNCE_MS)
        self._score_timer.timeout.connect(self.apply_entries)
        self._measure_timer = QTimer(self)
        self._measure_timer.setSingleShot(True)
        self._measure_timer.setInterval(DEBOUNCE_MS)
        self._measure_timer.timeout.connect(self.measure)
        self._build()
        self._load_from_case()
        self.session.changed.connect(self._on_case_changed)
        self.viewer.layers.events.inserted.connect(self._schedule_measure)
        self.viewer.layers.events.removed.connect(self._schedule_measure)
        self._measure_timer.start(0)

    # ----------------------------------------------------------------- layout
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        notice = QLabel(DECISION_SUPPORT_NOTICE + " Entries override image proposals; nothing missing is assumed.")
        notice.setWordWrap(True)
        layout.addWidget(notice)
        self.status = QLabel("Measuring the lesion levels…")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        # form above, scores below: the dock stays narrow enough to share the window with the image
        splitter = QSplitter(Qt.Orientation.Vertical)
        self.form = ClinicalForm()
        self.form.changed.connect(self._score_timer.start)
        scroll = QScrollArea()
        scroll.setWidget(self.form)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(self.form.minimumSizeHint().width() + scroll.verticalScrollBar().sizeHint().width() + 8)
        splitter.addWidget(scroll)
        self.tabs = QTabWidget()
        self.score_tree = ScoreTree()
        self.tabs.addTab(self.score_tree, "Scores")
        self.sins_table = SinsTable()
        self.sins_table.edited.connect(self._sins_edited)
        self.tabs.addTab(self.sins_table, "SINS by level")
        self.model_panel = NomogramPanel()
        self.model_panel.changed.connect(self.rescore)
        self.model_panel.extra_entered.connect(self._model_extra_entered)
        self.tabs.addTab(self.model_panel, "Model")
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(1, 1)
        layout.addWidget(splitter, 1)
        self.setMinimumWidth(max(460, scroll.minimumWidth()))
        # fill the dock's height (napari adds a stretch below widgets that do not ask for height)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)

    # ----------------------------------------------------------------- case <-> form
    def _load_from_case(self) -> None:
        clinical = self.session.case.clinical
        self.form.fill(clinical)
        raw = clinical.extras.get(SINS_ENTRIES)
        self._sins_entries = copy.deepcopy(raw) if isinstance(raw, dict) else {}

    def _on_case_changed(self, topic: str) -> None:
        if self._own_commit or topic in ("findings", "saved", "case-folder"):
            return
        if topic == "case":
            self.levels = None
            self._load_from_case()
            self._schedule_measure()
        elif topic == "clinical":
            self._load_from_case()
            self.rescore()
        elif topic in ("lesions", "labels"):
            self._schedule_measure()
        elif topic == "rois":
            self.rescore()

    def apply_entries(self) -> None:
        """Write the form (and the per-level SINS entries) into the case, then rescore."""
        self._score_timer.stop()
        case = self.session.case
        new = self.form.entries(case.clinical)
        sins_entries = {lv: dict(v) for lv, v in self._sins_entries.items() if v}
        if sins_entries:
            new.extras[SINS_ENTRIES] = sins_entries
        else:
            new.extras.pop(SINS_ENTRIES, None)
        changed = _changes(case.clinical, new)
        if changed:
            case.clinical = new
            self._commit("clinical entries: " + "; ".join(changed), "clinical", save=False)
        self.rescore(save=bool(changed))

    def _model_extra_entered(self, column: str, value: Any) -> None:
        """A model input outside the form (e.g. tumour_volume_ml): kept in the clinical extras."""
        extras = self.session.case.clinical.extras
        if extras.get(column) == value:
            return
        if value is None:
            extras.pop(column, None)
        else:
            extras[column] = value
        self._commit(f"clinical entries: {column} {value!r}", "clinical", save=False)
        self.rescore(save=True)

    def _commit(self, what: str, topic: str, save: bool = True) -> None:
        self._own_commit = True
        try:
            self.session.commit(what, topic=topic, target="scores", save=save)
        finally:
            self._own_commit = False

    # ----------------------------------------------------------------- measuring
    def _schedule_measure(self, *args: Any) -> None:
        self._measure_timer.start()

    def measure(self) -> Any:
        """Re-measure the lesion levels off the Qt thread (labels and lesions as they are now)."""
        from ..scores.level_measures import measure_levels

        if self._measuring:
            self._measure_again = True
            return None
        self.session.sync_from_layers()
        case = self.session.case
        self._measuring = True
        self._say("Measuring the lesion levels…")
        return run_in_background(lambda: measure_levels(case), self._measured,
                                 description="Scores: measuring lesion levels", on_error=self._measure_failed)

    def _measured(self, levels: CaseLevels) -> None:
        self._measuring = False
        if self._measure_again:
            self._measure_again = False
            self.measure()
            return
        self.levels = levels
        used = ", ".join(f"{role}: '{name}'" for role, name in levels.maps_used.items()) or "no label maps"
        notes = f" — {'; '.join(levels.notes)}" if levels.notes else ""
        self._say(f"Image proposals from {used}; {len(levels.levels)} lesion level(s){notes}")
        self.rescore()

    def _measure_failed(self, message: str) -> None:
        self._measuring = False
        self.levels = CaseLevels(notes=[f"measurement failed: {message}"])
        self._say(f"Image proposals unavailable: {message}")
        self.rescore()

    def _say(self, text: str) -> None:
        """Show the status line in full (a wrapped QLabel does not grow on its own in this layout)."""
        self.status.setText(text)
        self.status.setMinimumHeight(self.status.heightForWidth(max(self.status.width(), 400)))
        self.layout().activate()  # move the widgets below now, not at the next layout pass

    # ----------------------------------------------------------------- scoring
    def rescore(self, save: bool = False) -> CaseScores:
        """Compute every score from the case as it is now; show it; record it in the case."""
        from ..models.from_case import MODEL_FINDING, record_model_in_case

        case = self.session.case
        levels = self.levels if self.levels is not None else CaseLevels(notes=["measuring the lesion levels…"])
        self.scores = score_case(case, levels)
        self.score_tree.fill(self.scores)
        self.sins_table.fill(self.scores, self._sins_entries, case.clinical.pain)
        self.model_panel.refresh_rois(case)
        outcome = self.model_panel.apply(case)
        if self.levels is None:
            return self.scores  # record once the image proposals are in
        before = score_findings(case) + [f for f in case.findings if f.name == MODEL_FINDING]
        record_scores_in_case(case, self.scores)
        if outcome is not None:
            record_model_in_case(case, outcome)
        after = score_findings(case) + [f for f in case.findings if f.name == MODEL_FINDING]
        if after != before:
            computed = sum(o.computed for o in self.scores.outcomes)
            self._commit(f"scores updated ({computed} computed, {len(self.scores.missing)} input(s) missing)",
                         "findings")
        elif save:
            self.session.save()
        return self.scores

    def _sins_edited(self, level: str, comp: str, value: str | None) -> None:
        entries = self._sins_entries.setdefault(level, {})
        if value is None:
            entries.pop(comp, None)
        else:
            entries[comp] = value
        self._score_timer.start()

    # ----------------------------------------------------------------- for tests and scripting
    def set_sins_entry(self, level: str, component: str, value: str | None) -> None:
        """Enter (or clear, with None) one SINS component at one level, as the table's editor does."""
        self.sins_cell(level, component)  # the level must be in the table
        self._sins_edited(level, component, value)

    def sins_cell(self, level: str, component: str) -> str:
        """The text of one cell of the SINS table ("total" or a component)."""
        return self.sins_table.cell(level, component)

    def shown(self, title: str) -> dict[str, str]:
        """A score as the tree shows it: {column: text} plus "item: name" -> "value | points | basis"."""
        return self.score_tree.shown(title)


def _changes(old: Any, new: Any) -> list[str]:
    """'field value' for every entry that differs (extras by key)."""
    out = []
    for f in fields(old):
        if f.name != "extras" and getattr(old, f.name) != getattr(new, f.name):
            out.append(f"{f.name} {getattr(new, f.name)!r}")
    for key in sorted(set(old.extras) | set(new.extras)):
        if old.extras.get(key) != new.extras.get(key):
            out.append(f"{key} {new.extras.get(key)!r}")
    return out
