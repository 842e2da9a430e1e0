"""Gray Level Dependence Matrix features (pyradiomics ``gldm``; alpha = ``gldm_a``).

A voxel's dependence is 1 plus the number of ROI neighbours (26-neighbourhood at each
distance) whose gray level differs from it by at most alpha.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from .settings import RadiomicsSettings
from .zones import zone_features

__all__ = ["FEATURES", "gldm_features"]

logger = logging.getLogger(__name__)

FEATURES = (
    "DependenceEntropy", "DependenceNonUniformity", "DependenceNonUniformityNormalized", "DependenceVariance",
    "GrayLevelNonUniformity", "GrayLevelVariance", "HighGrayLevelEmphasis", "LargeDependenceEmphasis",
    "LargeDependenceHighGrayLevelEmphasis", "LargeDependenceLowGrayLevelEmphasis", "LowGrayLevelEmphasis",
    "SmallDependenceEmphasis", "SmallDependenceHighGrayLevelEmphasis", "SmallDependenceLowGrayLevelEmphasis",
)

# GLDM names -> the shared size-zone formula names (same formulas as GLSZM, other words).
_NAMES = {
    "SmallDependenceEmphasis": "SmallAreaEmphasis",
    "LargeDependenceEmphasis": "LargeAreaEmphasis",
    "GrayLevelNonUniformity": "GrayLevelNonUniformity",
    "DependenceNonUniformity": "SizeZoneNonUniformity",
    "DependenceNonUniformityNormalized": "SizeZoneNonUniformityNormalized",
    "GrayLevelVariance": "GrayLevelVariance",
    "DependenceVariance": "ZoneVariance",
    "DependenceEntropy": "ZoneEntropy",
    "LowGrayLevelEmphasis": "LowGrayLevelZoneEmphasis",
    "HighGrayLevelEmphasis": "HighGrayLevelZoneEmphasis",
    "SmallDependenceLowGrayLevelEmphasis": "SmallAreaLowGrayLevelEmphasis",
    "SmallDependenceHighGrayLevelEmphasis": "SmallAreaHighGrayLevelEmphasis",
    "LargeDependenceLowGrayLevelEmphasis": "LargeAreaLowGrayLevelEmphasis",
    "LargeDependenceHighGrayLevelEmphasis": "LargeAreaHighGrayLevelEmphasis",
}


def gldm_features(gray: np.ndarray, nb: np.ndarray, same: np.ndarray, settings: RadiomicsSettings, wanted: set[str], device: Any) -> dict[str, Any]:
    """From each ROI voxel's gray level (N,), its neighbours' (N, K, 0 = outside) and which equal it."""
    if settings.gldm_a == 0:
        dep = np.count_nonzero(same, axis=1) + 1
    else:
        dep = ((nb > 0) & (np.abs(nb - gray[:, None]) <= settings.gldm_a)).sum(1) + 1
    inner = zone_features(gray, dep, {_NAMES[w] for w in wanted if w in _NAMES}, device)
    return {name: inner[_NAMES[name]] for name in wanted if name in _NAMES}
