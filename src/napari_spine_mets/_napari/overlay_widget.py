"""The "Overlays" dock: vertebrae coloured by a metric, a text label at each vertebra, lesions by type.

What is drawn comes from :mod:`napari_spine_mets.overlay` (plain data): per vertebra the
level, SINS band, HU band, lesion burden or nomogram risk, read from the viewer's live
Case (:mod:`.session`); grey means "not computed", never a guess. This dock only puts it
on screen:

* the vertebra labels layer gets a colour per label id (its data are never changed; the
  original colours come back with "Restore original colours");
* a Points layer "vertebra labels" holds one invisible point per vertebra at its centroid
  in world mm with the text "T12 · 148 HU · SINS 9"; in 2D a label stays on screen on
  every slice that cuts its vertebra, in 3D it sits at the centroid;
* the lesion map is coloured by lesion type (the colours every dock shares);
* the legend is shown in the dock (swatches) and, named in words, in the canvas;
* a case reopened with ROIs but without the Bone HU dock's layer shows its ROI outlines.

Everything refreshes when the case changes (``session.changed``) or a label layer is
painted. Window presets (bone, soft tissue) are one click away.
"""

from __future__ import annotations

import logging
import weakref
from typing import TYPE_CHECKING, Any

import numpy as np
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..anatomy import level_of_label
from ..case_parts import DISCLAIMER
from ..display import DECISION_SUPPORT_NOTICE, WINDOW_PRESETS, contrast_limits
from ..overlay import (
    METRIC_TITLES,
    ColourScheme,
    Metric,
    OverlayValues,
    VertebraText,
    choose_label_map,
    follow_slice,
    lesion_colours,
    overlay_inputs,
    overlay_values,
    roi_outlines,
    vertebra_colours,
    vertebra_texts,
)
from ..overlay.colours import RGBA, legend_text
from ..overlay.metrics import Burden, burden_of, lesion_kinds, rejected_lesion_ids
from ..overlay.text import text_anchor, text_colour
from ..overlay.vertebrae import VertebraGeometry, median_values, vertebra_geometry
from .layers import METADATA_KEY, on_layer_grid

if TYPE_CHECKING:
    import napari

__all__ = ["OverlayWidget", "LABELS_LAYER_NAME", "CASE_ROIS_LAYER_NAME"]

log = logging.getLogger(__name__)

#: The Points layer holding the vertebra text labels.
LABELS_LAYER_NAME = "vertebra labels"
#: ROI outlines drawn from the case when the Bone HU dock's layer is not there.
CASE_ROIS_LAYER_NAME = "ROIs (from case)"
_NONE = "(none)"
#: Topics of ``session.changed`` after which the voxels may differ (geometry and burden recomputed).
_VOXEL_TOPICS = {"labels", "lesions", "case"}
_TEXT_SIZE = 11
_UNLISTED_COLOUR: RGBA = (0.6, 0.6, 0.6, 1.0)
_WINDOW_BUTTONS = ("bone", "soft tissue", "spine soft tissue")


class OverlayWidget(QWidget):
    """Dock widget: colour the vertebrae by a metric, label each vertebra, colour lesions by type."""

    def __init__(self, napari_viewer: "napari.Viewer") -> None:
        super().__init__()
        from .session import session_of

        self.viewer = napari_viewer
        self.session = session_of(napari_viewer)
        self.values: OverlayValues | None = None
        self.scheme: ColourScheme | None = None
        self.lesion_scheme: ColourScheme | None = None
        self.texts: list[VertebraText] = []
        self.points_layer: Any = None
        self.rois_layer: Any = None
        self._rois_signature: tuple[Any, ...] = ()
        self._geometry: dict[int, VertebraGeometry] | None = None
        self._burden: Burden | None = None
        self._voxel_key: tuple[Any, ...] | None = None
        self._present_ids: list[int] = []
        #: Median CT value inside each vertebra (what its text is drawn over) and the CT layer shown.
        self._backdrop: dict[int, float] = {}
        self._ct_layer: Any = None
        self._originals: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
        self._painted: weakref.WeakSet[Any] = weakref.WeakSet()
        self._refreshing = False
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(400)
        self._debounce.timeout.connect(lambda: self.refresh(voxels_changed=True))
        self._build()
        self.session.changed.connect(self._on_case_changed)
        self.viewer.layers.events.inserted.connect(self._on_layers_changed)
        self.viewer.layers.events.removed.connect(self._on_layers_changed)
        self.viewer.dims.events.current_step.connect(self._place_labels)
        self.viewer.dims.events.ndisplay.connect(self._place_labels)
        self.viewer.dims.events.order.connect(self._place_labels)
        self._fill_choices()
        self.refresh(voxels_changed=True)

    # ----------------------------------------------------------------- layout
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        notice = QLabel(DECISION_SUPPORT_NOTICE)
        notice.setWordWrap(True)
        layout.addWidget(notice)
        form = QFormLayout()
        self.metric_combo = QComboBox()
        for metric in Metric:
            self.metric_combo.addItem(METRIC_TITLES[metric], metric.value)
        self.metric_combo.currentIndexChanged.connect(lambda _: self.refresh())
        form.addRow("Colour vertebrae by:", self.metric_combo)
        self.vertebrae_combo, self.parts_combo, self.lesions_combo = QComboBox(), QComboBox(), QComboBox()
        form.addRow("Vertebra labels:", self.vertebrae_combo)
        form.addRow("Parts (body):", self.parts_combo)
        form.addRow("Lesions:", self.lesions_combo)
        for combo in (self.vertebrae_combo, self.parts_combo, self.lesions_combo):
            combo.currentIndexChanged.connect(lambda _: self.refresh(voxels_changed=True))
        layout.addLayout(form)
        def ticked(text: str, on_toggle: Any) -> QCheckBox:
            check = QCheckBox(text)
            check.setChecked(True)
            check.toggled.connect(lambda _: on_toggle())
            layout.addWidget(check)
            return check

        self.vertebrae_check = ticked("Colour vertebrae", self.refresh)
        self.labels_check = ticked("Show vertebra labels", self.refresh)
        self.lesions_check = ticked("Colour lesions by type", self.refresh)
        self.canvas_legend_check = ticked("Legend in the canvas", self._show_canvas_legend)
        windows = QHBoxLayout()
        windows.addWidget(QLabel("CT window:"))
        self.window_buttons: dict[str, QPushButton] = {}
        for preset in _WINDOW_BUTTONS:
            if preset not in WINDOW_PRESETS:
                continue
            level, width = WINDOW_PRESETS[preset]
            button = QPushButton(preset.capitalize())
            button.setToolTip(f"{preset} window: level {level:g} HU, width {width:g} HU")
            button.clicked.connect(lambda _=False, p=preset: self.apply_window(p))
            windows.addWidget(button)
            self.window_buttons[preset] = button
        layout.addLayout(windows)
        box = QGroupBox("Legend")
        legend_layout = QVBoxLayout(box)
        self.legend_title = QLabel()
        self.legend_title.setWordWrap(True)
        self.legend_title.setStyleSheet("font-weight: bold;")
        legend_layout.addWidget(self.legend_title)
        self.legend_grid = QGridLayout()
        legend_layout.addLayout(self.legend_grid)
        self.lesion_legend_title = QLabel("Lesion type")
        self.lesion_legend_title.setStyleSheet("font-weight: bold;")
        legend_layout.addWidget(self.lesion_legend_title)
        self.lesion_legend_grid = QGridLayout()
        legend_layout.addLayout(self.lesion_legend_grid)
        self.notes_label = QLabel()
        self.notes_label.setWordWrap(True)
        legend_layout.addWidget(self.notes_label)
        layout.addWidget(box)
        self.restore_button = QPushButton("Restore original colours")
        self.restore_button.clicked.connect(self.restore_colours)
        layout.addWidget(self.restore_button)
        layout.addStretch(1)
        self.setMinimumWidth(360)

    # ----------------------------------------------------------------- choices
    @property
    def metric(self) -> Metric:
        return Metric(self.metric_combo.currentData())

    def set_metric(self, metric: Metric | str) -> None:
        """Choose the metric (as the combo box does)."""
        self.metric_combo.setCurrentIndex(self.metric_combo.findData(Metric(metric).value))

    def _label_layer_names(self) -> list[str]:
        return [layer.name for layer in self.viewer.layers if layer._type_string == "labels"]

    def _fill_choices(self) -> None:
        names = self._label_layer_names()
        for combo, role, optional in ((self.vertebrae_combo, "vertebrae", False), (self.parts_combo, "parts", True),
                                      (self.lesions_combo, "lesions", True)):
            current = combo.currentText()
            items = ([_NONE] if optional else []) + names
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(items)
            choice = current if current in items and current != _NONE else (choose_label_map(names, role) or items[0]
                                                                            if items else None)
            if choice is not None:
                combo.setCurrentText(choice)
            combo.blockSignals(False)

    def _grid(self) -> tuple[np.ndarray, np.ndarray]:
        """Scale and translate of the vertebra labels (world mm = data * scale + translate)."""
        layer = self._layer(self.vertebrae_combo)
        if layer is None:
            return np.ones(3), np.zeros(3)
        return np.asarray(layer.scale, dtype=float)[-3:], np.asarray(layer.translate, dtype=float)[-3:]

    def _layer(self, combo: QComboBox) -> Any:
        name = combo.currentText()
        return self.viewer.layers[name] if name and name != _NONE and name in self.viewer.layers else None

    # ----------------------------------------------------------------- events
    def _on_case_changed(self, topic: str) -> None:
        if topic == "saved":
            return
        try:
            self.objectName()
        except RuntimeError:  # the dock was closed and its Qt objects deleted
            self.session.changed.disconnect(self._on_case_changed)
            return
        self.refresh(voxels_changed=topic in _VOXEL_TOPICS)

    def _on_layers_changed(self, event: Any = None) -> None:
        layer = getattr(event, "value", None)
        if layer is not None and (layer is self.points_layer or layer is self.rois_layer):
            return
        self._fill_choices()
        # debounced: opening a case or closing napari adds or removes many layers in a row
        self._debounce.start()

    def _watch_painting(self, layer: Any) -> None:
        if layer is not None and layer not in self._painted and hasattr(layer.events, "paint"):
            layer.events.paint.connect(lambda event: self._debounce.start())
            self._painted.add(layer)

    # ----------------------------------------------------------------- refreshing
    def refresh(self, voxels_changed: bool = False) -> None:
        """Recompute the values from the live case and redraw colours, labels, legend and ROIs."""
        if self._refreshing:
            return
        self._refreshing = True
        try:
            self._refresh(voxels_changed)
        finally:
            self._refreshing = False

    def _refresh(self, voxels_changed: bool) -> None:
        case = self.session.sync_from_layers()
        vertebrae_layer, parts_layer, lesions_layer = (self._layer(c) for c in (self.vertebrae_combo, self.parts_combo,
                                                                                 self.lesions_combo))
        inputs = overlay_inputs(case.label_maps,
                                vertebrae=vertebrae_layer.name if vertebrae_layer is not None else "",
                                parts=parts_layer.name if parts_layer is not None else "",
                                lesions=lesions_layer.name if lesions_layer is not None else "")
        for layer in (vertebrae_layer, parts_layer, lesions_layer):
            self._watch_painting(layer)
        key = tuple(id(m.array) if m is not None else None for m in (inputs.vertebrae, inputs.parts, inputs.lesions))
        if voxels_changed or key != self._voxel_key or self._geometry is None:
            self._geometry = vertebra_geometry(inputs.vertebrae) if inputs.vertebrae is not None else {}
            self._burden = burden_of(inputs, self._geometry, case.lesions)
            self._present_ids = _present_ids(inputs.vertebrae.array) if inputs.vertebrae is not None else []
            self._watch_ct(inputs.vertebrae)
            self._voxel_key = key
        elif self._burden is not None and inputs.lesions is not None:
            # the lesion records may have changed (a lesion rejected): burden depends on them
            self._burden = burden_of(inputs, self._geometry, case.lesions)
        self.values = overlay_values(inputs, findings=case.findings, rois=case.rois, lesions=case.lesions,
                                     geometry=self._geometry, burden=self._burden)
        self.scheme = vertebra_colours(self.values, self.metric, others=self._others(inputs.vertebrae))
        for layer in list(self._originals.keys()):  # a layer no longer chosen gets its colours back
            if layer is not vertebrae_layer and layer is not lesions_layer:
                self._restore(layer)
        if vertebrae_layer is not None:
            if self.vertebrae_check.isChecked():
                self._colour_vertebrae(vertebrae_layer, self.scheme)
            else:
                self._restore(vertebrae_layer)
        self.lesion_scheme = None
        if lesions_layer is not None:
            if self.lesions_check.isChecked():
                lesion_map = inputs.lesions
                self.lesion_scheme = lesion_colours(lesion_kinds(lesion_map, case.lesions),
                                                    rejected=rejected_lesion_ids(case.lesions))
                self._colour_lesions(lesions_layer, self.lesion_scheme)
            else:
                self._restore(lesions_layer)
        self.texts = vertebra_texts(self.values, self.metric)
        self._update_points()
        self._update_case_rois(case)
        self._show_legend()
        self._show_canvas_legend()

    # ----------------------------------------------------------------- colours
    def _remember(self, layer: Any) -> None:
        if layer not in self._originals:
            self._originals[layer] = layer.colormap

    def _others(self, vertebrae: Any) -> dict[int, str]:
        """Structures of the vertebra map without a level (sacrum, cord), by id, with their names."""
        if vertebrae is None:
            return {}
        return {i: vertebrae.names.get(i, f"label {i}") for i in self._present_ids if level_of_label(i) is None}

    def _colour_vertebrae(self, layer: Any, scheme: ColourScheme) -> None:
        from napari.utils.colormaps import DirectLabelColormap

        self._remember(layer)
        colours: dict[int | None, Any] = {None: _UNLISTED_COLOUR, 0: (0.0, 0.0, 0.0, 0.0)}
        colours.update(scheme.colours)
        layer.colormap = DirectLabelColormap(color_dict=colours)

    def _colour_lesions(self, layer: Any, scheme: ColourScheme) -> None:
        from napari.utils.colormaps import DirectLabelColormap

        self._remember(layer)
        colours: dict[int | None, Any] = {None: scheme.default, 0: (0.0, 0.0, 0.0, 0.0), **scheme.colours}
        layer.colormap = DirectLabelColormap(color_dict=colours)

    def _restore(self, layer: Any) -> None:
        if layer in self._originals:
            layer.colormap = self._originals.pop(layer)

    def restore_colours(self) -> None:
        """Give every layer this dock coloured its original colours back; tick the boxes to colour again."""
        for check in (self.vertebrae_check, self.lesions_check):
            check.blockSignals(True)
            check.setChecked(False)
            check.blockSignals(False)
        for layer in list(self._originals.keys()):
            self._restore(layer)
        self.refresh()

    def layer_colour(self, layer: Any, label_id: int) -> np.ndarray:
        """RGBA napari draws ``label_id`` of ``layer`` with (for tests and scripting)."""
        return np.asarray(layer.colormap.map(np.array([label_id], dtype=layer.data.dtype)))[0]

    # ----------------------------------------------------------------- text labels
    def _update_points(self) -> None:
        features = {
            "label": [t.text for t in self.texts],
            "level": [t.level for t in self.texts],
            "label_id": [t.label_id for t in self.texts],
            "text_colour": self._text_colours(),
        }
        scale, translate = self._grid()
        data = (np.array([t.anchor_world for t in self.texts], dtype=float).reshape(-1, 3) - translate) / scale
        layer = self.points_layer
        if layer is None or layer not in self.viewer.layers:
            if not self.texts:
                return
            layer = self._add_quietly(lambda: self.viewer.add_points(
                data,
                ndim=3,
                # on the vertebrae's grid, so the sliders keep stepping one slice at a time
                scale=scale,
                translate=translate,
                name=LABELS_LAYER_NAME,
                size=1.0,
                face_color="transparent",
                border_color="transparent",
                border_width=0.0,
                features=features,
                # the text too is drawn without a depth test, so a vertebra's surface does not hide its label in 3D
                text={"string": "{label}", "size": _TEXT_SIZE, "color": {"feature": "text_colour"},
                      "anchor": "center", "blending": "translucent_no_depth"},
                blending="translucent_no_depth",  # drawn over the volume in 3D, not hidden inside it
                metadata={METADATA_KEY: {"kind": "overlay_labels", "derived": True}},
            ))
            self.points_layer = layer
        else:
            if len(layer.data) != len(data):
                layer.data = data
            layer.features = features
            layer.text.refresh(layer.features)
        if layer.visible != self.labels_check.isChecked():
            layer.visible = self.labels_check.isChecked()
        self._place_labels()

    def _watch_ct(self, vertebrae: Any) -> None:
        """The CT the vertebrae lie on: its values under each label and its window pick the text colour."""
        self._backdrop = {}
        if self._ct_layer is not None:
            try:
                self._ct_layer.events.contrast_limits.disconnect(self._recolour_text)
            except (TypeError, ValueError, RuntimeError):
                pass
        self._ct_layer = None
        if vertebrae is None:
            return
        for layer in self.viewer.layers:
            entry = getattr(layer, "metadata", {}).get(METADATA_KEY, {})
            volume = entry.get("volume") if entry.get("kind") == "volume" else None
            if volume is not None and volume.shape == tuple(vertebrae.array.shape):
                self._ct_layer = layer
                self._backdrop = median_values(np.asarray(layer.data), vertebrae, self._geometry or {})
                layer.events.contrast_limits.connect(self._recolour_text)
                return

    def _text_colours(self) -> list[str]:
        limits = self._ct_layer.contrast_limits if self._ct_layer is not None else (0.0, 1.0)
        return [text_colour(self._backdrop.get(t.label_id), limits) for t in self.texts]

    def _recolour_text(self, event: Any = None) -> None:
        layer = self.points_layer
        if layer is None or layer not in self.viewer.layers or len(layer.data) != len(self.texts):
            return
        colours = self._text_colours()
        if list(layer.features["text_colour"]) != colours:
            features = layer.features.copy()
            features["text_colour"] = colours
            layer.features = features
            layer.text.refresh(layer.features)

    def _place_labels(self, event: Any = None) -> None:
        layer = self.points_layer
        if layer is None or layer not in self.viewer.layers or not self.texts or len(layer.data) != len(self.texts):
            return
        dims = self.viewer.dims
        displayed = [a - (dims.ndim - 3) for a in dims.displayed if a >= dims.ndim - 3]
        positions, shown = follow_slice(self.texts, displayed, dims.point[-3:])
        positions = (positions - np.asarray(layer.translate)[-3:]) / np.asarray(layer.scale)[-3:]
        if not np.array_equal(np.asarray(layer.data), positions):
            layer.data = positions
        layer.shown = shown
        anchor = text_anchor(displayed)
        if str(layer.text.anchor) != anchor:
            layer.text.anchor = anchor

    # ----------------------------------------------------------------- ROIs of a reopened case
    def _update_case_rois(self, case: Any) -> None:
        from .hu_widget import ROI_LAYER_NAME

        hu_layer_there = any(layer.name == ROI_LAYER_NAME or _kind(layer) == "hu_rois" for layer in self.viewer.layers)
        outlines = [] if hu_layer_there else roi_outlines(case.rois)
        signature = tuple((o.roi_id, o.origin, o.vertices_world.tobytes()) for o in outlines)
        mine_there = self.rois_layer is not None and self.rois_layer in self.viewer.layers
        if mine_there and signature == self._rois_signature:
            return
        if mine_there:
            self.viewer.layers.remove(self.rois_layer)
        self.rois_layer = None
        self._rois_signature = signature
        if not outlines:
            return
        vertices, grid = on_layer_grid(self._ct_layer, [o.vertices_world for o in outlines])
        self.rois_layer = self._add_quietly(lambda: self.viewer.add_shapes(
            vertices,
            ndim=3,
            shape_type="polygon",
            name=CASE_ROIS_LAYER_NAME,
            edge_color=["magenta" if o.origin == "manual" else "yellow" for o in outlines],
            face_color=[0, 0, 0, 0],
            edge_width=1.0,
            features={"label": [o.text for o in outlines], "level": [o.level or "" for o in outlines]},
            metadata={METADATA_KEY: {"kind": "case_rois", "derived": True}},
            **grid,
        ))

    def _add_quietly(self, add: Any) -> Any:
        """Add a layer without taking the user's layer selection away (napari selects a new layer)."""
        active = self.viewer.layers.selection.active
        layer = add()
        # in 3D, napari 0.9 recomputes the cursor status on a selection change and can fail
        # before the cursor has a view direction: leave the selection alone there
        if active is not None and active in self.viewer.layers and self.viewer.dims.ndisplay == 2:
            self.viewer.layers.selection.active = active
        return layer

    # ----------------------------------------------------------------- legend
    def _show_legend(self) -> None:
        scheme = self.scheme
        self.legend_title.setText(scheme.title if scheme is not None else "")
        _fill_legend(self.legend_grid, scheme.legend if scheme is not None else [])
        lesion = self.lesion_scheme
        self.lesion_legend_title.setVisible(lesion is not None)
        _fill_legend(self.lesion_legend_grid, lesion.legend if lesion is not None else [])
        notes = list(scheme.notes) if scheme is not None else []
        if self.metric is Metric.NOMOGRAM_RISK:
            notes.append("nomogram: a model fitted on your own cohort (or the labelled demonstration model)")
        self.notes_label.setText("\n".join(notes))

    def legend_rows(self) -> list[tuple[str, tuple[float, ...]]]:
        """(text, RGBA) of each vertebra legend row as shown in the dock (for tests and scripting)."""
        return _read_legend(self.legend_grid)

    def lesion_legend_rows(self) -> list[tuple[str, tuple[float, ...]]]:
        return _read_legend(self.lesion_legend_grid)

    def _canvas_text_overlay(self) -> Any:
        canvas = getattr(self.viewer, "canvas", None)
        overlays = getattr(canvas, "overlays", None)
        return overlays.text if overlays is not None and hasattr(overlays, "text") else self.viewer.text_overlay

    def _show_canvas_legend(self) -> None:
        overlay = self._canvas_text_overlay()
        if not self.canvas_legend_check.isChecked() or self.scheme is None:
            overlay.visible = False
            return
        lines = [f"Vertebrae: {legend_text(self.scheme, compact=True)}"]
        if self.lesion_scheme is not None:
            kinds = [f"{e.colour_name} {e.text}" for e in self.lesion_scheme.legend]
            lines += ["Lesions: " + ", ".join(kinds[:2]) + ",", ", ".join(kinds[2:])]
        lines.append(DISCLAIMER)
        overlay.text = "\n".join(lines)
        # bottom left: in sagittal, axial and lateral 3D views the labels sit near the middle of the
        # spine, and the scale bar takes the bottom right
        overlay.position = "bottom_left"
        overlay.font_size = 9
        overlay.color = "white"
        if hasattr(overlay, "box"):
            overlay.box = True
        overlay.visible = True

    # ----------------------------------------------------------------- windows
    def apply_window(self, preset: str) -> None:
        """One-click CT window (as the Case dock's presets) on every CT image layer."""
        low_high = contrast_limits(preset)
        for layer in self.viewer.layers:
            entry = getattr(layer, "metadata", {}).get(METADATA_KEY, {})
            volume = entry.get("volume") if entry.get("kind") == "volume" else None
            if volume is not None and volume.metadata.modality.upper() == "CT":
                layer.contrast_limits = low_high


def _kind(layer: Any) -> str | None:
    return getattr(layer, "metadata", {}).get(METADATA_KEY, {}).get("kind")


def _present_ids(array: np.ndarray) -> list[int]:
    """Positive label ids present (one pass, no sort)."""
    from scipy import ndimage

    return [i + 1 for i, box in enumerate(ndimage.find_objects(np.asarray(array))) if box is not None]


def _css(rgba: tuple[float, ...]) -> str:
    r, g, b = (int(round(255 * c)) for c in rgba[:3])
    return f"rgba({r}, {g}, {b}, {int(round(255 * (rgba[3] if len(rgba) > 3 else 1.0)))})"


def _fill_legend(grid: QGridLayout, entries: list[Any]) -> None:
    while grid.count():
        item = grid.takeAt(0)
        widget = item.widget()
        if widget is not None:  # hidden and unparented now: deleteLater alone waits for the event loop
            widget.hide()
            widget.setParent(None)
            widget.deleteLater()
    for row, entry in enumerate(entries):
        swatch = QLabel()
        swatch.setFixedSize(22, 14)
        swatch.setStyleSheet(f"background-color: {_css(entry.colour)}; border: 1px solid #202020;")
        swatch.setProperty("rgba", list(entry.colour))
        swatch.setToolTip(entry.colour_name)
        text = QLabel(entry.text)
        text.setWordWrap(True)
        grid.addWidget(swatch, row, 0)
        grid.addWidget(text, row, 1)
        swatch.show()  # a layout shows new children only once the event loop runs; show them now
        text.show()
    grid.setColumnStretch(1, 1)


def _read_legend(grid: QGridLayout) -> list[tuple[str, tuple[float, ...]]]:
    """The rows a person sees: both the swatch and its text visible."""
    rows = []
    for row in range(grid.rowCount()):
        swatch, text = grid.itemAtPosition(row, 0), grid.itemAtPosition(row, 1)
        if swatch is None or text is None or not (swatch.widget().isVisible() and text.widget().isVisible()):
            continue
        rows.append((text.widget().text(), tuple(float(v) for v in swatch.widget().property("rgba"))))
    return rows
