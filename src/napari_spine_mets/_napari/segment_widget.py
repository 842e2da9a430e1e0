"""The "Segment" dock: vertebrae segmented and named, with device, progress and cancel.

Runs :func:`napari_spine_mets.segmentation.inference.segment_vertebrae` on the chosen CT in
a background worker (the viewer never freezes), shows which device ran, a progress bar
and a cancel button, then adds the vertebra and part labels and a table per level (volume,
body heights, confidence). When no anchor was in view, or the count is off by one, the
user shifts all levels up or down in one step.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qtpy.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .dock_parts import add_notice, add_run_row
from .layers import METADATA_KEY, labels_layer_data
from .workers import run_in_process

if TYPE_CHECKING:
    import napari

    from ..segmentation.inference import SegmentationResult

__all__ = ["SegmentWidget"]

log = logging.getLogger(__name__)

_COLUMNS = ("Level", "Volume (cm³)", "Anterior (mm)", "Middle (mm)", "Posterior (mm)", "Confidence")
VERTEBRAE_LAYER = "vertebrae"
PARTS_LAYER = "vertebra parts"


class SegmentWidget(QWidget):
    """Dock widget running the vertebra network on a CT layer."""

    def __init__(self, napari_viewer: "napari.Viewer", weights_dir: Path | None = None) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.weights_dir = weights_dir
        self._cancel = None
        self.result: SegmentationResult | None = None
        layout = QVBoxLayout(self)
        add_notice(layout)
        form = QFormLayout()
        self.image_combo = QComboBox()
        self.device_combo = QComboBox()
        self.device_combo.addItems(["auto", "cpu", "cuda", "mps"])
        form.addRow("CT:", self.image_combo)
        form.addRow("Device:", self.device_combo)
        layout.addLayout(form)
        self.run_button, self.cancel_button, self.progress = add_run_row(layout, "Segment vertebrae")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.table = QTableWidget(0, len(_COLUMNS))
        self.table.setHorizontalHeaderLabels(_COLUMNS)
        layout.addWidget(self.table)
        shift = QHBoxLayout()
        self.shift_up_button = QPushButton("All levels up ↑")
        self.shift_down_button = QPushButton("All levels down ↓")
        shift.addWidget(self.shift_up_button)
        shift.addWidget(self.shift_down_button)
        layout.addLayout(shift)
        self.notes = QLabel("")
        self.notes.setWordWrap(True)
        layout.addWidget(self.notes)
        layout.addStretch(1)
        self.run_button.clicked.connect(self.run)
        self.cancel_button.clicked.connect(self.cancel)
        self.shift_up_button.clicked.connect(lambda: self.shift_levels(-1))
        self.shift_down_button.clicked.connect(lambda: self.shift_levels(+1))
        self.viewer.layers.events.inserted.connect(self._refresh_images)
        self.viewer.layers.events.removed.connect(self._refresh_images)
        self._refresh_images()
        from ..offload import warm_up
        from .launch import SEGMENTATION_MODULES

        # the worker process starts and imports torch now (or is already warming up from
        # the main command; a second warm-up waits for the first), so "Segment" starts at once
        warm_up(SEGMENTATION_MODULES)

    def _volume_layers(self) -> list[Any]:
        return [
            layer for layer in self.viewer.layers
            if layer._type_string == "image" and layer.metadata.get(METADATA_KEY, {}).get("kind") == "volume"
        ]

    def _refresh_images(self, event: Any = None) -> None:
        current = self.image_combo.currentText()
        self.image_combo.clear()
        self.image_combo.addItems([layer.name for layer in self._volume_layers()])
        if current:
            self.image_combo.setCurrentText(current)

    def run(self) -> Any:
        """Segment the chosen CT in the background."""
        from ..segmentation.inference import segment_vertebrae
        from ..volume import Volume

        layers = {layer.name: layer for layer in self._volume_layers()}
        layer = layers.get(self.image_combo.currentText())
        if layer is None:
            self.status.setText("Open a CT first (File → Open, or the Case dock).")
            return None
        original: Volume = layer.metadata[METADATA_KEY]["volume"]
        volume = Volume(layer.data, original.affine, original.metadata, layer.name)
        device, weights_dir = self.device_combo.currentText(), self.weights_dir
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setValue(0)
        self.status.setText("Segmenting…")
        # In a separate process: the viewer stays fluid even while numpy/torch hold the GIL.
        worker, self._cancel = run_in_process(
            segment_vertebrae,
            {"volume": volume, "device": device, "weights_dir": weights_dir},
            self._show_result,
            description="Segmenting vertebrae",
            on_progress=self._on_progress,
            on_error=self._on_error,
        )
        return worker

    def cancel(self) -> None:
        if self._cancel is not None:
            self._cancel()
            self.status.setText("Cancelling… (nothing is changed)")

    def _on_progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(int(round(100 * fraction)))
        self.status.setText(message)

    def _on_error(self, message: str) -> None:
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.status.setText(message)

    def _show_result(self, result: "SegmentationResult") -> None:
        self.result = result
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.progress.setValue(100)
        prov = result.provenance
        precision = f", {prov['precision']}," if prov.get("precision") else ""
        self.status.setText(
            f"{len(result.vertebra_stats)} vertebrae on {prov['device']}{precision} in {prov['timings_s']['total_s']:.1f} s "
            f"({prov['model']} {prov['model_version']}); anchor: {result.anchor}"
        )
        self.notes.setText("\n".join(result.notes))
        for labels in (result.vertebrae, result.parts):  # ids from the names: no pass over the array here
            data, kwargs, _ = labels_layer_data(labels, opacity=0.4, present=sorted({0, *labels.names}))
            if labels.name in self.viewer.layers:
                self.viewer.layers.remove(labels.name)
            self.viewer.add_labels(data, **kwargs)
        self._fill_table()
        self._record_in_case(result)

    def _record_in_case(self, result: "SegmentationResult") -> None:
        """Put the labels and the model's provenance into the viewer's live Case (autosaved)."""
        from ..errors import SpineMetsError
        from ..segmentation.inference import record_in_case
        from .session import session_of

        session = session_of(self.viewer)
        case = session.sync_from_layers()
        volume_name = self.image_combo.currentText()
        try:
            record_in_case(case, result, volume_name)
        except SpineMetsError as exc:  # labels off the CT's grid: keep the layers, say why
            log.warning("segmentation not recorded in the case: %s", exc)
            return
        session.commit(f"segmented {len(result.vertebra_stats)} vertebrae", topic="labels", target=VERTEBRAE_LAYER,
                       who=f"{result.provenance.get('model', 'model')} (run by {session.user})")

    def _fill_table(self) -> None:
        stats = self.result.vertebra_stats if self.result else []
        self.table.setRowCount(len(stats))
        for row, record in enumerate(stats):
            heights = record["body_height"]
            values = (
                record["level"] or record["name"],
                f"{record['volume_mm3'] / 1000:.1f}",
                *(f"{heights[k]:.1f}" if heights[k] is not None else "—" for k in ("anterior_mm", "middle_mm", "posterior_mm")),
                f"{record['confidence']:.2f}",
            )
            for column, value in enumerate(values):
                self.table.setItem(row, column, QTableWidgetItem(value))
        self.table.resizeColumnsToContents()

    def shift_levels(self, steps: int) -> None:
        """Rename every vertebra ``steps`` levels down (up when negative), as one undoable edit."""
        from ..anatomy import LEVELS, label_of_level
        from ..editing.errors import LabelEditError
        from ..editing.label_edits import shift_all_levels
        from .session import session_of

        if VERTEBRAE_LAYER not in self.viewer.layers or self.result is None:
            return
        layer = self.viewer.layers[VERTEBRAE_LAYER]
        labels = layer.metadata[METADATA_KEY]["labels"]
        try:  # in place, recorded in the viewer's one history (Undo in the Correct labels dock)
            edit = shift_all_levels(layer.data, labels.names, steps, target=layer.name)
        except LabelEditError as exc:
            self.status.setText(str(exc))
            return
        session = session_of(self.viewer)
        session.history.push(edit)
        labels.array, labels.names = layer.data, dict(edit.names_after)
        _, kwargs, _ = labels_layer_data(labels, present=sorted({0, *labels.names}))
        layer.features = kwargs["features"]
        layer.refresh()
        for record in self.result.vertebra_stats:
            level = record["level"]
            if level is not None:
                new_level = LEVELS[LEVELS.index(level) + steps]
                record["level"], record["label"], record["name"] = new_level, label_of_level(new_level), f"vertebrae_{new_level}"
        self._fill_table()
        self.status.setText(f"All levels shifted {'down' if steps > 0 else 'up'} by {abs(steps)}.")
        log.info("levels shifted by %d", steps)
        session.commit(edit.description, topic="labels", target=VERTEBRAE_LAYER)
