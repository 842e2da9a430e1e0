"""The real JPEG 2000 CT series and TotalSegmentator's RAS label map, opened through the plugin.

Overlaying by array index alone puts "T12" on the wrong anatomy (mean HU about -340):
through the affines, label 32 must sit on the T12 vertebra (trabecular-bone HU) in napari.
"""

from __future__ import annotations

import numpy as np

PLUGIN = "napari-spine-mets"
T12, T11 = 32, 33


def test_totalsegmentator_t12_sits_on_bone(make_napari_viewer, real_ct_series, real_ct_reference_labels, save_screenshot) -> None:
    viewer = make_napari_viewer(show=True)
    viewer.open(str(real_ct_series), plugin=PLUGIN)
    viewer.open(str(real_ct_reference_labels), plugin=PLUGIN)
    assert len(viewer.layers) == 2
    ct, labels = viewer.layers
    assert ct._type_string == "image" and labels._type_string == "labels"
    assert ct.data.shape == (20, 512, 512)
    np.testing.assert_allclose(labels.scale, ct.scale)
    np.testing.assert_allclose(labels.translate, ct.translate, atol=1e-3)

    # Through napari's own transforms: the world position of each T12 voxel, looked up in the image.
    t12_index = np.argwhere(labels.data == T12)
    assert len(t12_index) == 23_576
    world = np.array([labels.data_to_world(p) for p in t12_index[:: max(1, len(t12_index) // 2000)]])
    image_index = np.rint([ct.world_to_data(w) for w in world]).astype(int)
    hu = ct.data[tuple(image_index.T)]
    assert 150 < float(hu.mean()) < 450, float(hu.mean())

    # The bone edges coincide: most T12 voxels are bone-dense, few are soft tissue or fat.
    assert (hu > 100).mean() > 0.8
    labels_names = dict(zip(labels.features["index"], labels.features["structure"], strict=True))
    assert labels_names[T12] == "vertebrae_T12" and labels_names[T11] == "vertebrae_T11"

    viewer.dims.set_point(0, float(labels.data_to_world((int(np.median(t12_index[:, 0])), 0, 0))[0]))
    viewer.layers.selection.active = labels
    pixels = save_screenshot(viewer, "real_series_with_totalsegmentator_labels", canvas_only=True)
    assert pixels.std() > 10
