"""The Bone HU dock on a small synthetic case: automatic ROIs in mm on the bodies, editing one."""

from __future__ import annotations

import numpy as np
import pytest

from napari_spine_mets._napari.hu_widget import ROI_LAYER_NAME
from napari_spine_mets._napari.layers import image_layer_data, labels_layer_data
from napari_spine_mets.io import geometry
from napari_spine_mets.synthetic import SpineParams, generate_spine_ct

PLUGIN = "napari-spine-mets"


@pytest.fixture(scope="module")
def small_case():
    case = generate_spine_ct(SpineParams(levels=("T12", "L1", "L2"), spacing_mm=(2.0, 0.8, 0.8), fov_mm=220,
                                         age_years=70, lesions=(), fracture=None))
    case.ct.name = "synthetic CT"
    return case


def test_bone_hu_dock_places_editable_rois(make_napari_viewer, qtbot, small_case, save_screenshot) -> None:
    case = small_case
    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(1500, 950)
    for data, kwargs, kind in (image_layer_data(case.ct), labels_layer_data(case.vertebrae, opacity=0.25)):
        getattr(viewer, f"add_{kind}")(data, **kwargs)
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Bone HU")
    assert widget.ct_combo.currentText() == "synthetic CT"
    assert widget.labels_combo.currentText() == "vertebrae"
    widget.compute_button.click()
    qtbot.waitUntil(lambda: widget.report is not None, timeout=20000)
    layer = viewer.layers[ROI_LAYER_NAME]
    assert len(layer.data) == 9 and set(layer.shape_type) == {"ellipse"}
    # the ROI layer is on the CT's grid: the slider still steps one CT slice, not 1 mm
    assert viewer.dims.range[0].step == pytest.approx(case.ct.spacing[0])
    truth = case.params.trabecular_hu
    ct = viewer.layers["synthetic CT"]
    for i, (level, roi) in enumerate(widget.entries):
        corners = np.asarray(layer.data[i])
        assert np.allclose(corners[:, 0], corners[0, 0])  # flat on one axial plane
        centre_world = layer.data_to_world(corners.mean(axis=0))
        # world mm -> CT voxel through napari's own transform: the centre is in this level's body
        z, y, x = (int(round(v)) for v in ct.world_to_data(centre_world))
        assert z == roi.slice_index
        assert case.parts.array[z, y, x] == 1 and case.vertebrae.names[int(case.vertebrae.array[z, y, x])] == f"vertebrae_{level}"
        # and in patient millimetres the same point through the core's affine
        lps = geometry.world_from_index(case.ct.affine, np.array([z, y, x], float))
        assert np.allclose(lps[::-1], ct.data_to_world((z, y, x)), atol=1e-6)
    row = widget.level_row("L1")
    assert abs(float(row["Mean HU"]) - truth) <= 10 and row["ROI"] == "automatic"
    assert int(row["Voxels"]) == widget.report.levels["L1"].combined.n_voxels
    assert "osteopenia range" in row["Flags"] or "osteoporosis range" in row["Flags"] or "normal range" in row["Flags"]
    assert "contrast" in widget.caveats_label.toPlainText().lower()
    viewer.dims.set_point(0, float(layer.data_to_world(np.asarray(layer.data[4])[0])[0]))
    save_screenshot(viewer, "bone_hu_dock_automatic")

    # move L1's mid slice ellipse 8 mm anteriorly, over the cortex: its numbers change, it turns manual
    index = next(i for i, (lv, _) in enumerate(widget.entries) if lv == "L1") + 1
    before = widget.entries[index][1].stats.mean
    before_centre = widget.entries[index][1].ellipse.center_yx
    others = [r.stats.mean for j, (_, r) in enumerate(widget.entries) if j != index]
    data = [np.asarray(d).copy() for d in layer.data]
    data[index][:, 1] -= 8.0 / case.ct.spacing[1]  # the layer lies on the CT's voxel grid
    layer.data = data
    layer.shape_type  # noqa: B018 - keep the layer's state in sync
    level, roi = widget.entries[index]
    assert level == "L1" and roi.origin == "manual"
    assert abs(roi.stats.mean - before) > 5 and roi.stats.sd > 60  # part cortex now: denser and heterogeneous
    from napari_spine_mets.measure import measure_ellipse_roi

    again = measure_ellipse_roi(case.ct, roi.ellipse)
    assert again.stats.mean == pytest.approx(roi.stats.mean)
    assert roi.ellipse.center_yx[0] == pytest.approx(before_centre[0] - 8.0 / case.ct.spacing[1])
    assert [r.stats.mean for j, (_, r) in enumerate(widget.entries) if j != index] == others
    row = widget.level_row("L1")
    assert row["ROI"] == "mixed" and float(row["Mean HU"]) == pytest.approx(widget.report.levels["L1"].combined.mean, abs=0.51)
    assert "manual" in layer.features["label"][index] and layer.features["origin"][index] == "manual"
    assert "moved by the user" in widget.caveats_label.toPlainText()
    viewer.dims.set_point(0, float(layer.data_to_world(np.asarray(layer.data[index])[0])[0]))
    save_screenshot(viewer, "bone_hu_dock_moved")
