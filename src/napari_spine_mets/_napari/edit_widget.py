"""The "Correct labels" dock: paint, erase, fill, relabel, shift, merge, split, with one Undo.

The reader corrects the vertebra and lesion label maps with napari's own brushes and the
dock's buttons; every change goes into one :class:`~napari_spine_mets.editing.EditHistory`,
so Undo (Ctrl+Z) and Redo (Ctrl+Shift+Z) walk back through paint strokes and relabel /
merge / split / shift edits in the order they were made, whichever layer each touched.

After each edit the layer's names (its core ``LabelMap`` and the "structure" feature the
status bar shows) follow, and the session records who changed what and when and tells
the other docks (topic ``"labels"``) to recompute. Painting is recorded per stroke in the
history but committed to the case once the user stops painting: on leaving a painting
mode, before any other edit or undo, or :data:`PAINT_IDLE_SECONDS` after the last stroke.
"""

from __future__ import annotations

import logging
import weakref
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from app_model.types import KeyCode, KeyMod
from napari.utils.key_bindings import coerce_keybinding
from qtpy.QtCore import QTimer
from qtpy.QtGui import QBrush, QColor
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..anatomy import LEVELS, TOTALSEG_NAMES, label_of_level
from ..editing import (
    EditHistory,
    LabelEdit,
    LabelEditError,
    VoxelChange,
    display_name,
    fill_holes,
    level_of_name,
    merge_labels,
    present_labels,
    relabel_vertebra,
    shift_all_levels,
    split_at_narrowest,
    split_at_plane,
)
from ..volume import LabelMap
from .layers import METADATA_KEY
from .session import session_of

if TYPE_CHECKING:
    import napari

__all__ = ["EditWidget", "PAINT_IDLE_SECONDS", "UNDO_KEY", "REDO_KEY"]

log = logging.getLogger(__name__)

#: Seconds without a stroke after which the strokes so far are committed to the case as one edit.
PAINT_IDLE_SECONDS = 2.0
UNDO_KEY = KeyMod.CtrlCmd | KeyCode.KeyZ
REDO_KEY = KeyMod.CtrlCmd | KeyMod.Shift | KeyCode.KeyZ
_PAINT_MODES = frozenset({"paint", "erase", "fill", "polygon"})
_HISTORY_SHOWN = 12

_TOOLTIPS = {
    "paint": "Brush: paint the selected label into the layer (napari's paint mode, key P).\n"
             "Brush size and 2D/3D painting are in the layer controls. Ctrl+Z undoes a stroke.",
    "erase": "Eraser: paint background (label 0) over any label (napari's erase mode, key E).",
    "fill": "Bucket fill: click inside a region to give the whole connected region the selected label\n"
            "(napari's fill mode, key F). In 2D it fills the current slice only.",
}


class EditWidget(QWidget):
    """Dock widget correcting vertebra and lesion labels, with one undo history for all edits."""

    def __init__(self, napari_viewer: "napari.Viewer", history: EditHistory | None = None) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.session = session_of(napari_viewer)
        self.history = history if history is not None else self.session.history  # shared by every dock
        self._writing = False  # True while this dock writes a layer's data (not an outside change)
        self._known: dict[int, str] = {}  # id(layer) -> name, to follow renames
        self._pending: dict[str, list[tuple[str, int]]] = {}  # layer -> (stroke summary, voxels) not yet committed
        self._idle = QTimer(self)
        self._idle.setSingleShot(True)
        self._idle.setInterval(int(PAINT_IDLE_SECONDS * 1000))
        self._idle.timeout.connect(self.commit_painting)
        self._build_ui()
        self.viewer.layers.events.inserted.connect(self._on_inserted)
        self.viewer.layers.events.removed.connect(self._on_removed)
        self._key_targets: list[weakref.ref[Any]] = []  # viewer and layers whose Ctrl+Z is ours
        self._keys = (lambda _target: self.undo(), lambda _target: self.redo())
        self._bind_keys(self.viewer)
        for layer in self.viewer.layers:
            self._watch(layer)
        self.destroyed.connect(_unbinder(self._key_targets, self._keys))
        self._refresh_layers()

    # ----------------------------------------------------------------- UI
    def _build_ui(self) -> None:
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.layer_combo = QComboBox()
        self.layer_combo.setToolTip("The label layer to correct (vertebrae or lesions).")
        self.label_combo = QComboBox()
        self.label_combo.setToolTip("The selected label, by name; the brush paints it and the buttons below act on it.")
        form.addRow("Layer:", self.layer_combo)
        form.addRow("Label:", self.label_combo)
        layout.addLayout(form)

        tools = QHBoxLayout()
        self.paint_button = QPushButton("Paint")
        self.erase_button = QPushButton("Erase")
        self.fill_button = QPushButton("Fill")
        for button, mode in ((self.paint_button, "paint"), (self.erase_button, "erase"), (self.fill_button, "fill")):
            button.setCheckable(True)
            button.setToolTip(_TOOLTIPS[mode])
            button.clicked.connect(lambda checked=False, m=mode: self.set_mode(m))
            tools.addWidget(button)
        layout.addLayout(tools)

        grid = QGridLayout()
        self.level_combo = QComboBox()
        self.level_combo.addItems(LEVELS)
        self.relabel_button = QPushButton("Relabel as")
        self.relabel_button.setToolTip("Give the selected vertebra this level (TotalSegmentator id and name).")
        self.swap_check = QCheckBox("swap if used")
        self.swap_check.setToolTip("If another vertebra has that level, the two exchange levels.")
        grid.addWidget(self.relabel_button, 0, 0)
        grid.addWidget(self.level_combo, 0, 1)
        grid.addWidget(self.swap_check, 0, 2)
        self.merge_combo = QComboBox()
        self.merge_button = QPushButton("Merge with")
        self.merge_button.setToolTip("The chosen label's voxels join the selected label; its name goes.")
        grid.addWidget(self.merge_button, 1, 0)
        grid.addWidget(self.merge_combo, 1, 1, 1, 2)
        self.shift_up_button = QPushButton("All levels up ↑")
        self.shift_up_button.setToolTip("Rename every vertebra one level cranially (e.g. L1 → T12).")
        self.shift_down_button = QPushButton("All levels down ↓")
        self.shift_down_button.setToolTip("Rename every vertebra one level caudally (e.g. T12 → L1).")
        grid.addWidget(self.shift_up_button, 2, 0)
        grid.addWidget(self.shift_down_button, 2, 1, 1, 2)
        self.split_slice_button = QPushButton("Split at current slice")
        self.split_slice_button.setToolTip("Cut the selected label by the axial plane of the current slice;\n"
                                           "the caudal part gets the next level (or a new label).")
        self.split_narrow_button = QPushButton("Split at narrowest section")
        self.split_narrow_button.setToolTip("Two vertebrae drawn as one: cut where the label is thinnest between them;\n"
                                            "the caudal part gets the next level.")
        grid.addWidget(self.split_slice_button, 3, 0)
        grid.addWidget(self.split_narrow_button, 3, 1, 1, 2)
        self.fill_holes_button = QPushButton("Fill holes")
        self.fill_holes_button.setToolTip("Fill cavities enclosed by the selected label (background voxels only).")
        grid.addWidget(self.fill_holes_button, 4, 0)
        layout.addLayout(grid)

        undo_row = QHBoxLayout()
        self.undo_button = QPushButton("Undo")
        self.redo_button = QPushButton("Redo")
        undo_row.addWidget(self.undo_button)
        undo_row.addWidget(self.redo_button)
        layout.addLayout(undo_row)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        layout.addWidget(QLabel("Edits (newest first):"))
        self.history_list = QListWidget()
        self.history_list.setWordWrap(True)
        layout.addWidget(self.history_list)

        self.layer_combo.currentTextChanged.connect(self._on_layer_chosen)
        self.label_combo.activated.connect(self._on_label_chosen)
        self.relabel_button.clicked.connect(
            lambda: self.relabel(self.level_combo.currentText(), swap=self.swap_check.isChecked()))
        self.merge_button.clicked.connect(lambda: self.merge(self.merge_combo.currentData()))
        self.shift_up_button.clicked.connect(lambda: self.shift_levels(-1))
        self.shift_down_button.clicked.connect(lambda: self.shift_levels(+1))
        self.split_slice_button.clicked.connect(self.split_at_current_slice)
        self.split_narrow_button.clicked.connect(self.split_at_narrowest_section)
        self.fill_holes_button.clicked.connect(self.fill_holes)
        self.undo_button.clicked.connect(self.undo)
        self.redo_button.clicked.connect(self.redo)
        self._update_buttons()

    # ----------------------------------------------------------------- layers
    def _label_layers(self) -> list[Any]:
        return [layer for layer in self.viewer.layers if _editable(layer)]

    def layer(self) -> Any | None:
        """The layer being corrected."""
        name = self.layer_combo.currentText()
        return self.viewer.layers[name] if name and name in self.viewer.layers else None

    def _refresh_layers(self, event: Any = None) -> None:
        current = self.layer_combo.currentText()
        names = [layer.name for layer in self._label_layers()]
        self.layer_combo.blockSignals(True)
        self.layer_combo.clear()
        self.layer_combo.addItems(names)
        self.layer_combo.blockSignals(False)
        if current in names:
            choice = current
        else:
            vertebrae = [n for n in names if n == "vertebrae"] or [n for n in names if n.startswith("vertebrae")]
            choice = vertebrae[0] if vertebrae else (names[0] if names else "")
        self.layer_combo.setCurrentText(choice)
        self._on_layer_chosen(choice)

    def _on_layer_chosen(self, name: str) -> None:
        layer = self.layer()
        if layer is not None:
            listed = self._listed_labels(layer)
            if listed and int(layer.selected_label) not in listed:
                layer.selected_label = listed[0]  # napari starts on label 1, which a map may not have
        self._refresh_labels()
        self._update_buttons()

    def _on_inserted(self, event: Any) -> None:
        self._watch(event.value)
        self._refresh_layers()

    def _on_removed(self, event: Any) -> None:
        layer = event.value
        name = self._known.pop(id(layer), None)
        if name is not None:
            self._commit_pending(name)
            if self.history.forget(name):
                self._say(f"The edits of {name} can no longer be undone: the layer was closed.")
        self._refresh_layers()
        self._show_history()

    def _watch(self, layer: Any) -> None:
        if not _editable(layer) or id(layer) in self._known:
            return
        self._known[id(layer)] = layer.name
        layer.events.paint.connect(self._on_paint)
        layer.events.mode.connect(self._on_mode)
        layer.events.selected_label.connect(self._on_selected_label)
        layer.events.name.connect(self._on_renamed)
        layer.events.data.connect(self._on_data_replaced)
        # The Labels layer's own Ctrl+Z (its class keymap, which wins over the viewer's) would
        # undo napari's private history only: an instance binding sends it to ours.
        self._bind_keys(layer)

    def _bind_keys(self, target: Any) -> None:
        target.bind_key(UNDO_KEY, self._keys[0], overwrite=True)
        target.bind_key(REDO_KEY, self._keys[1], overwrite=True)
        self._key_targets.append(weakref.ref(target))

    def _on_renamed(self, event: Any) -> None:
        layer = event.source
        old, new = self._known.get(id(layer)), layer.name
        if old is not None and old != new:
            self.history.rename(old, new)
            if old in self._pending:
                self._pending[new] = self._pending.pop(old)
            self._known[id(layer)] = new
        self._refresh_layers()

    def _on_data_replaced(self, event: Any) -> None:
        """Someone else replaced the layer's array: our records no longer describe it."""
        if self._writing:
            return
        layer = event.source
        if self.history.forget(layer.name):
            self._say(f"{layer.name} was replaced outside this dock: its earlier edits can no longer be undone.")
            self._show_history()
        self._refresh_labels()

    # ----------------------------------------------------------------- names
    def _label_map(self, layer: Any) -> LabelMap:
        """The layer's core LabelMap (created for layers drawn in napari), whose names we keep."""
        entry = layer.metadata.setdefault(METADATA_KEY, {})
        labels = entry.get("labels")
        if labels is None:
            from ..io.geometry import affine_from_napari

            labels = LabelMap(layer.data, affine_from_napari(layer.scale, layer.translate), names={},
                              name=layer.name, source="drawn in napari")
            entry.update(kind="labels", labels=labels)
        return labels

    def _names(self, layer: Any) -> dict[int, str]:
        return dict(self._label_map(layer).names)

    def _set_names(self, layer: Any, names: dict[int, str]) -> None:
        """Keep the LabelMap's names and the status bar's "structure" feature in step with the data."""
        labels = self._label_map(layer)
        labels.names = dict(names)
        labels.array = layer.data
        ids = present_labels(layer.data)
        layer.features = {"index": ids, "structure": [display_name(names, i) for i in ids]}

    def _refresh_data(self, layer: Any) -> None:
        self._writing = True
        try:
            layer.data = layer.data  # our edits write in place; this re-slices and redraws
        finally:
            self._writing = False
        layer.refresh()

    def _refresh_labels(self) -> None:
        layer = self.layer()
        self.label_combo.clear()
        self.merge_combo.clear()
        if layer is None:
            return
        names = self._names(layer)
        for label in self._listed_labels(layer):
            text = f"{display_name(names, label)} ({label})"
            self.label_combo.addItem(text, label)
        self._show_selected(layer)

    def _listed_labels(self, layer: Any) -> list[int]:
        """Labels named in the map or present in it (its "index" feature), background left out."""
        return sorted((set(self._names(layer)) | {int(i) for i in layer.features.get("index", [])}) - {0})

    def _show_selected(self, layer: Any) -> None:
        selected = int(layer.selected_label)
        index = self.label_combo.findData(selected)
        if index < 0:
            self.label_combo.addItem(f"{display_name(self._names(layer), selected)} ({selected})", selected)
            index = self.label_combo.count() - 1
        self.label_combo.setCurrentIndex(index)
        self.merge_combo.clear()
        for i in range(self.label_combo.count()):
            label = self.label_combo.itemData(i)
            if label != selected:
                self.merge_combo.addItem(self.label_combo.itemText(i), label)
        level = level_of_name(self._names(layer).get(selected))
        if level is not None:
            self.level_combo.setCurrentText(level)

    def _on_label_chosen(self, index: int) -> None:
        layer = self.layer()
        if layer is not None and index >= 0:
            layer.selected_label = int(self.label_combo.itemData(index))

    def _on_selected_label(self, event: Any) -> None:
        if event.source is self.layer():
            self._show_selected(event.source)

    # ----------------------------------------------------------------- painting
    def set_mode(self, mode: str) -> None:
        """Switch the layer to napari's paint, erase or fill tool, and make it the active layer."""
        layer = self.layer()
        if layer is None:
            self._say("Open or draw a labels layer first.")
            return
        self.viewer.layers.selection.active = layer
        layer.mode = mode
        self._update_buttons()

    def _on_mode(self, event: Any) -> None:
        if str(event.source.mode) not in _PAINT_MODES:
            self.commit_painting()
        self._update_buttons()

    def _on_paint(self, event: Any) -> None:
        """One napari stroke (paint, erase, fill, polygon): into the history, committed later."""
        layer = event.source
        data = layer.data
        voxels = _change_from_atoms(data.shape, data.dtype, event.value)
        # napari keeps its own copy of the stroke for its Labels undo; ours replaces it,
        # so a stray layer.undo() cannot apply the stroke a second time
        for stack in ("_undo_history", "_redo_history"):
            getattr(layer, stack, []).clear()
        if voxels.count == 0:
            return
        names = self._names(layer)
        after = dict(names)
        new_values = np.unique(voxels.values(old=False))
        vertebra_map = any(n.startswith("vertebrae_") for n in names.values())
        for value in (int(v) for v in new_values):
            if value and value not in after and vertebra_map and value in TOTALSEG_NAMES:
                after[value] = TOTALSEG_NAMES[value]  # painting a new level's id names it
        mode = str(layer.mode)
        verb = {"erase": "erase", "fill": "fill"}.get(mode, "erase" if not new_values.any() else "paint")
        what = "" if verb == "erase" else " " + ", ".join(display_name(after, int(v)) for v in new_values)
        edit = LabelEdit(layer.name, f"{verb}{what} ({voxels.count} voxels)", voxels, names, after, "paint")
        self.history.push(edit)
        if after != names or any(int(v) not in set(layer.features.get("index", [])) for v in new_values):
            self._set_names(layer, after)
            self._refresh_labels()
        self._pending.setdefault(layer.name, []).append((f"{verb}{what}", voxels.count))
        self.session.mark_dirty()
        self._idle.start()
        self.status.setText(f"{edit.description[:1].upper()}{edit.description[1:]} on {layer.name}: Ctrl+Z undoes it. "
                            f"The case records the painting after {PAINT_IDLE_SECONDS:g} s without a stroke.")
        self._show_history()
        self._update_buttons()

    def commit_painting(self) -> None:
        """Record the strokes made since the last commit as one edit per layer."""
        self._idle.stop()
        for name in list(self._pending):
            self._commit_pending(name)

    def _commit_pending(self, name: str) -> None:
        strokes = self._pending.pop(name, [])
        if not strokes:
            return
        voxels = sum(n for _, n in strokes)
        kinds = Counter(summary for summary, _ in strokes)
        detail = "; ".join(f"{summary} ×{count}" if count > 1 else summary for summary, count in kinds.items())
        self.session.commit(f"painted {voxels} voxels on {name} ({len(strokes)} strokes: {detail})",
                            topic="labels", target=name)

    # ----------------------------------------------------------------- edits
    def _edit(self, make: Callable[[np.ndarray, dict[int, str], int, str], LabelEdit],
              needs_vertebrae: bool = False) -> LabelEdit | None:
        """Run one edit on the current layer and selected label; record, refresh, tell the case."""
        layer = self.layer()
        if layer is None:
            self._say("Open or draw a labels layer first.")
            return None
        if not isinstance(layer.data, np.ndarray):
            self._say(f"{layer.name} is read from disk lazily and cannot be edited here.")
            return None
        names = self._names(layer)
        if needs_vertebrae and not any(level_of_name(n) for n in names.values()):
            self._say(f"{layer.name} has no named vertebrae.")
            return None
        self.commit_painting()
        try:
            edit = make(layer.data, names, int(layer.selected_label), layer.name)
        except LabelEditError as exc:
            self._say(str(exc))
            return None
        if not self.history.push(edit):
            self._say(f"Nothing to change: {edit.description}.")
            return None
        self._after_change(layer, edit.names_after)
        self.session.commit(edit.description, topic="labels", target=layer.name)
        self._say(edit.description[:1].upper() + edit.description[1:] + ".")
        return edit

    def relabel(self, level: str, swap: bool = False) -> LabelEdit | None:
        """Give the selected vertebra ``level``."""
        edit = self._edit(lambda a, n, label, t: relabel_vertebra(a, n, label, level, swap=swap, target=t))
        layer = self.layer()
        if edit is not None and not swap and layer is not None:
            layer.selected_label = label_of_level(level)  # the same vertebra stays selected
        return edit

    def shift_levels(self, steps: int) -> LabelEdit | None:
        """Rename every vertebra ``steps`` levels caudally (cranially when negative)."""
        layer = self.layer()
        level = level_of_name(self._names(layer).get(int(layer.selected_label))) if layer is not None else None
        edit = self._edit(lambda a, n, label, t: shift_all_levels(a, n, steps, target=t), needs_vertebrae=True)
        if edit is not None and level is not None:
            layer.selected_label = label_of_level(LEVELS[LEVELS.index(level) + steps])  # the same vertebra stays selected
        return edit

    def merge(self, absorb: int | None) -> LabelEdit | None:
        """Merge label ``absorb`` into the selected label."""
        if absorb is None:
            self._say("Choose the label to merge with.")
            return None
        return self._edit(lambda a, n, label, t: merge_labels(a, n, label, int(absorb), target=t))

    def split_at_current_slice(self) -> LabelEdit | None:
        """Cut the selected label by the axial plane at the viewer's current slice."""
        layer = self.layer()
        if layer is None:
            self._say("Open or draw a labels layer first.")
            return None
        z = int(np.round(layer.world_to_data(self.viewer.dims.point)[0]))
        caudal_low = self._caudal_is_low(layer)
        return self._edit(lambda a, n, label, t: split_at_plane(a, n, label, z, caudal_is_low=caudal_low, target=t))

    def split_at_narrowest_section(self) -> LabelEdit | None:
        """Cut the selected label where it is thinnest (two vertebrae drawn as one)."""
        layer = self.layer()
        caudal_low = self._caudal_is_low(layer) if layer is not None else True
        return self._edit(lambda a, n, label, t: split_at_narrowest(a, n, label, caudal_is_low=caudal_low, target=t))

    def fill_holes(self) -> LabelEdit | None:
        """Fill the cavities enclosed by the selected label."""
        return self._edit(lambda a, n, label, t: fill_holes(a, n, label, target=t))

    def _caudal_is_low(self, layer: Any) -> bool:
        # array axis 0 against LPS z (towards the head): positive means low indices are caudal
        return bool(self._label_map(layer).affine[2, 0] >= 0)

    # ----------------------------------------------------------------- undo / redo
    def undo(self) -> LabelEdit | None:
        """Revert the latest edit or paint stroke, in whichever layer it was made."""
        return self._step(undo=True)

    def redo(self) -> LabelEdit | None:
        """Re-apply the latest undone edit."""
        return self._step(undo=False)

    def _step(self, *, undo: bool) -> LabelEdit | None:
        self.commit_painting()
        layers = {layer.name: layer for layer in self._label_layers()}
        arrays = {name: layer.data for name, layer in layers.items()}
        try:
            edit = self.history.undo(arrays) if undo else self.history.redo(arrays)
        except LabelEditError as exc:
            self._say(str(exc))
            return None
        if edit is None:
            self._say(f"Nothing to {'undo' if undo else 'redo'}.")
            return None
        layer = layers[edit.target]
        names = edit.names_before if undo else edit.names_after
        gone = set(edit.names_after if undo else edit.names_before) - set(names)
        back = sorted(set(names) - set(edit.names_after if undo else edit.names_before))
        if int(layer.selected_label) in gone and back:
            layer.selected_label = back[0]  # e.g. undoing a relabel selects the vertebra under its old id
        self._after_change(layer, names)
        word = "undo" if undo else "redo"
        self.session.commit(f"{word}: {edit.description}", topic="labels", target=edit.target)
        self._say(f"{'Undone' if undo else 'Redone'}: {edit.description}.")
        return edit

    # ----------------------------------------------------------------- feedback
    def _after_change(self, layer: Any, names: dict[int, str]) -> None:
        self._refresh_data(layer)
        self._set_names(layer, dict(names))
        self._refresh_labels()
        self._show_history()
        self._update_buttons()

    def _show_history(self) -> None:
        """Newest edit first; undone ones (what Redo would bring back) after them, greyed."""
        current = self.layer_combo.currentText()
        self.history_list.clear()
        rows = [(edit, False) for edit in reversed(self.history.done[-_HISTORY_SHOWN:])]
        rows += [(edit, True) for edit in reversed(self.history.undone[-_HISTORY_SHOWN:])]
        for edit, undone in rows:
            where = "" if edit.target == current else f" [{edit.target}]"
            item = QListWidgetItem(f"{'undone: ' if undone else ''}{edit.description}{where}")
            item.setToolTip(f"{edit.target}: {edit.description}")
            if undone:
                item.setForeground(QBrush(QColor("gray")))
            self.history_list.addItem(item)

    def _update_buttons(self) -> None:
        layer = self.layer()
        has_layer = layer is not None
        names = self._names(layer) if has_layer else {}
        vertebrae = any(level_of_name(n) for n in names.values())
        for button in (self.paint_button, self.erase_button, self.fill_button, self.merge_button,
                       self.split_slice_button, self.split_narrow_button, self.fill_holes_button):
            button.setEnabled(has_layer)
        for widget in (self.relabel_button, self.level_combo, self.swap_check, self.shift_up_button, self.shift_down_button):
            widget.setEnabled(has_layer and vertebrae)
        mode = str(layer.mode) if has_layer else ""
        for button, name in ((self.paint_button, "paint"), (self.erase_button, "erase"), (self.fill_button, "fill")):
            button.setChecked(mode == name)
        next_undo, next_redo = self.history.next_undo(), self.history.next_redo()
        self.undo_button.setEnabled(next_undo is not None)
        self.redo_button.setEnabled(next_redo is not None)
        self.undo_button.setToolTip(f"Undo (Ctrl+Z): {next_undo.description}" if next_undo else "Undo (Ctrl+Z)")
        self.redo_button.setToolTip(f"Redo (Ctrl+Shift+Z): {next_redo.description}" if next_redo else "Redo (Ctrl+Shift+Z)")

    def _say(self, message: str) -> None:
        self.status.setText(message)
        log.info("%s", message)


def _unbinder(targets: list["weakref.ref[Any]"], keys: tuple[Callable[..., Any], ...]) -> Callable[..., None]:
    """Give Ctrl+Z back to napari once the dock is gone (holds no reference to the dock)."""

    def unbind(*_args: Any) -> None:
        for ref in targets:
            target = ref()
            if target is None:
                continue
            for key, func in zip((UNDO_KEY, REDO_KEY), keys):
                if target.keymap.get(coerce_keybinding(key)) is func:
                    target.bind_key(key, None)

    return unbind


def _editable(layer: Any) -> bool:
    """3D labels layers holding the user's labels (not derived overlays)."""
    return (layer._type_string == "labels" and getattr(layer, "ndim", 0) == 3
            and not layer.metadata.get(METADATA_KEY, {}).get("derived"))


def _change_from_atoms(shape: tuple[int, ...], dtype: np.dtype, atoms: list[Any]) -> VoxelChange:
    """Turn napari's paint-event atoms into one VoxelChange (first old value, last new value per voxel).

    napari 0.9 emits ``_MaskedPaintAtom(slice_key, mask, old_values, new_value)`` for
    paint, fill and polygon (``mask`` None: the whole box changed and ``old_values`` is
    its snapshot) and ``(indices, old_values, new_values)`` tuples for ``data_setitem``.
    """
    parts = []
    for atom in atoms:
        if hasattr(atom, "slice_key"):
            box = atom.slice_key
            starts = [s.start or 0 for s in box]
            if atom.mask is None:
                box_shape = np.asarray(atom.old_values).shape
                coords = np.indices(box_shape).reshape(len(box_shape), -1)
                old = np.asarray(atom.old_values).ravel()
            else:
                coords = np.nonzero(atom.mask)
                old = np.asarray(atom.old_values).ravel()
            flat = np.ravel_multi_index(tuple(np.asarray(c) + s for c, s in zip(coords, starts)), shape)
            parts.append((flat, old, atom.new_value))
        else:
            indices, old, new = atom
            flat = np.ravel_multi_index(tuple(np.asarray(i).ravel() for i in indices), shape)
            parts.append((flat, np.asarray(old).ravel(), np.asarray(new).ravel() if np.ndim(new) else new))
    return VoxelChange.from_parts(shape, dtype, parts)
