"""The Segment dock: runs in the background with progress, adds named labels, shifts levels, cancels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from napari_spine_mets._napari.layers import image_layer_data
from napari_spine_mets._napari.segment_widget import SegmentWidget
from napari_spine_mets.segmentation.classes import CLASS_NAMES, N_CLASSES
from napari_spine_mets.segmentation.network import UNet3D
from napari_spine_mets.segmentation.weights import ModelCard, save_weights
from napari_spine_mets.synthetic import SpineParams, generate_spine_ct


@pytest.fixture(scope="module")
def small_case():
    return generate_spine_ct(SpineParams(levels=("L4", "L5", "S1"), spacing_mm=(2.5, 1.2, 1.2), fov_mm=200, lesions=(), fracture=None))


@pytest.fixture
def weights_dir(tmp_path: Path) -> Path:
    """A real (untrained) weights file: the dock's job here is the workflow, not accuracy."""
    torch.manual_seed(0)
    net = UNet3D(n_classes=N_CLASSES, base_channels=4, depth=2)
    card = ModelCard(name="vertebrae-ct", version="test", architecture={}, classes=CLASS_NAMES, demonstration=True,
                     metrics={"working_spacing_mm": 4.0, "patch": [16, 32, 32]})
    save_weights(net, card, tmp_path)
    return tmp_path


def test_segment_dock_runs_in_background_and_shows_results(make_napari_viewer, qtbot, small_case, weights_dir, save_screenshot) -> None:
    viewer = make_napari_viewer(show=True)
    data, kwargs, _ = image_layer_data(small_case.ct)
    viewer.add_image(data, **kwargs)
    widget = SegmentWidget(viewer, weights_dir=weights_dir)
    viewer.window.add_dock_widget(widget, name="Segment")
    assert widget.image_combo.currentText() == small_case.ct.name
    progress_seen: list[int] = []
    widget.progress.valueChanged.connect(progress_seen.append)
    widget.device_combo.setCurrentText("cpu")
    widget.run()
    qtbot.waitUntil(lambda: widget.result is not None, timeout=60000)
    assert progress_seen and max(progress_seen) == 100 and len(set(progress_seen)) > 2
    assert "vertebrae" in viewer.layers and "vertebra parts" in viewer.layers
    assert "CPU" in widget.status.text() and "demonstration model" in widget.notes.text()
    assert widget.run_button.isEnabled() and not widget.cancel_button.isEnabled()
    np.testing.assert_allclose(viewer.layers["vertebrae"].scale, viewer.layers[small_case.ct.name].scale)
    save_screenshot(viewer, "segment_dock")


def test_shift_levels_renames_the_layer(make_napari_viewer, small_case) -> None:
    from napari_spine_mets.segmentation.inference import SegmentationResult

    viewer = make_napari_viewer()
    widget = SegmentWidget(viewer)
    stats = [{"label": 28, "level": "L4", "name": "vertebrae_L4", "volume_mm3": 1.0, "body_height": {"anterior_mm": 1.0, "middle_mm": 1.0, "posterior_mm": 1.0}, "confidence": 1.0}]
    labels = small_case.vertebrae
    labels.name = "vertebrae"
    widget._show_result(SegmentationResult(vertebrae=labels, parts=small_case.parts, vertebra_stats=stats, anchor="test",
                                           naming_confident=True, notes=[], provenance={"device": "CPU", "precision": "bfloat16", "timings_s": {"total_s": 0.0}, "model": "m", "model_version": "v"}))
    assert "on CPU, bfloat16, in" in widget.status.text()  # which arithmetic ran is shown with the device
    before = (viewer.layers["vertebrae"].data == 28).sum()
    widget.shift_levels(-1)
    assert (viewer.layers["vertebrae"].data == 29).sum() == before  # L4 became L3
    assert widget.table.item(0, 0).text() == "L3"
    widget.shift_levels(+5)  # past S1: refused with a message, nothing changed
    assert "past S1" in widget.status.text()
    assert (viewer.layers["vertebrae"].data == 29).sum() == before
    # the shift is one edit in the viewer's shared history: undo brings L4 back, the case records it
    from napari_spine_mets._napari.session import session_of

    session = session_of(viewer)
    assert any("shift all levels up" in e.what for e in session.case.provenance.edits)
    session.history.undo({"vertebrae": viewer.layers["vertebrae"].data})
    assert (viewer.layers["vertebrae"].data == 28).sum() == before


def test_missing_weights_give_a_message_not_a_traceback(make_napari_viewer, qtbot, small_case, tmp_path: Path) -> None:
    viewer = make_napari_viewer()
    data, kwargs, _ = image_layer_data(small_case.ct)
    viewer.add_image(data, **kwargs)
    widget = SegmentWidget(viewer, weights_dir=tmp_path)  # no weights here
    widget.run()
    qtbot.waitUntil(lambda: widget.run_button.isEnabled(), timeout=30000)
    assert "no model card for 'vertebrae-ct'" in widget.status.text()
    assert "vertebrae" not in viewer.layers
