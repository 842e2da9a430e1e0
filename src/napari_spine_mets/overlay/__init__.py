"""Overlays (issue 7), plain data: what to colour each vertebra and lesion, and what to write where.

* :mod:`.inputs` -- which of a case's label maps hold the vertebrae, parts and lesions;
* :mod:`.vertebrae` -- each vertebra's size, centroid and extent in napari world mm;
* :mod:`.metrics` -- per vertebra the level, SINS band, HU band, lesion burden, nomogram risk;
* :mod:`.colours` -- those values as RGBA per label id with a legend; lesion-type colours;
* :mod:`.text` -- a label per vertebra ("T12 · 148 HU · SINS 9") at its centroid;
* :mod:`.rois` -- the case's ROI polygons in world mm.

numpy (and scipy when used) only; no Qt, no napari. The napari dock is
:mod:`napari_spine_mets._napari.overlay_widget`.
"""

from __future__ import annotations

from .colours import LESION_KIND_COLOURS, NOT_COMPUTED_COLOUR, ColourScheme, LegendEntry, lesion_colours, vertebra_colours
from .inputs import OverlayInputs, choose_label_map, overlay_inputs
from .metrics import METRIC_TITLES, Metric, OverlayValues, LevelValues, overlay_values
from .rois import RoiOutline, roi_outlines
from .text import VertebraText, follow_slice, label_text, vertebra_texts
from .vertebrae import VertebraGeometry, vertebra_geometry

__all__ = [
    "LESION_KIND_COLOURS",
    "NOT_COMPUTED_COLOUR",
    "ColourScheme",
    "LegendEntry",
    "lesion_colours",
    "vertebra_colours",
    "OverlayInputs",
    "choose_label_map",
    "overlay_inputs",
    "METRIC_TITLES",
    "Metric",
    "OverlayValues",
    "LevelValues",
    "overlay_values",
    "RoiOutline",
    "roi_outlines",
    "VertebraText",
    "follow_slice",
    "label_text",
    "vertebra_texts",
    "VertebraGeometry",
    "vertebra_geometry",
]
