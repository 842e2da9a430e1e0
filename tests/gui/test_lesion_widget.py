"""The Lesions dock: detection in the background, review table, jump to a lesion, draw, click-to-segment."""

from __future__ import annotations

import copy
from types import SimpleNamespace

import numpy as np
import pytest
from qtpy.QtCore import Qt

from napari_spine_mets._napari.layers import image_layer_data, labels_layer_data
from napari_spine_mets._napari.lesion_layer import KIND_COLOURS, LESIONS_LAYER, REJECTED_COLOUR
from napari_spine_mets._napari.lesion_widget import COLUMNS, NO_VERTEBRAE, LesionWidget
from napari_spine_mets._napari.session import session_of
from napari_spine_mets.anatomy import label_of_level
from napari_spine_mets.case import LesionKind, LesionStatus
from napari_spine_mets.synthetic import FractureSpec, LesionSpec, SpineParams, generate_spine_ct
from napari_spine_mets.volume import Volume, VolumeMetadata

PLUGIN = "napari-spine-mets"
CT = "synthetic CT (demonstration)"
#: The sample case's lesions (synthetic.params._default_lesions): level -> kind.
SAMPLE_TRUTH = {("T12", "lytic"), ("L2", "blastic"), ("L4", "mixed"), ("L3", "lytic"), ("T11", "blastic"),
                ("L1", "lytic")}


@pytest.fixture(scope="module")
def small_case():
    return generate_spine_ct(SpineParams(
        seed=5, levels=("T12", "L1", "L2", "L3"), include_sacrum=False, fov_mm=200.0, spacing_mm=(2.0, 0.9, 0.9),
        ribs=False, lesions=(LesionSpec("L1", "lytic", 10.0, "body"), LesionSpec("L3", "blastic", 8.0, "body")),
        fracture=FractureSpec("L1", 0.35, "wedge")))


@pytest.fixture(autouse=True)
def _workers_done(make_napari_viewer, qtbot):
    """Let background work (detection, autosaves) end before the viewer closes."""
    from superqt.utils._qthreading import WorkerBase

    yield
    qtbot.waitUntil(lambda: not WorkerBase._worker_set, timeout=120000)


def _viewer_with(make_napari_viewer, ct: Volume, vertebrae=None, show: bool = False):
    viewer = make_napari_viewer(show=show)
    data, kwargs, _ = image_layer_data(ct)
    viewer.add_image(data, **kwargs)
    if vertebrae is not None:
        data, kwargs, _ = labels_layer_data(vertebrae, opacity=0.3)
        viewer.add_labels(data, **kwargs)
    widget = LesionWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Lesions")
    return viewer, widget


def _rgba(layer, label: int) -> np.ndarray:
    return np.asarray(layer.colormap.map(np.array([label])))[0]


def _click(viewer, world) -> None:
    """A press and release at one place, through napari's own mouse-callback machinery."""
    from napari.utils.interactions import mouse_press_callbacks, mouse_release_callbacks

    event = SimpleNamespace(type="mouse_press", position=tuple(world), button=1, handled=False, modifiers=())
    mouse_press_callbacks(viewer, event)
    event.type = "mouse_release"
    mouse_release_callbacks(viewer, event)


def test_detect_review_jump_and_click_to_segment(make_napari_viewer, qtbot, save_screenshot) -> None:
    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(1700, 1000)
    viewer.open_sample(PLUGIN, "synthetic_spine_ct")
    truth_layer = viewer.layers["lesions (ground truth)"]
    truth = np.asarray(truth_layer.data).copy()
    truth_layer.visible = False
    widget = LesionWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Lesions")
    session = session_of(viewer)
    assert widget.ct_combo.currentText() == CT
    assert widget.labels_combo.currentText() == "vertebrae (ground truth)"
    progress: list[int] = []
    widget.progress.valueChanged.connect(progress.append)

    widget.detect()
    assert widget.running and widget.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: not widget.running, timeout=180000)
    case = session.case
    rows = [widget.row_of(les.id) for les in case.lesions]
    found = {(r["Level"], r["Type"]) for r in rows}
    assert found <= SAMPLE_TRUTH, found
    assert {("T12", "lytic"), ("L1", "lytic"), ("L2", "blastic"), ("L4", "mixed")} <= found
    assert widget.table.rowCount() == len(case.lesions) >= 4
    assert all(r["Status"] == "proposed" for r in rows) and max(progress) == 100 and len(set(progress)) > 2
    for les, row in zip(case.lesions, rows):
        assert float(row["Vol. (cm³)"]) == pytest.approx(les.volume_mm3 / 1000, abs=0.006)
        assert float(row["Mean HU"]) == pytest.approx(les.hu.mean, abs=0.51)
        assert 0 <= float(row["Confidence"]) <= 1
    assert case.provenance.steps[-1].name == "lesion detection"
    assert case.provenance.edits[-1].what.startswith("lesion detection")

    layer = viewer.layers[LESIONS_LAYER]
    assert set(np.unique(layer.data)) == {0, *(les.id for les in case.lesions)}
    by_kind = {les.kind: les.id for les in case.lesions}
    colours = {kind: tuple(np.round(_rgba(layer, lid)[:3], 3)) for kind, lid in by_kind.items()}
    assert len(set(colours.values())) == 3  # lytic, blastic, mixed: three different colours
    assert np.allclose(_rgba(layer, by_kind[LesionKind.LYTIC])[:3],
                       [int(KIND_COLOURS[LesionKind.LYTIC][i:i + 2], 16) / 255 for i in (1, 3, 5)], atol=0.01)

    # per-vertebra fracture table: the L1 collapse, graded and flagged (a lytic lesion is in its body)
    fractures = {widget.fracture_table.item(r, 0).text(): [widget.fracture_table.item(r, c).text() for c in range(4)]
                 for r in range(widget.fracture_table.rowCount())}
    assert int(fractures["L1"][1]) >= 1 and fractures["L1"][3] == "yes" and fractures["L3"][3] == "no"
    assert float(fractures["L1"][2].rstrip(" %")) >= 20

    # clicking a row jumps to that lesion's slice, centres on it and selects its label
    l1 = next(les for les in case.lesions if les.level == "L1")
    ct_layer = viewer.layers[CT]
    widget.select_lesion(l1.id)
    z, y, x = (int(round(v)) for v in ct_layer.world_to_data(viewer.dims.point))
    assert layer.data[z, y, x] == l1.id
    assert np.allclose(viewer.scene.camera.center[-2:], viewer.dims.point[-2:], atol=1e-6)
    assert layer.selected_label == l1.id
    assert truth[z, y, x] > 0  # the view is on the true lesion too
    save_screenshot(viewer, "lesions_dock_detected_L1")

    # accept and reject change the status in the live case, grey the row, fade the label
    widget.accept_button.click()
    assert l1.status == LesionStatus.ACCEPTED and widget.row_of(l1.id)["Status"] == "accepted"
    assert session.case.provenance.edits[-1].target == f"lesion {l1.id}"
    l3 = next(les for les in case.lesions if les.level == "L3")
    widget.select_lesion(l3.id)
    widget.reject_button.click()
    assert l3.status == LesionStatus.REJECTED and widget.row_of(l3.id)["Status"] == "rejected"
    row = next(r for r in range(widget.table.rowCount()) if widget.table.item(r, 0).text() == str(l3.id))
    assert widget.table.item(row, 1).foreground().color().name() == "#8c8c8c"
    assert np.allclose(_rgba(layer, l3.id), REJECTED_COLOUR, atol=0.01)
    assert widget.table.item(row, 1).font().italic()
    widget.go_to(l3.id)
    save_screenshot(viewer, "lesions_dock_rejected_L3")
    # rejecting L1's lesion clears L1's "possibly pathologic" flag; accepting it again restores it
    widget.select_lesion(l1.id)
    widget.reject_button.click()
    assert next(f.value for f in case.findings if f.name == "possibly_pathologic_fracture" and f.level == "L1") is False
    widget.accept_button.click()
    assert next(f.value for f in case.findings if f.name == "possibly_pathologic_fracture" and f.level == "L1") is True

    # click to segment the lesion detection left out (T11, posterior elements, blastic)
    n_before = len(case.lesions)
    t11 = truth == 5
    points = np.argwhere(t11)
    seed = points[np.argmin(((points - points.mean(axis=0)) ** 2).sum(axis=1))]
    assert layer.data[tuple(seed)] == 0
    widget.click_button.click()
    assert widget.click_button.isChecked() and widget._on_click in viewer.mouse_drag_callbacks
    _click(viewer, ct_layer.data_to_world(seed))
    qtbot.waitUntil(lambda: len(session.case.lesions) == n_before + 1, timeout=120000)
    new = session.case.lesions[-1]
    assert new.level == "T11" and new.kind == LesionKind.BLASTIC and new.status == LesionStatus.DRAWN
    assert layer.data[tuple(seed)] == new.id
    grown = np.asarray(layer.data) == new.id
    assert (grown & t11).sum() > 0.5 * grown.sum()  # grown on the true deposit (the core's accuracy is tested there)
    assert widget.row_of(new.id)["Status"] == "drawn" and widget.selected_id() == new.id
    assert session.case.provenance.edits[-1].what.startswith(f"lesion {new.id} segmented from a click")
    widget.click_button.click()
    assert widget._on_click not in viewer.mouse_drag_callbacks
    save_screenshot(viewer, "lesions_dock_click_segment_T11")

    # a sagittal view through the spine shows the lesions coloured by type
    viewer.dims.order = (2, 0, 1)
    viewer.scene.camera.orientation2d = ("up", "right")  # superior (LPS +z) at the top, as radiologists read it
    viewer.dims.set_point(2, float(ct_layer.data_to_world((0, 0, seed[2]))[2]))
    viewer.reset_view()
    save_screenshot(viewer, "lesions_dock_sagittal")


def test_cancel_leaves_the_case_unchanged(make_napari_viewer, qtbot, small_case) -> None:
    viewer, widget = _viewer_with(make_napari_viewer, small_case.ct, small_case.vertebrae)
    session = session_of(viewer)
    before = copy.deepcopy((session.case.lesions, session.case.findings, session.case.provenance.steps,
                            session.case.provenance.edits))
    widget.detect()
    widget.cancel_button.click()
    qtbot.waitUntil(lambda: not widget.running, timeout=60000)
    assert "cancelled" in widget.status.text() and "nothing was changed" in widget.status.text()
    assert (session.case.lesions, session.case.findings, session.case.provenance.steps,
            session.case.provenance.edits) == before
    assert LESIONS_LAYER not in viewer.layers and widget.table.rowCount() == 0
    assert widget.detect_button.isEnabled() and not widget.cancel_button.isEnabled()
    # and the dock still works afterwards
    widget.detect()
    qtbot.waitUntil(lambda: not widget.running, timeout=60000)
    assert {(les.level, les.kind.value) for les in session.case.lesions} == {("L1", "lytic"), ("L3", "blastic")}


def test_without_vertebra_labels_the_dock_says_segment_first(make_napari_viewer, qtbot, small_case,
                                                             save_screenshot) -> None:
    viewer, widget = _viewer_with(make_napari_viewer, small_case.ct, show=True)
    assert widget.labels_combo.currentText() == "(none)"
    assert widget.detect() is None
    assert NO_VERTEBRAE in widget.status.text() and not widget.running
    qtbot.waitUntil(widget.isVisible, timeout=20000)
    save_screenshot(viewer, "lesions_dock_no_vertebrae")
    # an empty labels layer (e.g. the wrong one) gives the same advice, from the core's check
    empty = small_case.vertebrae
    data, kwargs, _ = labels_layer_data(type(empty)(np.zeros_like(empty.array), empty.affine, name="vertebrae"))
    viewer.add_labels(data, **kwargs)
    assert widget.labels_combo.currentText() == "vertebrae"
    widget.detect()
    qtbot.waitUntil(lambda: not widget.running, timeout=60000)
    assert NO_VERTEBRAE in widget.status.text() and "holds no vertebra" in widget.status.text()
    assert session_of(viewer).case.lesions == []
    # click-to-segment needs the labels as well, and says so
    widget.click_button.click()
    _click(viewer, viewer.layers[small_case.ct.name].data_to_world((30, 100, 100)))
    qtbot.waitUntil(lambda: NO_VERTEBRAE in widget.status.text(), timeout=30000)
    assert session_of(viewer).case.lesions == []


def test_mr_refuses_detection_but_drawing_still_works(make_napari_viewer, qtbot, small_case, save_screenshot) -> None:
    ct = small_case.ct
    mr = Volume(np.abs(ct.array).astype(np.float32), ct.affine, VolumeMetadata(modality="MR"), "T2 sagittal")
    viewer, widget = _viewer_with(make_napari_viewer, mr, small_case.vertebrae, show=True)
    widget.detect()
    qtbot.waitUntil(lambda: not widget.running, timeout=60000)
    assert "is MR, not CT" in widget.status.text() and "manual tools" in widget.status.text()
    save_screenshot(viewer, "lesions_dock_mr_message")
    assert session_of(viewer).case.lesions == []

    widget.draw_button.click()
    layer = viewer.layers[LESIONS_LAYER]
    assert layer.mode == "paint" and layer.selected_label == widget.pending_id == 1
    l2 = np.argwhere(small_case.vertebrae.array == label_of_level("L2"))
    centre = tuple(int(v) for v in l2[len(l2) // 2])
    layer.brush_size = 6
    layer.paint(centre, layer.selected_label)  # what the brush does; fires the paint event
    qtbot.waitUntil(lambda: len(session_of(viewer).case.lesions) == 1, timeout=10000)
    lesion = session_of(viewer).case.lesions[0]
    assert lesion.status == LesionStatus.DRAWN and lesion.level == "L2" and lesion.hu.mean is None
    assert "not CT" in lesion.notes and widget.row_of(1)["Mean HU"] == "—"
    assert lesion.volume_mm3 == pytest.approx((np.asarray(layer.data) == 1).sum() * np.prod(ct.spacing))
    assert widget.pending_id is None and widget.selected_id() == 1
    save_screenshot(viewer, "lesions_dock_mr_drawn")


def test_draw_and_edit_a_lesion_on_ct(make_napari_viewer, qtbot, small_case) -> None:
    viewer, widget = _viewer_with(make_napari_viewer, small_case.ct, small_case.vertebrae)
    session = session_of(viewer)
    widget.start_drawing()
    layer = viewer.layers[LESIONS_LAYER]
    body = np.argwhere(small_case.lesions.array == 2)  # the L3 blastic deposit, drawn by hand
    layer.selected_label = widget.pending_id
    layer.data_setitem(tuple(body.T), widget.pending_id)
    lesion = widget.record_drawn()
    assert lesion is not None and lesion.level == "L3" and lesion.status == LesionStatus.DRAWN
    assert lesion.hu.mean == pytest.approx(small_case.lesion_truth[1].mean_hu, abs=1.0)
    assert session.case.lesions == [lesion]
    assert session.case.provenance.edits[-1].what == "lesion 1 drawn at L3"
    # the user types it, then erases part of it: the record follows
    widget.kind_combo.setCurrentText("blastic")
    widget.kind_combo.activated.emit(widget.kind_combo.currentIndex())
    assert lesion.kind == LesionKind.BLASTIC or session.case.lesions[0].kind == LesionKind.BLASTIC
    half = body[: len(body) // 2]
    layer.data_setitem(tuple(half.T), 0)
    widget.select_lesion(1)
    updated = widget.record_drawn()
    assert updated.kind == LesionKind.BLASTIC and updated.volume_mm3 < lesion.volume_mm3 * 0.6
    assert widget.row_of(1)["Type"] == "blastic"
    assert widget.table.item(0, COLUMNS.index("Type")).icon().isNull() is False
    assert widget.table.item(0, 0).data(Qt.ItemDataRole.UserRole) == 1
