"""The "Lesions" dock (workflow step 3): detect, review, draw and click-to-segment lesions.

"Detect lesions" runs :func:`napari_spine_mets.detection.pipeline.detect_lesions` off the
Qt thread (progress bar, cancel) on the chosen CT and vertebra labels; the result goes
into the viewer's live Case (:mod:`.session`) through
:func:`napari_spine_mets.detection.record.record_lesions_in_case` and into a "lesions"
labels layer coloured by type. The table lists each lesion (level, type, volume, mean HU,
confidence, status); clicking a row jumps the view to it. Accept / Reject record the
review; "Draw new lesion" and "Click to segment" add lesions by hand (status "drawn"),
which stay editable with napari's paint and erase tools. A second table gives the
per-vertebra fracture assessment (Genant grade, height loss, possibly pathologic).
Every figure is decision support for a clinician, not a diagnosis.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from qtpy.QtCore import Qt, QTimer
from qtpy.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..case_parts import Lesion, LesionKind, LesionStatus
from ..errors import SpineMetsError
from ..io import geometry
from ..volume import LabelMap, Volume
from .dock_parts import add_notice, add_run_row
from .layers import METADATA_KEY
from .lesion_layer import (
    KIND_COLOURS,
    LESIONS_LAYER,
    add_or_update_lesions_layer,
    lesion_centre,
    style_lesions_layer,
)
from .lesion_tables import COLUMNS, FRACTURE_COLUMNS, fill_fractures, fill_lesions, lesion_id_at, make_table
from .session import session_of
from .workers import run_in_background, run_with_progress

if TYPE_CHECKING:
    import napari

    from ..detection.click_segment import ClickResult
    from ..detection.pipeline import LesionReport

__all__ = ["LesionWidget", "NO_VERTEBRAE", "COLUMNS", "FRACTURE_COLUMNS"]

log = logging.getLogger(__name__)
T = TypeVar("T")

NO_VERTEBRAE = "Segment the vertebrae first (Segment dock)"
_NONE = "(none)"
_CLICK_TOLERANCE_MM = 1.5


class LesionWidget(QWidget):
    """Dock widget: lesion detection, review table, manual drawing and click-to-segment."""

    def __init__(self, napari_viewer: "napari.Viewer") -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.session = session_of(napari_viewer)
        #: The last detection's report (its normal-bone model speeds up click-to-segment).
        self.report: LesionReport | None = None
        self._report_inputs: tuple[str, str] | None = None
        self._worker: Any = None
        self._cancel: Any = None
        self._click_worker: Any = None
        #: Label id the user is painting with "Draw new lesion", until it is recorded.
        self.pending_id: int | None = None
        self._filling = False
        self._watched: set[int] = set()
        self._paint_timer = QTimer(self)
        self._paint_timer.setSingleShot(True)
        self._paint_timer.setInterval(250)
        self._paint_timer.timeout.connect(self._record_after_paint)
        self._build()
        self.viewer.layers.events.inserted.connect(self._on_layer_inserted)
        self.viewer.layers.events.removed.connect(self._refresh_choices)
        self.session.changed.connect(self._on_case_changed)
        self._refresh_choices()
        if LESIONS_LAYER in self.viewer.layers:
            self._adopt_layer(self.viewer.layers[LESIONS_LAYER])
        self.refresh()

    # ----------------------------------------------------------------- layout
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        add_notice(layout)
        form = QFormLayout()
        self.ct_combo, self.labels_combo, self.parts_combo = QComboBox(), QComboBox(), QComboBox()
        form.addRow("CT:", self.ct_combo)
        form.addRow("Vertebra labels:", self.labels_combo)
        form.addRow("Parts (optional):", self.parts_combo)
        layout.addLayout(form)
        self.detect_button, self.cancel_button, self.progress = add_run_row(layout, "Detect lesions")
        self.status = QLabel("Lesions are searched inside the labelled vertebrae and sacrum.")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.status)
        legend = "  ".join(f"<span style='color:{c}; font-size:14pt'>■</span> {k.value}"
                           for k, c in KIND_COLOURS.items())
        self.legend = QLabel(legend + "  <span style='color:#9e9e9e; font-size:14pt'>■</span> rejected")
        layout.addWidget(self.legend)
        self.table = make_table(COLUMNS, selectable=True)
        self.table.setMinimumHeight(170)
        self.table.itemSelectionChanged.connect(self._on_row_selected)
        layout.addWidget(self.table, 3)
        review = QHBoxLayout()
        self.accept_button = QPushButton("Accept")
        self.reject_button = QPushButton("Reject")
        self.kind_combo = QComboBox()
        self.kind_combo.addItems([k.value for k in LesionKind])
        self.kind_combo.setToolTip("Type of the selected lesion (change it to correct the proposal)")
        review.addWidget(self.accept_button)
        review.addWidget(self.reject_button)
        review.addWidget(QLabel("Type:"))
        review.addWidget(self.kind_combo)
        layout.addLayout(review)
        manual = QHBoxLayout()
        self.draw_button = QPushButton("Draw new lesion")
        self.record_button = QPushButton("Record drawn lesion")
        self.record_button.setToolTip("Measure the lesion being drawn (or the selected one, after editing it)")
        self.click_button = QPushButton("Click to segment")
        self.click_button.setCheckable(True)
        self.click_button.setToolTip("Then click inside a lesion in the image: it is grown within that vertebra")
        manual.addWidget(self.draw_button)
        manual.addWidget(self.record_button)
        manual.addWidget(self.click_button)
        layout.addLayout(manual)
        layout.addWidget(QLabel("Vertebral body height (Genant semi-quantitative grade):"))
        self.fracture_table = make_table(FRACTURE_COLUMNS, selectable=False)
        self.fracture_table.setMinimumHeight(200)
        layout.addWidget(self.fracture_table, 2)
        self.notes = QLabel("")
        self.notes.setWordWrap(True)
        layout.addWidget(self.notes)
        self.setMinimumWidth(480)
        self.detect_button.clicked.connect(self.detect)
        self.cancel_button.clicked.connect(self.cancel)
        self.accept_button.clicked.connect(lambda: self.set_status(LesionStatus.ACCEPTED))
        self.reject_button.clicked.connect(lambda: self.set_status(LesionStatus.REJECTED))
        self.kind_combo.activated.connect(lambda index: self.set_kind(LesionKind(self.kind_combo.itemText(index))))
        self.draw_button.clicked.connect(self.start_drawing)
        self.record_button.clicked.connect(self.record_drawn)
        self.click_button.toggled.connect(self.set_click_mode)

    # ----------------------------------------------------------------- layer choices
    def _on_layer_inserted(self, event: Any) -> None:
        self._refresh_choices()
        if event.value.name == LESIONS_LAYER and event.value._type_string == "labels":
            self._adopt_layer(event.value)

    def _adopt_layer(self, layer: Any) -> None:
        """Colour a "lesions" layer (ours, or one a reopened case brought) and follow its painting."""
        style_lesions_layer(layer, self.session.case.lesions)
        if id(layer) not in self._watched:
            layer.events.paint.connect(self._on_paint)
            self._watched.add(id(layer))

    def _refresh_choices(self, event: Any = None) -> None:
        images = [layer.name for layer in self.viewer.layers if _core(layer, "volume") is not None]
        labels = [layer.name for layer in self.viewer.layers if layer._type_string == "labels"]
        _fill(self.ct_combo, images, prefer=("ct",))
        vertebrae = [n for n in labels if n != LESIONS_LAYER]
        _fill(self.labels_combo, [_NONE, *vertebrae], prefer=("vertebra", "totalseg"),
              avoid=("part", "lesion", "tissue"), default=_NONE)
        _fill(self.parts_combo, [_NONE, *vertebrae], prefer=("part",), default=_NONE)

    def _ct(self) -> tuple[Any, Volume]:
        from ..errors import InputError

        name = self.ct_combo.currentText()
        if not name or name not in self.viewer.layers:
            raise InputError(None, "Lesions: open a CT first (Case dock, or File → Open)")
        layer = self.viewer.layers[name]
        original: Volume = layer.metadata[METADATA_KEY]["volume"]
        return layer, Volume(np.asarray(layer.data), original.affine, original.metadata, layer.name)

    def _vertebrae(self, volume: Volume) -> tuple[LabelMap, LabelMap | None]:
        from ..detection.inputs import NoVertebraError

        name = self.labels_combo.currentText()
        if not name or name == _NONE or name not in self.viewer.layers:
            raise NoVertebraError(f"{NO_VERTEBRAE}: no vertebra labels layer is open. Lesions are searched inside "
                                  "labelled vertebrae; drawing a lesion by hand still works.")
        vertebrae = _labels_of(self.viewer.layers[name], volume)
        parts_name = self.parts_combo.currentText()
        parts = None
        if parts_name and parts_name != _NONE and parts_name in self.viewer.layers:
            parts = _labels_of(self.viewer.layers[parts_name], volume)
        return vertebrae, parts

    # ----------------------------------------------------------------- detection
    def detect(self) -> Any:
        """Run detection in the background; the case, the layer and the tables follow when it ends."""
        from ..detection.pipeline import detect_lesions

        try:
            _, volume = self._ct()
            vertebrae, parts = self._vertebrae(volume)
        except SpineMetsError as exc:
            self._say(str(exc), error=True)
            return None
        inputs = (volume.name, vertebrae.name)

        def work(progress: Any, cancel: Any) -> "LesionReport":
            return _advised(lambda: detect_lesions(volume, vertebrae, parts, progress=progress, cancel=cancel))

        self.detect_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setValue(0)
        self._say("Detecting lesions…")
        self._worker, self._cancel = run_with_progress(
            work, lambda report: self._detected(report, volume, inputs), description="Detecting lesions",
            on_progress=self._on_progress, on_error=self._on_error)
        return self._worker

    @property
    def running(self) -> bool:
        """True while detection runs."""
        return self._worker is not None

    def cancel(self) -> None:
        if self._cancel is not None:
            self._cancel()
            self._say("Cancelling… (nothing in the case is changed)")

    def _on_progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(int(round(100 * fraction)))
        self._say(f"Detecting lesions: {message}…")

    def _on_error(self, message: str) -> None:
        self._worker = self._cancel = None
        self.detect_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.progress.setValue(0)
        self._say(message, error="cancelled" not in message)

    def _detected(self, report: "LesionReport", volume: Volume, inputs: tuple[str, str]) -> None:
        from ..detection.record import LESIONS_MAP, record_lesions_in_case

        self._worker = self._cancel = None
        self.detect_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        if volume.name not in self.viewer.layers:
            self._say(f"'{volume.name}' was closed during detection: the result was not kept.", error=True)
            return
        self.report, self._report_inputs = report, inputs
        case = self.session.case
        self.session.sync_from_layers()  # the user's painting (drawn lesions) goes in first
        try:
            added = record_lesions_in_case(case, report, volume)
        except SpineMetsError as exc:
            self._say(str(exc), error=True)
            return
        layer = add_or_update_lesions_layer(self.viewer, case.label_maps[LESIONS_MAP], volume)
        self._adopt_layer(layer)
        self.progress.setValue(100)
        total = sum(report.timings_s.values())
        kept = [les for les in added if les.status != LesionStatus.PROPOSED]
        self._say(f"{len(added)} lesion(s) proposed in {total:.1f} s"
                  + (f" ({len(kept)} keep an earlier review)" if kept else "") + ". Click a row to see it.")
        self.notes.setText("\n".join(["Confidence is an uncalibrated ranking score (project heuristic).",
                                      *report.notes]))
        self.session.commit(f"lesion detection: {len(added)} lesion(s) proposed", topic="lesions",
                            target="lesions")

    # ----------------------------------------------------------------- tables
    def _on_case_changed(self, topic: str) -> None:
        if topic == "case":
            self.report, self._report_inputs, self.pending_id = None, None, None
        if topic in ("case", "lesions", "findings"):
            self.refresh()

    def refresh(self) -> None:
        """Refill both tables and the layer's colours from the live case (keeps the selected row)."""
        selected = self.selected_id()
        case = self.session.case
        if LESIONS_LAYER in self.viewer.layers:
            style_lesions_layer(self.viewer.layers[LESIONS_LAYER], case.lesions)
        self._filling = True
        try:
            fill_lesions(self.table, case.lesions, selected)
        finally:
            self._filling = False
        fill_fractures(self.fracture_table, case.findings)

    def row_of(self, lesion_id: int) -> dict[str, str]:
        """The table's row of a lesion as {column: text} (tests, scripting)."""
        for row in range(self.table.rowCount()):
            if lesion_id_at(self.table, row) == lesion_id:
                return {name: self.table.item(row, c).text() for c, name in enumerate(COLUMNS)}
        raise KeyError(lesion_id)

    def selected_id(self) -> int | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows:
            return None
        return lesion_id_at(self.table, rows[0].row())

    def select_lesion(self, lesion_id: int) -> None:
        """Select a lesion's row (which also jumps the view to it)."""
        for row in range(self.table.rowCount()):
            if lesion_id_at(self.table, row) == lesion_id:
                self.table.selectRow(row)
                return

    # ----------------------------------------------------------------- navigation
    def _on_row_selected(self) -> None:
        if self._filling:
            return
        lesion_id = self.selected_id()
        if lesion_id is None:
            return
        lesion = self._lesion(lesion_id)
        if lesion is not None:
            self.kind_combo.setCurrentText(lesion.kind.value)
        self.go_to(lesion_id)

    def go_to(self, lesion_id: int) -> None:
        """Move the slice to the lesion, centre the camera on it, and select its label."""
        if LESIONS_LAYER not in self.viewer.layers:
            return
        layer = self.viewer.layers[LESIONS_LAYER]
        centre = lesion_centre(layer.data, lesion_id)
        if centre is None:
            self._say(f"Lesion {lesion_id} has no voxels in the '{LESIONS_LAYER}' layer.", error=True)
            return
        world = np.asarray(layer.data_to_world(centre), dtype=float)
        ndim = self.viewer.dims.ndim
        self.viewer.dims.set_point(list(range(ndim - 3, ndim)), tuple(world[-3:]))
        self.viewer.scene.camera.center = tuple(world[-3:])
        layer.selected_label = lesion_id
        layer.visible = True

    # ----------------------------------------------------------------- review
    def _lesion(self, lesion_id: int) -> Lesion | None:
        return next((les for les in self.session.case.lesions if les.id == lesion_id), None)

    def set_status(self, status: LesionStatus) -> None:
        """Accept or reject the selected lesion (recorded with who and when)."""
        from ..detection.record import set_lesion_status

        lesion_id = self.selected_id()
        if lesion_id is None:
            self._say("Select a lesion in the table first.", error=True)
            return
        try:
            lesion = set_lesion_status(self.session.case, lesion_id, status)
        except SpineMetsError as exc:
            self._say(str(exc), error=True)
            return
        self.refresh()
        self._say(f"Lesion {lesion_id} ({lesion.level or 'no level'}, {lesion.kind.value}) {status.value}.")
        self.session.commit(f"lesion {lesion_id} {status.value}", topic="lesions", target=f"lesion {lesion_id}")

    def set_kind(self, kind: LesionKind) -> None:
        """Correct the selected lesion's type."""
        from ..detection.record import put_lesion

        lesion = self._lesion(self.selected_id() or -1)
        if lesion is None or lesion.kind == kind:
            return
        lesion.kind = kind
        put_lesion(self.session.case, lesion)
        self.refresh()
        self.session.commit(f"lesion {lesion.id} type set to {kind.value}", topic="lesions",
                            target=f"lesion {lesion.id}")

    # ----------------------------------------------------------------- drawing
    def _lesions_layer(self) -> tuple[Any, Volume]:
        _, volume = self._ct()
        if LESIONS_LAYER in self.viewer.layers:
            layer = self.viewer.layers[LESIONS_LAYER]
        else:
            layer = add_or_update_lesions_layer(self.viewer, None, volume)
            self._adopt_layer(layer)
        return layer, volume

    def start_drawing(self) -> None:
        """Pick a free label id in the lesions layer and switch it to painting."""
        from ..detection.record import free_lesion_id

        self.set_click_mode(False)
        try:
            layer, _ = self._lesions_layer()
        except SpineMetsError as exc:
            self._say(str(exc), error=True)
            return
        self.pending_id = free_lesion_id(self.session.case, layer.data)
        layer.visible = True
        layer.selected_label = self.pending_id
        self.viewer.layers.selection.active = layer
        layer.mode = "paint"
        self._say(f"Paint lesion {self.pending_id} in the '{LESIONS_LAYER}' layer; it is measured when a stroke ends "
                  "('Record drawn lesion' records it too).")

    def _on_paint(self, event: Any = None) -> None:
        if not self._filling:
            self.session.mark_dirty()
            self._paint_timer.start()

    def _record_after_paint(self) -> None:
        if LESIONS_LAYER not in self.viewer.layers:
            return
        label = int(self.viewer.layers[LESIONS_LAYER].selected_label)
        if label == self.pending_id:
            self.record_drawn()
        elif self._lesion(label) is not None:
            self._measure(label, commit=False)

    def record_drawn(self) -> Lesion | None:
        """Measure and record the lesion being drawn (else the selected one, after editing it)."""
        lesion_id = self.pending_id if self.pending_id is not None else self.selected_id()
        if lesion_id is None:
            self._say("Press 'Draw new lesion' and paint, or select a lesion to update.", error=True)
            return None
        lesion = self._measure(lesion_id, commit=True)
        if lesion is not None and lesion_id == self.pending_id:
            self.pending_id = None
            self.select_lesion(lesion_id)
        return lesion

    def _measure(self, lesion_id: int, commit: bool) -> Lesion | None:
        from ..detection.drawn import measure_drawn_lesion
        from ..detection.record import put_lesion

        try:
            layer, volume = self._lesions_layer()
            try:
                vertebrae: LabelMap | None = self._vertebrae(volume)[0]
            except SpineMetsError:
                vertebrae = None
            before = self._lesion(lesion_id)
            mask = np.asarray(layer.data) == lesion_id
            if before is None:
                lesion = measure_drawn_lesion(volume, mask, lesion_id, vertebrae)
            else:
                lesion = measure_drawn_lesion(volume, mask, lesion_id, vertebrae, kind=before.kind,
                                              status=before.status, source=before.source)
                lesion.confidence = before.confidence
                lesion.notes = "; ".join(n for n in (before.notes, "edited by the user") if n and n not in lesion.notes)
        except SpineMetsError as exc:
            self._say(str(exc), error=True)
            return None
        put_lesion(self.session.case, lesion)
        self.refresh()
        what = "drawn" if before is None else "edited"
        self._say(f"Lesion {lesion_id} {what}: {lesion.level or 'no level'}, {lesion.volume_mm3 / 1000:.2f} cm³"
                  + (f", mean {lesion.hu.mean:.0f} HU" if lesion.hu.mean is not None else "") + ".")
        if commit or before is None:
            self.session.commit(f"lesion {lesion_id} {what} at {lesion.level or 'no level'}", topic="lesions",
                                target=f"lesion {lesion_id}")
        return lesion

    # ----------------------------------------------------------------- click to segment
    def set_click_mode(self, on: bool) -> None:
        """While on, a click (not a drag) in the image grows the lesion under it."""
        callbacks = self.viewer.mouse_drag_callbacks
        if self.click_button.isChecked() != on:
            self.click_button.blockSignals(True)
            self.click_button.setChecked(on)
            self.click_button.blockSignals(False)
        if on:
            if self._on_click not in callbacks:
                callbacks.append(self._on_click)
            if LESIONS_LAYER in self.viewer.layers:
                self.viewer.layers[LESIONS_LAYER].mode = "pan_zoom"
            self._say("Click inside a lesion: it is grown within the clicked vertebra (drag to pan).")
        elif self._on_click in callbacks:
            callbacks.remove(self._on_click)

    def _on_click(self, viewer: Any, event: Any) -> Generator[None, None, None]:
        if event.type != "mouse_press" or getattr(event, "button", 1) != 1:
            return
        start = np.asarray(event.position, dtype=float)
        yield
        moved = False
        while event.type == "mouse_move":
            moved = moved or float(np.abs(np.asarray(event.position, dtype=float) - start).max()) > _CLICK_TOLERANCE_MM
            yield
        if not moved:
            self.segment_at(start)

    def segment_at(self, world: Any) -> Any:
        """Grow the lesion at a world position (mm) in the background; it is added with status "drawn"."""
        from ..detection.click_segment import segment_from_click
        from ..detection.record import free_lesion_id

        try:
            ct_layer, volume = self._ct()
            vertebrae, parts = self._vertebrae(volume)
        except SpineMetsError as exc:
            self._say(str(exc), error=True)
            return None
        point = np.asarray(ct_layer.world_to_data(np.asarray(world, dtype=float)), dtype=float)[-3:]
        existing = self.viewer.layers[LESIONS_LAYER].data if LESIONS_LAYER in self.viewer.layers else None
        lesion_id = free_lesion_id(self.session.case, existing)
        same_inputs = self.report is not None and self._report_inputs == (volume.name, vertebrae.name)
        normal = self.report.normal_bone if same_inputs and self.report is not None else None
        self._say(f"Growing the lesion at voxel {tuple(int(round(v)) for v in point)}…")

        def failed(message: str) -> None:
            self._click_worker = None
            self._say(message, error=True)

        def done(result: "ClickResult") -> None:
            self._click_worker = None
            self._add_clicked(result, volume, vertebrae)

        self._click_worker = run_in_background(
            lambda: _advised(lambda: segment_from_click(volume, vertebrae, point, lesion_id=lesion_id, parts=parts,
                                                        normal=normal)),
            done, description="Click to segment", on_error=failed)
        return self._click_worker

    def _add_clicked(self, result: "ClickResult", volume: Volume, vertebrae: LabelMap) -> None:
        from dataclasses import replace

        from ..detection.drawn import measure_drawn_lesion
        from ..detection.record import free_lesion_id, put_lesion

        try:
            layer, _ = self._lesions_layer()
        except SpineMetsError as exc:
            self._say(str(exc), error=True)
            return
        data = layer.data
        free = result.mask & (np.asarray(data) == 0)
        if not free.any():
            self._say("That lesion is already in the lesions layer.", error=True)
            return
        lesion_id = free_lesion_id(self.session.case, data)
        lesion = result.record.lesion
        if int(free.sum()) != int(result.mask.sum()):  # part of it was already another lesion: measure what is new
            lesion = measure_drawn_lesion(volume, free, lesion_id, vertebrae, kind=lesion.kind, source=lesion.source)
        else:
            lesion = replace(lesion, id=lesion_id)
        self._filling = True
        try:
            layer.data_setitem(np.nonzero(free), lesion_id)  # undoable with napari's Ctrl+Z
        finally:
            self._filling = False
        put_lesion(self.session.case, lesion)
        self.refresh()
        self.select_lesion(lesion_id)
        self._say(f"Lesion {lesion_id} segmented: {lesion.level}, {lesion.kind.value}, "
                  f"{lesion.volume_mm3 / 1000:.2f} cm³ (edit it with the paint / erase tools).")
        self.session.commit(f"lesion {lesion_id} segmented from a click at {lesion.level}", topic="lesions",
                            target=f"lesion {lesion_id}")

    # ----------------------------------------------------------------- messages
    def _say(self, message: str, error: bool = False) -> None:
        self.status.setText(message)
        self.status.setStyleSheet("color: #ff8a65;" if error else "")
        (log.warning if error else log.info)("lesions dock: %s", message)


def _advised(function: Callable[[], T]) -> T:
    """Run ``function``; a "no vertebra" refusal says which dock to use first."""
    from ..detection.inputs import NoVertebraError

    try:
        return function()
    except NoVertebraError as exc:
        if str(exc).startswith(NO_VERTEBRAE):
            raise
        raise NoVertebraError(f"{NO_VERTEBRAE}: {exc}") from exc


def _core(layer: Any, kind: str) -> Any:
    entry = getattr(layer, "metadata", {}).get(METADATA_KEY, {})
    return entry.get(kind) if entry.get("kind") == kind else None


def _labels_of(layer: Any, volume: Volume) -> LabelMap:
    """A copy of the layer's current labels (painting included) on the CT's grid."""
    from ..errors import GridMismatchError

    core = _core(layer, "labels")
    affine = core.affine if core is not None else geometry.affine_from_napari(layer.scale, layer.translate)
    data = np.array(layer.data, copy=True)  # the user may paint while detection runs
    if not geometry.same_grid(data.shape, affine, volume.shape, volume.affine, tolerance_mm=1e-2):
        raise GridMismatchError(None, f"labels layer '{layer.name}' is not on the grid of the CT '{volume.name}'")
    return LabelMap(array=data, affine=volume.affine, names=dict(core.names) if core is not None else {},
                    name=layer.name, source=core.source if core is not None else "napari layer")


def _fill(combo: QComboBox, names: list[str], prefer: tuple[str, ...] = (), avoid: tuple[str, ...] = (),
          default: str | None = None) -> None:
    current = combo.currentText()
    combo.blockSignals(True)
    combo.clear()
    combo.addItems(names)
    choice = current if current in names and current != default else None
    if choice is None:
        choice = next((n for n in names if any(p in n.lower() for p in prefer)
                       and not any(a in n.lower() for a in avoid)), None)
    if choice is None:
        choice = default if default in names else next((n for n in names if not any(a in n.lower() for a in avoid)),
                                                       None)
    if choice is not None:
        combo.setCurrentText(choice)
    combo.blockSignals(False)
