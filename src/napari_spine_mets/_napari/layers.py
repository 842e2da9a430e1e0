"""Turn the core's volumes and label maps into napari layer data, placed in mm.

Every layer gets the ``scale``/``translate`` (or ``affine``) of its grid, so images,
labels, shapes and points overlay exactly and napari measures in millimetres.
The core objects ride along in ``metadata`` so widgets can show their provenance.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..display import contrast_limits, default_window
from ..volume import LabelMap, Volume

__all__ = ["LayerData", "image_layer_data", "labels_layer_data", "on_layer_grid", "METADATA_KEY"]

LayerData = tuple[Any, dict[str, Any], str]

#: Key under which a layer's ``metadata`` holds the core object it shows.
METADATA_KEY = "spine_mets"


def image_layer_data(volume: Volume, *, visible: bool = True) -> LayerData:
    """An image layer for ``volume``, with the bone window for CT."""
    kwargs: dict[str, Any] = {
        "name": volume.name,
        "colormap": "gray",
        "blending": "additive" if not visible else "translucent_no_depth",
        "visible": visible,
        "metadata": {METADATA_KEY: {"kind": "volume", "volume": volume}},
        **volume.napari_kwargs(),
    }
    preset = default_window(volume.metadata)
    if preset is not None:
        kwargs["contrast_limits"] = contrast_limits(preset)
    return (volume.array, kwargs, "image")


def labels_layer_data(labels: LabelMap, *, opacity: float = 0.5, visible: bool = True,
                      present: list[int] | None = None) -> LayerData:
    """A labels layer whose status bar shows each label's name (e.g. ``vertebrae_T12``).

    ``present``: the label ids when the caller knows them (saves a pass over the array).
    """
    ids = present if present is not None else present_labels(labels.array)
    features = {
        "index": ids,
        "structure": [labels.names.get(i, "background" if i == 0 else f"label_{i}") for i in ids],
    }
    kwargs: dict[str, Any] = {
        "name": labels.name,
        "opacity": opacity,
        "visible": visible,
        "features": features,
        "metadata": {METADATA_KEY: {"kind": "labels", "labels": labels}},
        **labels.napari_kwargs(),
    }
    return (labels.array, kwargs, "labels")


def present_labels(array: np.ndarray) -> list[int]:
    """The label ids present, fast for the usual small unsigned labels (this runs on the Qt thread)."""
    if array.dtype in (np.uint8, np.uint16) and array.size:
        return [int(v) for v in np.flatnonzero(np.bincount(array.reshape(-1)))]
    return [int(v) for v in np.unique(array)]


def on_layer_grid(reference: Any, vertices_world: list[np.ndarray]) -> tuple[list[np.ndarray], dict[str, Any]]:
    """World-mm (z, y, x) vertices as data on ``reference``'s grid, with its scale and translate.

    napari's slider steps by the finest grid among the layers: shapes kept in world mm
    (scale 1) would make it step 1 mm through a 2 mm CT, showing each slice twice. A
    reference with a rotation (an oblique scan) keeps the vertices in world mm.
    """
    if reference is None or not np.allclose(np.asarray(reference.affine.affine_matrix), np.eye(reference.ndim + 1)):
        return vertices_world, {}
    scale = np.asarray(reference.scale, dtype=float)[-3:]
    translate = np.asarray(reference.translate, dtype=float)[-3:]
    return [(np.asarray(v, dtype=float) - translate) / scale for v in vertices_world], {"scale": scale, "translate": translate}
