"""Gather what the viewer shows into a :class:`~napari_spine_mets.case.Case` to save it.

Layers opened by the plugin carry their core object (and, for a reopened case, the Case
itself) in ``metadata``; their *current* data is taken, so the user's painting is saved.
Labels layers the user created in napari get their grid from ``scale``/``translate``.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..case import Case
from ..io.geometry import affine_from_napari
from ..volume import LabelMap, Volume
from .layers import METADATA_KEY

__all__ = ["case_from_layers", "case_of_layers"]

log = logging.getLogger(__name__)


def case_of_layers(layers: Iterable[Any]) -> Case | None:
    """The Case the layers were opened from, if a case folder was opened."""
    for layer in layers:
        case = layer.metadata.get(METADATA_KEY, {}).get("case")
        if case is not None:
            return case
    return None


def case_from_layers(layers: Iterable[Any]) -> Case:
    """A Case holding every image and labels layer, keeping an opened case's id and records."""
    layers = list(layers)
    base = case_of_layers(layers)
    case = copy.copy(base) if base is not None else Case()
    case.volumes, case.label_maps = {}, {}
    for layer in layers:
        entry = layer.metadata.get(METADATA_KEY, {})
        kind = layer._type_string
        if kind == "image" and entry.get("kind") == "volume":
            original: Volume = entry["volume"]
            case.add_volume(Volume(np.asarray(layer.data), original.affine, original.metadata, layer.name))
        elif kind == "labels":
            original_labels: LabelMap | None = entry.get("labels")
            affine = original_labels.affine if original_labels is not None else affine_from_napari(layer.scale, layer.translate)
            names = dict(original_labels.names) if original_labels is not None else {}
            source = original_labels.source if original_labels is not None else "drawn in napari"
            labels = LabelMap(np.asarray(layer.data), affine, names=names, name=layer.name, source=source)
            case.label_maps[layer.name] = labels
    for name, labels in case.label_maps.items():
        if not any(_same_grid(labels, v) for v in case.volumes.values()):
            log.warning("labels '%s' do not lie on any image's grid", name)
    return case


def _same_grid(labels: LabelMap, volume: Volume) -> bool:
    from ..io.geometry import same_grid

    return same_grid(labels.array.shape, labels.affine, volume.shape, volume.affine)
