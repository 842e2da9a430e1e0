"""Open the sample case through the plugin, as a user does, and check what napari shows."""

from __future__ import annotations

import numpy as np
import pytest

from napari_spine_mets.anatomy import TOTALSEG_VERTEBRA_IDS
from napari_spine_mets.display import contrast_limits

PLUGIN = "napari-spine-mets"


@pytest.fixture
def viewer_with_sample(make_napari_viewer):
    viewer = make_napari_viewer(show=True)
    viewer.open_sample(PLUGIN, "synthetic_spine_ct")
    return viewer


def test_sample_layers_are_aligned_in_mm(viewer_with_sample) -> None:
    viewer = viewer_with_sample
    names = [layer.name for layer in viewer.layers]
    assert names[0] == "synthetic CT (demonstration)"
    assert {"vertebrae (ground truth)", "vertebra parts (ground truth)", "lesions (ground truth)"} <= set(names)
    ct = viewer.layers[0]
    assert ct.data.dtype == np.int16
    assert tuple(ct.contrast_limits) == pytest.approx(contrast_limits("bone"))
    for layer in viewer.layers[1:]:
        assert layer.data.shape == ct.data.shape
        np.testing.assert_allclose(layer.scale, ct.scale)
        np.testing.assert_allclose(layer.translate, ct.translate)
    # measurements come out in mm: the extent of the image is shape x spacing
    extent = ct.extent.world[1] - ct.extent.world[0]
    np.testing.assert_allclose(extent, (np.array(ct.data.shape) - 1) * ct.scale, rtol=1e-6)
    assert ct.scale[1] < 2.0 and ct.scale[0] <= 3.0  # a real CT grid, not unit voxels


def test_sample_levels_have_names_and_sit_on_bone(viewer_with_sample) -> None:
    viewer = viewer_with_sample
    vertebrae = viewer.layers["vertebrae (ground truth)"]
    ct = viewer.layers[0]
    structures = dict(zip(vertebrae.features["index"], vertebrae.features["structure"], strict=True))
    assert structures[TOTALSEG_VERTEBRA_IDS["L1"]] == "vertebrae_L1"
    l1 = vertebrae.data == TOTALSEG_VERTEBRA_IDS["L1"]
    assert 100 < float(ct.data[l1].mean()) < 1000  # bone, not soft tissue or air


def test_main_command_view_has_docks_and_shows_the_spine(make_napari_viewer, save_screenshot, monkeypatch, qtbot) -> None:
    import napari

    from napari_spine_mets._napari import launch

    created = []

    def _viewer(*args, **kwargs):
        created.append(make_napari_viewer(show=True, title=kwargs.get("title", "napari")))
        return created[-1]

    monkeypatch.setattr(napari, "Viewer", _viewer)
    viewer = launch.open_viewer()
    assert viewer is created[0]
    dock_names = list(viewer.window.dock_widgets)
    assert any("Case" in name for name in dock_names), dock_names
    case_dock = viewer.window.dock_widgets[next(n for n in dock_names if "Case" in n)]
    qtbot.waitUntil(case_dock.isVisible, timeout=20000)
    # the view starts mid-volume, where the vertebrae are
    ct = viewer.layers[0]
    z_index = int(round(ct.world_to_data(viewer.dims.point)[0]))
    assert 0 < z_index < ct.data.shape[0] - 1
    vertebrae = viewer.layers["vertebrae (ground truth)"]
    assert (vertebrae.data[z_index] > 0).any() or (viewer.layers["vertebra parts (ground truth)"].data[z_index] > 0).any()
    pixels = save_screenshot(viewer, "main_view_sample_case")
    canvas = save_screenshot(viewer, "main_view_sample_case_canvas", canvas_only=True)
    assert pixels.shape[0] > 300 and pixels.shape[1] > 500
    gray = canvas[..., :3].mean(axis=-1)
    body = gray[gray > 20]
    # the patient fills a good part of the canvas, with air around it
    assert 0.15 < body.size / gray.size < 0.95
    # bone stands out above the soft tissue in the bone window
    assert np.percentile(body, 99.5) > np.median(body) + 50
