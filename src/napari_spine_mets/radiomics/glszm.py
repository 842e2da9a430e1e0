"""Gray Level Size Zone Matrix features (pyradiomics ``glszm``, 26-connected zones).

Zones are the connected components of the graph whose edges join 26-neighbours of the
same gray level inside the ROI: one ``scipy.sparse.csgraph.connected_components`` call
for all gray levels at once (CPU; the edges are picked from the ROI plan with numpy).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from .plan import RoiPlan
from .zones import zone_features

__all__ = ["FEATURES", "zones", "glszm_features"]

logger = logging.getLogger(__name__)

FEATURES = (
    "GrayLevelNonUniformity", "GrayLevelNonUniformityNormalized", "GrayLevelVariance", "HighGrayLevelZoneEmphasis",
    "LargeAreaEmphasis", "LargeAreaHighGrayLevelEmphasis", "LargeAreaLowGrayLevelEmphasis", "LowGrayLevelZoneEmphasis",
    "SizeZoneNonUniformity", "SizeZoneNonUniformityNormalized", "SmallAreaEmphasis", "SmallAreaHighGrayLevelEmphasis",
    "SmallAreaLowGrayLevelEmphasis", "ZoneEntropy", "ZonePercentage", "ZoneVariance",
)


def zones(q: np.ndarray, same: np.ndarray, plan: RoiPlan) -> tuple[np.ndarray, np.ndarray]:
    """(gray level, size) of every 26-connected same-gray-level zone of the ROI.

    ``same`` (N, K) tells which neighbours (columns as ``plan.nb``) share the voxel's level.
    The plan's distance-1 half-neighbourhood (``zone_nb``) read row by row lists each edge
    once, sorted by its first voxel, so keeping the edges of equal level is a CSR graph.
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    n = plan.n
    if plan.zone_cols:
        same = same[:, : plan.zone_cols]
    else:  # distance 1 is not among the GLCM distances: its neighbours were not gathered
        same = np.append(q, 0).take(plan.zone_nb) == q[:, None]
    b = plan.zone_nb[same]
    indptr = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(np.count_nonzero(same, axis=1), out=indptr[1:])
    graph = csr_matrix((np.ones(len(b), dtype=np.int8), b, indptr), shape=(n, n))
    _, labels = connected_components(graph, directed=True, connection="weak")
    sizes = np.bincount(labels)
    gray = np.zeros(len(sizes), dtype=np.int64)
    gray[labels] = q
    return gray, sizes


def glszm_features(q: np.ndarray, same: np.ndarray, plan: RoiPlan, wanted: set[str], device: Any) -> dict[str, Any]:
    """Features of the size-zone matrix of the ROI gray levels ``q`` (N,)."""
    gray, sizes = zones(q, same, plan)
    return zone_features(gray, sizes, wanted, device)
