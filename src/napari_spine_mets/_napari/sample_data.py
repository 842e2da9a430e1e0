"""napari sample-data contribution: the project's synthetic spine CT with its ground truth.

The case is generated (deterministically, from a fixed seed) rather than shipped, so the
plugin carries no patient data; it is labelled as demonstration data in every layer name.
"""

from __future__ import annotations

from .layers import LayerData, image_layer_data, labels_layer_data

__all__ = ["synthetic_spine_ct"]


def synthetic_spine_ct() -> list[LayerData]:
    """Synthetic CT T10–S1 with lytic, blastic and mixed lesions and one pathologic fracture."""
    from ..synthetic import SpineParams, generate_spine_ct

    case = generate_spine_ct(SpineParams())
    case.ct.name = "synthetic CT (demonstration)"
    case.vertebrae.name = "vertebrae (ground truth)"
    case.parts.name = "vertebra parts (ground truth)"
    case.lesions.name = "lesions (ground truth)"
    return [
        image_layer_data(case.ct),
        labels_layer_data(case.vertebrae, opacity=0.35),
        labels_layer_data(case.parts, opacity=0.35, visible=False),
        labels_layer_data(case.lesions, opacity=0.8),
    ]
