"""The Overlays dock on the sample case: colours per label id, a text per vertebra at its centroid, legends.

Colours and texts are compared with the core (:mod:`napari_spine_mets.overlay`) computed
independently from the live Case; positions with napari's own data -> world transform of
the CT layer, so labels, text and image are checked to line up in mm, in 2D and 3D.
"""

from __future__ import annotations

import numpy as np
import pytest

from napari_spine_mets.anatomy import TOTALSEG_SACRUM, TOTALSEG_SPINAL_CORD, label_of_level, level_of_label
from napari_spine_mets.case import Finding, LesionKind
from napari_spine_mets.display import contrast_limits
from napari_spine_mets.measure import evaluate_flags, measure_trabecular_hu, record_hu_in_case
from napari_spine_mets.overlay import (
    LESION_KIND_COLOURS,
    NOT_COMPUTED_COLOUR,
    Metric,
    label_text,
    overlay_inputs,
    overlay_values,
    vertebra_colours,
)
from napari_spine_mets.overlay.colours import level_colour
from napari_spine_mets.overlay.text import FRONT_GAP_MM
from napari_spine_mets.scores import sins
from napari_spine_mets.scores.sins import sins_band

PLUGIN = "napari-spine-mets"
CT = "synthetic CT (demonstration)"
VERTEBRAE = "vertebrae (ground truth)"
PARTS = "vertebra parts (ground truth)"
LESIONS = "lesions (ground truth)"
LEVELS = ["T10", "T11", "T12", "L1", "L2", "L3", "L4", "L5", "S1"]
SINS_ENTRIES = {  # level -> components differing from a pain-free blastic lesion with normal alignment
    "T12": dict(bone_lesion="lytic", pain="mechanical"),  # 3 + 3 + 2 = 8
    "L1": dict(bone_lesion="lytic", pain="mechanical", collapse="lt50"),  # 10
    "L2": {},  # 2
    "L4": dict(bone_lesion="mixed", pain="mechanical", alignment="subluxation_translation", collapse="gt50",
               posterolateral="bilateral"),  # 16
}


@pytest.fixture
def sample(make_napari_viewer):
    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(1700, 1050)
    viewer.open_sample(PLUGIN, "synthetic_spine_ct")
    return viewer


def _add_widget(viewer, qtbot):
    from napari_spine_mets._napari.overlay_widget import OverlayWidget
    from napari_spine_mets._napari.session import session_of

    # these tests are not about autosave: no background save racing the viewer's teardown
    session_of(viewer).set_autosave_interval(3600)
    widget = OverlayWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Overlays", area="right")
    qtbot.waitUntil(widget.isVisible, timeout=20000)
    return widget


def _record_hu_and_sins(session) -> None:
    """What the Bone HU dock and the score calculators put into the case, through the same core functions."""
    case = session.sync_from_layers()
    ct, vertebrae = case.volumes[CT], case.label_maps[VERTEBRAE]
    report = evaluate_flags(measure_trabecular_hu(ct, vertebrae, parts=case.label_maps[PARTS],
                                                  lesions=case.label_maps[LESIONS]))
    record_hu_in_case(case, report, ct)
    base = dict(pain="none", bone_lesion="blastic", alignment="normal", collapse="none", posterolateral="none")
    for level, entries in SINS_ENTRIES.items():
        case.findings += sins(location=level, **{**base, **entries}).to_findings()
    case.findings.append(Finding(name="nomogram: demonstration model", value=0.72, level="L1", unit="probability"))


def _core_values(session):
    case = session.case
    inputs = overlay_inputs(case.label_maps, vertebrae=VERTEBRAE, parts=PARTS, lesions=LESIONS)
    return overlay_values(inputs, findings=case.findings, rois=case.rois, lesions=case.lesions)


def _check_colours_and_legend(widget, layer, values, metric: Metric) -> None:
    scheme = vertebra_colours(values, metric, others={TOTALSEG_SACRUM: "sacrum", TOTALSEG_SPINAL_CORD: "spinal_cord"})
    assert set(scheme.colours) == {label_of_level(lv) for lv in LEVELS} | {TOTALSEG_SACRUM, TOTALSEG_SPINAL_CORD}
    for label_id, colour in scheme.colours.items():
        np.testing.assert_allclose(widget.layer_colour(layer, label_id), colour, atol=1e-6,
                                   err_msg=f"{metric.value}: {level_of_label(label_id)}")
    rows = widget.legend_rows()
    assert [text for text, _ in rows] == [e.text for e in scheme.legend]
    np.testing.assert_allclose([c for _, c in rows], [e.colour for e in scheme.legend], atol=1e-6)
    assert widget.legend_title.text() == scheme.title


def _colourful_pixels(pixels: np.ndarray) -> dict[str, int]:
    rgb = pixels[..., :3].astype(int)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    return {
        "white text": int(((r > 235) & (g > 235) & (b > 235)).sum()),
        "warm (yellow/vermillion)": int(((r > g + 25) & (r > b + 60)).sum()),
        "green": int(((g > r + 25) & (g > b)).sum()),
    }


def test_vertebrae_coloured_by_each_metric_with_labels_at_centroids(sample, qtbot, save_screenshot) -> None:
    from napari_spine_mets._napari.overlay_widget import LABELS_LAYER_NAME
    from napari_spine_mets._napari.session import session_of

    viewer = sample
    layer, ct = viewer.layers[VERTEBRAE], viewer.layers[CT]
    session = session_of(viewer)
    widget = _add_widget(viewer, qtbot)
    assert widget.vertebrae_combo.currentText() == VERTEBRAE
    assert widget.parts_combo.currentText() == PARTS and widget.lesions_combo.currentText() == LESIONS

    # before any score: levels coloured, SINS band all grey and listed as not computed
    assert widget.metric is Metric.LEVEL
    for level in LEVELS:
        np.testing.assert_allclose(widget.layer_colour(layer, label_of_level(level)), level_colour(level), atol=1e-6)
    widget.set_metric(Metric.SINS_BAND)
    assert all(np.allclose(widget.layer_colour(layer, label_of_level(lv)), NOT_COMPUTED_COLOUR) for lv in LEVELS)
    assert [t for t, _ in widget.legend_rows()[-2:]] == [f"not computed ({', '.join(LEVELS)})",
                                                         "no level: sacrum, spinal cord"]
    # structures without a level are grey too (no metric colour suggested for them); the label data are untouched
    np.testing.assert_allclose(widget.layer_colour(layer, TOTALSEG_SACRUM), NOT_COMPUTED_COLOUR, atol=1e-6)
    assert layer.data is session.case.label_maps[VERTEBRAE].array

    # the case changes (HU ROIs measured, SINS scored): the dock follows without being asked
    _record_hu_and_sins(session)
    session.commit("HU and SINS recorded by the test", topic="findings", save=False)
    values = _core_values(session)
    by_level = {v.level: v for v in values.levels.values()}
    assert by_level["L4"].sins_band == "unstable" and by_level["T12"].sins == 8
    legend = dict(widget.legend_rows())
    band_colour = {text.split(" (SINS")[0]: colour for text, colour in legend.items()}
    np.testing.assert_allclose(widget.layer_colour(layer, label_of_level("L4")), band_colour["unstable"], atol=1e-6)
    np.testing.assert_allclose(widget.layer_colour(layer, label_of_level("T12")), band_colour[sins_band(8)], atol=1e-6)
    np.testing.assert_allclose(widget.layer_colour(layer, label_of_level("L2")), band_colour["stable"], atol=1e-6)
    np.testing.assert_allclose(widget.layer_colour(layer, label_of_level("T10")), NOT_COMPUTED_COLOUR, atol=1e-6)
    for metric in Metric:
        widget.set_metric(metric)
        _check_colours_and_legend(widget, layer, values, metric)
        points = viewer.layers[LABELS_LAYER_NAME]
        assert list(points.features["label"]) == [label_text(values.levels[label_of_level(lv)], metric)
                                                  for lv in LEVELS]
    hu_t12 = next(f.value for f in session.case.findings if f.name == "trabecular_hu" and f.level == "T12")
    assert f"T12 · {hu_t12:.0f} HU · SINS 8" in list(points.features["label"])
    assert "L1 · " in points.features["label"][3] and points.features["label"][3].endswith("risk 72 %")

    # one text per vertebra, at its centroid in world mm (napari's own data -> world of the CT layer)
    viewer.dims.ndisplay = 3
    assert len(points.data) == len(LEVELS) and points.shown.all()
    assert np.allclose(points.face_color[:, 3], 0) and points.text.blending == "translucent_no_depth"
    assert np.allclose(points.scale, ct.scale)  # on the image's grid: the sliders step slice by slice
    for label_id, position in zip(points.features["label_id"], np.asarray(points.data) * points.scale + points.translate):
        index = np.column_stack(np.nonzero(layer.data == label_id)).mean(axis=0)
        np.testing.assert_allclose(position, ct.data_to_world(index), atol=1e-6)
        np.testing.assert_allclose(position, values.geometry[label_id].centroid_world, atol=1e-9)
    widget.set_metric(Metric.SINS_BAND)
    viewer.dims.order = (2, 0, 1)  # looking along x: from the patient's left side
    viewer.scene.camera.orientation = ("towards", "up", "right")  # superior up, anterior left
    viewer.reset_view()
    qtbot.wait(200)  # let the dock and canvas finish their layout
    pixels = save_screenshot(viewer, "overlay_3d_sins_band")
    found = _colourful_pixels(pixels)
    assert all(n > 200 for n in found.values()), found

    # sagittal 2D (x sliced, superior up): every label shown, on the slice, at its centroid's (z, y)
    viewer.dims.ndisplay = 2
    viewer.dims.order = (2, 0, 1)
    viewer.scene.camera.orientation2d = ("up", "right")
    midline = values.geometry[label_of_level("L1")].centroid_world[2]
    viewer.dims.set_point(2, midline)
    viewer.reset_view()
    assert points.shown.all()
    data = np.asarray(points.data) * points.scale + points.translate  # world mm
    centroids = np.array([values.geometry[i].centroid_world for i in points.features["label_id"]])
    np.testing.assert_allclose(data[:, 0], centroids[:, 0], atol=1e-9)  # at each vertebra's height
    fronts = np.array([t.lo_world[1] for t in widget.texts])
    np.testing.assert_allclose(data[:, 1], fronts - FRONT_GAP_MM, atol=1e-6)  # in front of it, not over the body
    np.testing.assert_allclose(data[:, 2], viewer.dims.point[2])
    qtbot.wait(200)  # let the dock and canvas finish their layout
    pixels = save_screenshot(viewer, "overlay_sagittal_sins_band")
    found = _colourful_pixels(pixels)
    assert all(n > 200 for n in found.values()), found
    widget.set_metric(Metric.HU_BAND)
    qtbot.wait(200)  # let the dock and canvas finish their layout
    save_screenshot(viewer, "overlay_sagittal_hu_band")
    widget.set_metric(Metric.LESION_BURDEN)
    qtbot.wait(200)  # let the dock and canvas finish their layout
    save_screenshot(viewer, "overlay_sagittal_lesion_burden")

    # axial: only the vertebra the slice cuts is labelled
    viewer.dims.order = (0, 1, 2)
    viewer.scene.camera.orientation2d = ("down", "right")
    l3 = values.geometry[label_of_level("L3")]
    viewer.dims.set_point(0, l3.centroid_world[0])
    shown = [lv for lv, s in zip(points.features["level"], points.shown) if s]
    assert shown == ["L3"]

    # "Show vertebra labels" hides the text layer
    widget.labels_check.setChecked(False)
    assert not points.visible
    widget.labels_check.setChecked(True)
    assert points.visible


def test_lesions_by_type_rois_windows_and_restoring_colours(sample, qtbot, save_screenshot) -> None:
    from napari_spine_mets._napari.hu_widget import ROI_LAYER_NAME
    from napari_spine_mets._napari.overlay_widget import CASE_ROIS_LAYER_NAME, LABELS_LAYER_NAME
    from napari_spine_mets._napari.session import session_of

    viewer = sample
    lesions, vertebrae, ct = viewer.layers[LESIONS], viewer.layers[VERTEBRAE], viewer.layers[CT]
    names = dict(session_of(viewer).sync_from_layers().label_maps[LESIONS].names)
    before = {i: np.asarray(lesions.colormap.map(np.array([i], dtype=lesions.data.dtype)))[0] for i in names}
    vertebra_before = np.asarray(vertebrae.colormap.map(np.array([label_of_level("L1")], vertebrae.data.dtype)))[0]
    widget = _add_widget(viewer, qtbot)

    # every lesion coloured by the type its name records (lesion_<id>_<level>_<kind>)
    assert len(names) == 6
    for label_id, name in names.items():
        kind = LesionKind(name.rsplit("_", 1)[-1])
        np.testing.assert_allclose(widget.layer_colour(lesions, label_id), LESION_KIND_COLOURS[kind], atol=1e-6)
    assert [t for t, _ in widget.lesion_legend_rows()] == ["lytic", "blastic", "mixed", "unknown"]
    np.testing.assert_allclose(widget.lesion_legend_rows()[0][1], LESION_KIND_COLOURS[LesionKind.LYTIC])
    assert lesions.data.max() == 6  # data untouched
    widget.lesions_check.setChecked(False)
    for label_id in names:
        np.testing.assert_allclose(widget.layer_colour(lesions, label_id), before[label_id], atol=1e-6)
    assert widget.lesion_legend_rows() == []
    widget.lesions_check.setChecked(True)

    # ROIs in the case but no Bone HU layer: their outlines are drawn, in world mm on their slice
    session = session_of(viewer)
    _record_hu_and_sins(session)
    session.commit("HU recorded by the test", topic="rois", save=False)
    rois_layer = viewer.layers[CASE_ROIS_LAYER_NAME]
    polygons = [p for r in session.case.rois for p in r.polygons]
    assert len(rois_layer.data) == len(polygons) >= 3 * (len(LEVELS) - 1)  # three slices per body
    # (napari keeps shape vertices in float32: a few micrometres)
    first_world = np.array([rois_layer.data_to_world(v) for v in np.asarray(rois_layer.data[0])])
    np.testing.assert_allclose(first_world, np.asarray(polygons[0].vertices_mm)[:, ::-1], atol=1e-4)
    z_index = ct.world_to_data(first_world[0])[0]
    assert z_index == pytest.approx(session.case.rois[0].measurements["slice_index"], abs=1e-4)
    # on the CT's grid, so the slider still steps one CT slice
    assert viewer.dims.range[0].step == pytest.approx(ct.scale[0])
    # the Bone HU dock's own layer takes precedence: ours goes away, theirs is left alone
    hu_layer = viewer.add_shapes(first_world[None], shape_type="polygon", name=ROI_LAYER_NAME)
    qtbot.waitUntil(lambda: CASE_ROIS_LAYER_NAME not in viewer.layers, timeout=10000)  # refresh is debounced
    assert hu_layer in viewer.layers and hu_layer.visible
    assert viewer.layers.index(hu_layer) > viewer.layers.index(vertebrae)

    # one-click windows on the CT; the labels' text turns black where the window draws the bone white
    points = viewer.layers[LABELS_LAYER_NAME]
    assert set(points.features["text_colour"]) == {"white"}
    widget.window_buttons["soft tissue"].click()
    assert tuple(ct.contrast_limits) == pytest.approx(contrast_limits("soft tissue"))
    assert set(points.features["text_colour"]) == {"black"}
    np.testing.assert_allclose(points.text.color._values[:, :3], 0.0)
    viewer.dims.order = (2, 0, 1)
    viewer.scene.camera.orientation2d = ("up", "right")
    viewer.reset_view()
    qtbot.wait(200)  # let the dock and canvas finish their layout
    save_screenshot(viewer, "overlay_sagittal_soft_tissue_window")
    widget.window_buttons["bone"].click()
    assert tuple(ct.contrast_limits) == pytest.approx(contrast_limits("bone"))
    np.testing.assert_allclose(points.text.color._values[:, :3], 1.0)

    # the canvas legend names the colours in words
    canvas_text = widget._canvas_text_overlay()
    assert canvas_text.visible and "Vertebrae: Level" in canvas_text.text and "orange lytic" in canvas_text.text
    widget.canvas_legend_check.setChecked(False)
    assert not canvas_text.visible

    # everything this dock coloured gets its colours back
    widget.restore_colours()
    np.testing.assert_allclose(
        np.asarray(vertebrae.colormap.map(np.array([label_of_level("L1")], vertebrae.data.dtype)))[0],
        vertebra_before, atol=1e-6)
    for label_id in names:
        np.testing.assert_allclose(widget.layer_colour(lesions, label_id), before[label_id], atol=1e-6)
    # and a later change of the case does not colour them again until asked
    session.commit("another change", topic="findings", save=False)
    assert not widget.vertebrae_check.isChecked()
    np.testing.assert_allclose(
        np.asarray(vertebrae.colormap.map(np.array([label_of_level("L1")], vertebrae.data.dtype)))[0],
        vertebra_before, atol=1e-6)
    widget.vertebrae_check.setChecked(True)
    np.testing.assert_allclose(widget.layer_colour(vertebrae, label_of_level("L1")), level_colour("L1"), atol=1e-6)
