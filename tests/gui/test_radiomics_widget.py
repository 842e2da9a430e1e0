"""The Radiomics dock on the sample case: features equal to the engine's, stored on the case, bad input said plainly."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import yaml

from napari_spine_mets._napari.layers import image_layer_data, labels_layer_data
from napari_spine_mets._napari.radiomics_widget import HU_ROIS, RadiomicsWidget
from napari_spine_mets._napari.session import session_of
from napari_spine_mets.case_parts import Polygon, Roi, RoiKind
from napari_spine_mets.io.geometry import world_from_index
from napari_spine_mets.models.model_file import settings_hash
from napari_spine_mets.radiomics.engine import extract
from napari_spine_mets.radiomics.settings import RadiomicsSettings, load_settings
from napari_spine_mets.volume import LabelMap, Volume, VolumeMetadata

PLUGIN = "napari-spine-mets"
CT = "synthetic CT (demonstration)"
LESIONS = "lesions (ground truth)"
SMALL_LESION = 5  # the sample's T11 blastic lesion in the posterior elements (about 700 voxels)


@pytest.fixture
def dock(make_napari_viewer, qtbot):
    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(1700, 1100)
    viewer.open_sample(PLUGIN, "synthetic_spine_ct")
    widget = RadiomicsWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Radiomics", area="right")
    return viewer, widget


def _compute(widget: RadiomicsWidget, qtbot, expect_result: bool = True) -> None:
    before = widget.result
    widget.compute()
    if expect_result:
        qtbot.waitUntil(lambda: widget.result is not before and widget.compute_button.isEnabled(), timeout=120000)
    else:
        qtbot.waitUntil(lambda: widget.compute_button.isEnabled(), timeout=120000)


def test_features_of_a_lesion_equal_the_engine_and_go_into_the_case(dock, qtbot, tmp_path, save_screenshot) -> None:
    viewer, widget = dock
    assert widget.image_combo.currentText() == CT
    assert "bin width 25" in widget.settings_label.text() and "defaults" in widget.settings_label.text()
    widget.select_roi(LESIONS, SMALL_LESION)
    assert widget.label_combo.currentText() == f"{SMALL_LESION}: lesion_5_T11_blastic"
    for name in ("glrlm", "glszm", "gldm", "ngtdm"):  # fewer classes: a quicker test, the choice must be honoured
        widget.class_boxes[name].setChecked(False)
    _compute(widget, qtbot)
    ct, labels = viewer.layers[CT].data, viewer.layers[LESIONS].data
    settings = RadiomicsSettings(features={"firstorder": None, "shape": None, "glcm": None})
    direct = extract(np.asarray(ct), (np.asarray(labels) == SMALL_LESION).astype(np.uint8),
                     viewer.layers[CT].metadata["spine_mets"]["volume"].spacing, settings)
    shown = widget.shown_features()
    assert set(shown) == set(direct.features) and not any("glrlm" in k for k in shown)
    assert shown == pytest.approx(direct.features, rel=1e-9, abs=1e-12)

    save_screenshot(viewer, "radiomics_dock_lesion")
    widget.filter_edit.setText("glcm")
    assert shown_keys_all(widget, "glcm") and len(widget.shown_features()) < len(direct.features)
    out = widget.export_csv(tmp_path / "features.csv")
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["feature", "value"] and len(rows) == len(direct.features) + 2  # every feature, not the filter
    assert {r[0]: float(r[1]) for r in rows[1:-1]} == pytest.approx(direct.features, rel=1e-12)

    session = session_of(viewer)
    roi = next(r for r in session.case.rois if r.id == widget.roi_id)
    assert roi.kind is RoiKind.RADIOMICS and roi.label_map == LESIONS and roi.label_id == SMALL_LESION
    assert roi.level == "T11"
    assert roi.measurements["feature_settings_sha256"] == settings_hash(settings.to_dict())
    assert roi.measurements["original_firstorder_Mean"] == pytest.approx(direct.features["original_firstorder_Mean"])
    assert session.case.provenance.steps[-1].name == "radiomics"
    assert session.case.provenance.edits[-1].what.startswith("radiomics:")
    save_screenshot(viewer, "radiomics_dock_filtered_exported")

    # computing the same ROI again replaces its features rather than adding an ROI
    count = len(session.case.rois)
    _compute(widget, qtbot)
    assert len(session.case.rois) == count


def shown_keys_all(widget: RadiomicsWidget, word: str) -> bool:
    keys = list(widget.shown_features())
    return bool(keys) and all(word in k for k in keys)


def test_a_settings_file_changes_what_is_computed(dock, qtbot, tmp_path) -> None:
    viewer, widget = dock
    path = tmp_path / "ct_settings.yaml"
    path.write_text(yaml.safe_dump({"bin_width": 10, "features": {"firstorder": None}}))
    widget.use_settings(path)
    assert [n for n, box in widget.class_boxes.items() if box.isChecked()] == ["firstorder"]
    assert "ct_settings.yaml" in widget.settings_label.text() and "bin width 10" in widget.settings_label.text()
    widget.select_roi("vertebrae (ground truth)", 32)  # T12
    _compute(widget, qtbot)
    spacing = viewer.layers[CT].metadata["spine_mets"]["volume"].spacing
    direct = extract(np.asarray(viewer.layers[CT].data),
                     (np.asarray(viewer.layers["vertebrae (ground truth)"].data) == 32).astype(np.uint8), spacing,
                     load_settings(path))
    assert widget.shown_features() == pytest.approx(direct.features, rel=1e-9)
    roi = next(r for r in session_of(viewer).case.rois if r.id == widget.roi_id)
    assert roi.level == "T12"

    # the Bone HU dock's trabecular ROIs (polygons in the case) are an ROI source too
    ct = viewer.layers[CT].metadata["spine_mets"]["volume"]
    z, y0, y1, x0, x1 = 60, 180, 190, 195, 207
    corners = np.array([[z, y0 - 0.4, x0 - 0.4], [z, y0 - 0.4, x1 - 0.6], [z, y1 - 0.6, x1 - 0.6], [z, y1 - 0.6, x0 - 0.4]])
    lps = world_from_index(ct.affine, corners)
    session = session_of(viewer)
    session.case.rois.append(Roi(id=90, level="L1", kind=RoiKind.TRABECULAR_HU,
                                 polygons=[Polygon(float(lps[0, 2]), [tuple(map(float, p)) for p in lps])]))
    session.commit("test: a trabecular ROI", topic="rois")
    assert widget.source_combo.findText(HU_ROIS) >= 0
    widget.select_roi(HU_ROIS, "L1")
    _compute(widget, qtbot)
    mask = np.zeros(ct.shape, np.uint8)
    mask[z, y0:y1, x0:x1] = 1
    direct = extract(np.asarray(ct.array), mask, ct.spacing, load_settings(path))
    assert widget.shown_features() == pytest.approx(direct.features, rel=1e-9)
    hu_roi = next(r for r in session.case.rois if r.id == widget.roi_id)
    assert hu_roi.level == "L1" and hu_roi.label_map is None and len(hu_roi.polygons) == 1
    assert hu_roi.measurements["roi_voxels"] == (y1 - y0) * (x1 - x0)


def test_bad_input_shows_the_cores_message(dock, qtbot, save_screenshot) -> None:
    viewer, widget = dock
    widget.select_roi(LESIONS, 99)  # no such lesion
    _compute(widget, qtbot, expect_result=False)
    assert "empty mask: no voxel has label 99" in widget.status.text()
    assert widget.result is None

    ct = viewer.layers[CT].metadata["spine_mets"]["volume"]
    small = LabelMap(np.zeros((20, 20, 20), np.uint8), ct.affine, name="small roi")
    small.array[5:9, 5:9, 5:9] = 1
    data, kwargs, _ = labels_layer_data(small)
    viewer.add_labels(data, **kwargs)
    widget.select_roi("small roi", 1)
    widget.compute()
    assert "is not on the grid of the image" in widget.status.text() and "resample" in widget.status.text()

    mr = Volume((np.asarray(ct.array) + 1024).astype(np.int16), ct.affine,
                VolumeMetadata(modality="MR", series_description="T2 (test)"), name="T2 (test)")
    data, kwargs, _ = image_layer_data(mr)
    viewer.add_image(data, **kwargs)
    widget.image_combo.setCurrentText("T2 (test)")
    widget.select_roi(LESIONS, SMALL_LESION)
    widget.compute()
    assert "is MR, not CT" in widget.status.text() and "normalize" in widget.status.text()
    assert widget.result is None and widget.compute_button.isEnabled()
    save_screenshot(viewer, "radiomics_dock_mr_refused")
