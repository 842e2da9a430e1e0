"""Lesion detection in the vertebrae: candidates against the patient's own normal bone.

Importing this package loads numpy only; scipy is imported inside the functions. The
public entry point is :func:`napari_spine_mets.detection.pipeline.detect_lesions`.
Every number it gives is decision support, not a diagnosis.
"""

from __future__ import annotations

__all__ = ["detect_lesions", "LesionReport", "segment_from_click"]


def __getattr__(name: str):  # lazy: keep `import napari_spine_mets.detection` cheap
    if name in ("detect_lesions", "LesionReport"):
        from . import pipeline

        return getattr(pipeline, name)
    if name == "segment_from_click":
        from .click_segment import segment_from_click

        return segment_from_click
    raise AttributeError(name)
