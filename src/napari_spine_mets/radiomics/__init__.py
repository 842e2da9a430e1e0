"""Radiomics features with pyradiomics' names and values: numpy voxel work, torch float64 formulas (GPU when present).

Import is light: numpy only; torch, SciPy and SimpleITK load when features are computed.
"""

from __future__ import annotations

from .errors import RadiomicsError, RadiomicsGeometryError, RadiomicsInputError, RadiomicsSettingsError
from .settings import RadiomicsSettings, load_settings, save_settings

__all__ = [
    "RadiomicsSettings",
    "load_settings",
    "save_settings",
    "extract",
    "extract_features",
    "extract_many",
    "RadiomicsError",
    "RadiomicsInputError",
    "RadiomicsGeometryError",
    "RadiomicsSettingsError",
]


def __getattr__(name: str):  # lazy: the engine imports the feature modules
    if name in ("extract", "extract_features", "extract_many"):
        from . import engine

        return getattr(engine, name)
    raise AttributeError(name)
