"""The Correct-labels dock: relabel, merge, split, paint, one Undo/Redo for all, recorded in the case."""

from __future__ import annotations

import numpy as np
import pytest

from napari_spine_mets._napari.edit_widget import REDO_KEY, UNDO_KEY, EditWidget
from napari_spine_mets._napari.layers import METADATA_KEY, image_layer_data, labels_layer_data
from napari_spine_mets._napari.session import session_of
from napari_spine_mets.volume import LabelMap, Volume, VolumeMetadata

PLUGIN = "napari-spine-mets"
VERTEBRAE = "vertebrae (ground truth)"
LESIONS = "lesions (ground truth)"
T9, T10, T11, T12, L1, L3 = 35, 34, 33, 32, 31, 29


def _names(layer) -> dict[int, str]:
    return dict(layer.metadata[METADATA_KEY]["labels"].names)


def _structure(layer, label: int) -> str:
    features = layer.features
    return str(features["structure"][list(features["index"]).index(label)])


def _wait_for_saves(qtbot) -> None:
    """Each commit autosaves in the background: let those saves end before the viewer closes."""
    from superqt.utils._qthreading import WorkerBase

    qtbot.waitUntil(lambda: not WorkerBase._worker_set, timeout=120000)


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return float(2 * (a & b).sum() / max(1, a.sum() + b.sum()))


def test_edits_undo_redo_and_provenance_on_the_sample(make_napari_viewer, qtbot, save_screenshot) -> None:
    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(1600, 1000)
    viewer.open_sample(PLUGIN, "synthetic_spine_ct")
    widget = EditWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Correct labels")
    qtbot.waitUntil(widget.isVisible)
    session = session_of(viewer)
    vertebrae, lesions = viewer.layers[VERTEBRAE], viewer.layers[LESIONS]
    assert widget.layer_combo.currentText() == VERTEBRAE
    original = {VERTEBRAE: vertebrae.data.copy(), LESIONS: lesions.data.copy()}
    original_names = {VERTEBRAE: _names(vertebrae), LESIONS: _names(lesions)}
    states = [{k: v.copy() for k, v in original.items()}]

    def snapshot() -> None:
        states.append({VERTEBRAE: vertebrae.data.copy(), LESIONS: lesions.data.copy()})

    # the selected label is shown by its name and follows napari's selection
    vertebrae.selected_label = T10
    assert widget.label_combo.currentText() == "vertebrae_T10 (34)" and widget.level_combo.currentText() == "T10"

    # relabel T10 as T9: voxels, core names, status-bar feature all follow
    assert widget.relabel("T9") is not None
    assert np.array_equal(vertebrae.data == T9, original[VERTEBRAE] == T10) and not (vertebrae.data == T10).any()
    assert _names(vertebrae)[T9] == "vertebrae_T9" and T10 not in _names(vertebrae)
    assert _structure(vertebrae, T9) == "vertebrae_T9" and vertebrae.selected_label == T9
    snapshot()
    # a level already used is refused unless swapping, and nothing changes
    before = len(widget.history)
    assert widget.relabel("T11") is None and "already used by vertebrae_T11" in widget.status.text()
    assert len(widget.history) == before and np.array_equal(vertebrae.data, states[-1][VERTEBRAE])

    # merge L1 into T12, then split them again at the narrowest section: L1 comes back
    vertebrae.selected_label = T12
    widget.merge_combo.setCurrentIndex(widget.merge_combo.findData(L1))
    widget.merge_button.click()
    assert not (vertebrae.data == L1).any() and L1 not in _names(vertebrae)
    snapshot()
    widget.split_narrow_button.click()
    assert _names(vertebrae)[L1] == "vertebrae_L1" and "narrowest section" in widget.status.text()
    assert _dice(vertebrae.data == L1, original[VERTEBRAE] == L1) > 0.95
    snapshot()

    # split L3 at the current axial slice: the next level is taken, so it gets an unnamed id
    z = int(np.median(np.nonzero(vertebrae.data == L3)[0]))
    viewer.dims.set_current_step(0, z)
    vertebrae.selected_label = L3
    assert widget.split_at_current_slice() is not None
    assert _names(vertebrae)[201] == "vertebra_unnamed_201"
    assert np.nonzero(vertebrae.data == 201)[0].max() < z <= np.nonzero(vertebrae.data == L3)[0].min()
    snapshot()

    # paint strokes with napari's own tools, on both layers
    widget.set_mode("paint")
    assert viewer.layers.selection.active is vertebrae and vertebrae.mode == "paint" and widget.paint_button.isChecked()
    vertebrae.brush_size = 9
    vertebrae.selected_label = T9
    vertebrae.paint((z, 200, 200), T9)
    snapshot()
    lesions.paint((z, 180, 200), 7)
    snapshot()
    assert widget.status.text().startswith("Paint label_7") and "on lesions (ground truth)" in widget.status.text()
    assert widget.history.next_undo().target == LESIONS and "paint" in widget.history.next_undo().description
    # napari's own Labels undo no longer holds the strokes: no double application
    lesions.undo()
    vertebrae.undo()
    assert np.array_equal(lesions.data, states[-1][LESIONS]) and np.array_equal(vertebrae.data, states[-1][VERTEBRAE])
    widget.set_mode("pan_zoom")  # leaving the brush commits the strokes to the case
    edits = session.case.provenance.edits
    painted = [e for e in edits if e.what.startswith("painted")]
    assert {e.target for e in painted} == {VERTEBRAE, LESIONS}
    assert all(e.who == session.user and e.who for e in edits)
    assert [e.what.split(" ")[0] for e in edits[:4]] == ["relabel", "merge", "split", "split"]
    assert any("painted" in e.what and "voxels on vertebrae (ground truth)" in e.what for e in edits)

    viewer.dims.order = (2, 0, 1)  # sagittal, head up: every level in view
    viewer.scene.camera.orientation2d = ("up", "right")
    viewer.dims.set_current_step(2, 200)
    vertebrae.selected_label = T9
    save_screenshot(viewer, "edit_dock_after_edits")

    # Undo x N walks back through paint strokes and edits, in order, to the original arrays exactly
    n = len(states) - 1
    assert len(widget.history) == n
    for step in range(1, n + 1):
        assert widget.undo() is not None
        for name in (VERTEBRAE, LESIONS):
            assert np.array_equal(viewer.layers[name].data, states[n - step][name]), (step, name)
    for name in (VERTEBRAE, LESIONS):
        assert np.array_equal(viewer.layers[name].data, original[name]) and _names(viewer.layers[name]) == original_names[name]
    assert _structure(vertebrae, T10) == "vertebrae_T10" and widget.undo() is None and not widget.undo_button.isEnabled()
    assert widget.label_combo.currentText() == "vertebrae_T10 (34)"  # undoing the relabel selected T10 again
    assert widget.history_list.count() == n and widget.history_list.item(0).text().startswith("undone: relabel vertebrae_T10")
    save_screenshot(viewer, "edit_dock_all_undone")
    # Redo re-applies them all
    for step in range(1, n + 1):
        assert widget.redo() is not None
        for name in (VERTEBRAE, LESIONS):
            assert np.array_equal(viewer.layers[name].data, states[step][name]), (step, name)
    assert _names(vertebrae)[201] == "vertebra_unnamed_201"
    whats = [e.what for e in session.case.provenance.edits]
    assert sum(w.startswith("undo: ") for w in whats) == n and sum(w.startswith("redo: ") for w in whats) == n
    # the case the session saves carries the edited map and its names
    case = session.sync_from_layers()
    assert np.array_equal(case.label_maps[VERTEBRAE].array, states[-1][VERTEBRAE])
    assert case.label_maps[VERTEBRAE].names[T9] == "vertebrae_T9"
    _wait_for_saves(qtbot)


@pytest.fixture
def small_viewer(make_napari_viewer):
    """A small CT and vertebra map (fast), with the dock."""
    viewer = make_napari_viewer()
    # index (z, y, x) -> LPS (x, y, z) mm, z towards the head
    affine = np.array([[0, 0, 1.0, 0], [0, 1.0, 0, 0], [2.0, 0, 0, 0], [0, 0, 0, 1]])
    ct = Volume(np.zeros((20, 30, 30), np.int16), affine, VolumeMetadata(modality="CT"), "ct")
    array = np.zeros((20, 30, 30), np.uint8)
    array[2:9, 8:22, 8:22] = T12
    array[11:18, 8:22, 8:22] = T11
    data, kwargs, _ = image_layer_data(ct)
    viewer.add_image(data, **kwargs)
    data, kwargs, _ = labels_layer_data(LabelMap(array, affine, {T12: "vertebrae_T12", T11: "vertebrae_T11"}, "vertebrae"))
    viewer.add_labels(data, **kwargs)
    widget = EditWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Correct labels")
    return viewer, widget


def test_ctrl_z_drives_the_docks_history_whichever_layer_is_active(small_viewer, qtbot) -> None:
    viewer, widget = small_viewer
    layer = viewer.layers["vertebrae"]
    original = layer.data.copy()
    keys = viewer.window._qt_viewer._key_map_handler
    assert widget.label_combo.currentText() == "vertebrae_T12 (32)" == f"vertebrae_T12 ({layer.selected_label})"
    layer.selected_label = T11
    widget.relabel("T10")
    layer.paint((5, 15, 15), 9)
    painted = layer.data.copy()
    assert (painted != original).sum() > (original == T11).sum()
    # shift all levels down: T10 -> T11, T12 -> L1, and the selection follows its vertebra
    layer.selected_label = T10
    widget.shift_down_button.click()
    assert np.array_equal(layer.data == L1, painted == T12) and np.array_equal(layer.data == T11, painted == T10)
    assert widget.label_combo.currentText() == "vertebrae_T11 (33)" and _names(layer) == {L1: "vertebrae_L1", T11: "vertebrae_T11"}
    widget.undo()
    assert np.array_equal(layer.data, painted) and _names(layer)[T10] == "vertebrae_T10"
    viewer.layers.selection.active = layer  # napari's Labels keymap would catch Ctrl+Z here
    keys.press_key(UNDO_KEY)
    keys.release_key(UNDO_KEY)
    assert not (layer.data == 9).any() and (layer.data == T10).any()  # the stroke went back, once
    viewer.layers.selection.active = viewer.layers["ct"]  # and with another layer active, the viewer's binding
    keys.press_key(UNDO_KEY)
    keys.release_key(UNDO_KEY)
    assert np.array_equal(layer.data, original)
    keys.press_key(REDO_KEY)
    keys.release_key(REDO_KEY)
    viewer.layers.selection.active = layer
    keys.press_key(REDO_KEY)
    keys.release_key(REDO_KEY)
    assert np.array_equal(layer.data, painted)
    _wait_for_saves(qtbot)
    # once the dock is deleted, Ctrl+Z is napari's again (no call into a deleted widget)
    from napari.utils.key_bindings import coerce_keybinding
    from qtpy.QtCore import QCoreApplication, QEvent

    assert coerce_keybinding(UNDO_KEY) in layer.keymap and coerce_keybinding(UNDO_KEY) in viewer.keymap
    viewer.window.remove_dock_widget(widget)
    widget.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert coerce_keybinding(UNDO_KEY) not in layer.keymap and coerce_keybinding(REDO_KEY) not in viewer.keymap


def test_painting_is_committed_after_a_pause_and_layer_replacement_forgets_its_history(small_viewer, qtbot) -> None:
    viewer, widget = small_viewer
    layer = viewer.layers["vertebrae"]
    session = session_of(viewer)
    layer.paint((5, 15, 15), 31)  # L1's id: a new level gets its name
    assert _names(layer)[31] == "vertebrae_L1" and widget.label_combo.findText("vertebrae_L1 (31)") >= 0
    assert not any(e.what.startswith("painted") for e in session.case.provenance.edits) and session.dirty
    qtbot.waitUntil(lambda: any(e.what.startswith("painted") for e in session.case.provenance.edits), timeout=20000)
    what = next(e.what for e in session.case.provenance.edits if e.what.startswith("painted"))
    assert "on vertebrae" in what and "paint vertebrae_L1" in what
    layer.data = np.zeros_like(layer.data)  # e.g. segmentation run again: the old records no longer apply
    assert not widget.history.can_undo and "can no longer be undone" in widget.status.text()
    _wait_for_saves(qtbot)
