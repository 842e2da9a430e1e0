"""The "lesions" labels layer: one colour per lesion type, rejected lesions faded, where a lesion is.

Colours come from the Okabe-Ito palette (distinct for the common colour-vision
deficiencies and legible over a grey CT): lytic orange, blastic sky blue, mixed reddish
purple; a lesion of unknown type (drawn, not yet typed, or painted but not yet recorded)
is yellow, a rejected one a faint grey so it stays findable without drawing the eye.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..case_parts import Lesion, LesionKind, LesionStatus
from ..detection.record import LESIONS_MAP, lesion_label_names
from ..overlay.colours import LESION_KIND_COLOURS, REJECTED_LESION_COLOUR
from ..volume import LabelMap, Volume
from .layers import METADATA_KEY

if TYPE_CHECKING:
    import napari

__all__ = ["LESIONS_LAYER", "KIND_COLOURS", "REJECTED_COLOUR", "lesion_colour", "style_lesions_layer",
           "add_or_update_lesions_layer", "lesion_centre"]

LESIONS_LAYER = LESIONS_MAP
#: The project's one lesion palette (overlay.colours), shared with the Overlays dock and reports.
KIND_COLOURS: dict[LesionKind, str] = {
    kind: "#" + "".join(f"{round(c * 255):02X}" for c in rgba[:3]) for kind, rgba in LESION_KIND_COLOURS.items()
}
REJECTED_COLOUR = REJECTED_LESION_COLOUR


def lesion_colour(lesion: Lesion) -> tuple[float, float, float, float]:
    """RGBA (0-1) of a lesion in the layer."""
    if lesion.status == LesionStatus.REJECTED:
        return REJECTED_COLOUR
    return LESION_KIND_COLOURS[lesion.kind]


def style_lesions_layer(layer: Any, lesions: list[Lesion]) -> None:
    """Colour each label by its lesion's type and status; keep the layer's names in step with the case."""
    from napari.utils.colormaps import DirectLabelColormap

    colours: dict[int | None, Any] = {None: lesion_colour(Lesion(id=0)), 0: (0.0, 0.0, 0.0, 0.0)}
    colours.update({les.id: lesion_colour(les) for les in lesions})
    entry = layer.metadata.setdefault(METADATA_KEY, {"kind": "labels"})
    if entry.get("lesion_colours") != colours:  # a new colormap rebuilds napari's texture: only when needed
        layer.colormap = DirectLabelColormap(color_dict=colours)
        entry["lesion_colours"] = colours
    old: LabelMap | None = entry.get("labels")
    names = lesion_label_names(lesions)
    if old is not None:
        entry["labels"] = LabelMap(np.asarray(layer.data), old.affine, names=names, name=layer.name, source=old.source)
    layer.features = _features(names)


def _features(names: dict[int, str]) -> dict[str, list[Any]]:
    """Status-bar names of the labels (from the case, so the big array is never scanned on the Qt thread)."""
    ids = sorted({0, *names})
    return {"index": ids, "structure": ["background" if i == 0 else names[i] for i in ids]}


def add_or_update_lesions_layer(viewer: "napari.Viewer", labels: LabelMap | None, volume: Volume) -> Any:
    """The viewer's "lesions" layer holding ``labels`` (an empty one on ``volume``'s grid when None)."""
    if labels is None:
        labels = LabelMap(np.zeros(volume.shape, np.uint16), volume.affine.copy(), name=LESIONS_LAYER,
                          source="drawn by the user")
    if LESIONS_LAYER in viewer.layers:
        layer = viewer.layers[LESIONS_LAYER]
        layer.metadata.setdefault(METADATA_KEY, {"kind": "labels"})["labels"] = labels
        layer.data = labels.array
        return layer
    return viewer.add_labels(labels.array, name=LESIONS_LAYER, opacity=0.9, features=_features(labels.names),
                             metadata={METADATA_KEY: {"kind": "labels", "labels": labels}}, **labels.napari_kwargs())


def lesion_centre(data: np.ndarray, lesion_id: int) -> tuple[float, float, float] | None:
    """The lesion voxel (z, y, x) nearest its centroid: always on the lesion, even for a crescent."""
    points = np.argwhere(np.asarray(data) == lesion_id)
    if points.size == 0:
        return None
    centre = points.mean(axis=0)
    nearest = points[np.argmin(((points - centre) ** 2).sum(axis=1))]
    return tuple(float(v) for v in nearest)  # type: ignore[return-value]
