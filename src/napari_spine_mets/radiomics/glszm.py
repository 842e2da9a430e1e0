"""Gray Level Size Zone Matrix features (pyradiomics ``glszm``, 26-connected zones).

Zones are the connected components of the graph whose edges join 26-neighbours of the
same gray level inside the ROI: one ``scipy.sparse.csgraph.connected_components`` call
for all gray levels at once (CPU; the edge list is built in torch on any device).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from .settings import RadiomicsSettings
from .texture import directions, neighbour_pairs
from .zones import zone_features

__all__ = ["FEATURES", "zones", "glszm_features"]

logger = logging.getLogger(__name__)

FEATURES = (
    "GrayLevelNonUniformity", "GrayLevelNonUniformityNormalized", "GrayLevelVariance", "HighGrayLevelZoneEmphasis",
    "LargeAreaEmphasis", "LargeAreaHighGrayLevelEmphasis", "LargeAreaLowGrayLevelEmphasis", "LowGrayLevelZoneEmphasis",
    "SizeZoneNonUniformity", "SizeZoneNonUniformityNormalized", "SmallAreaEmphasis", "SmallAreaHighGrayLevelEmphasis",
    "SmallAreaLowGrayLevelEmphasis", "ZoneEntropy", "ZonePercentage", "ZoneVariance",
)


def zones(q: Any) -> tuple[Any, Any]:
    """(gray level, size) of every 26-connected same-gray-level zone of the ROI."""
    import torch
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    idx = torch.full(q.shape, -1, dtype=torch.int64, device=q.device)
    roi = q > 0
    n = int(roi.sum())
    idx[roi] = torch.arange(n, device=q.device)
    src, dst = [], []
    for step in directions(tuple(q.shape), [1]):
        a, b = neighbour_pairs(q, step)
        ia, ib = neighbour_pairs(idx, step)
        ok = (a > 0) & (a == b)
        src.append(ia[ok])
        dst.append(ib[ok])
    s = torch.cat(src).cpu().numpy()
    d = torch.cat(dst).cpu().numpy()
    graph = coo_matrix((np.ones(len(s), dtype=np.int8), (s, d)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    lab = torch.as_tensor(labels, device=q.device, dtype=torch.int64)
    sizes = torch.bincount(lab)
    gray = torch.zeros(len(sizes), dtype=torch.int64, device=q.device)
    gray[lab] = q[roi]
    return gray, sizes


def glszm_features(q: Any, settings: RadiomicsSettings, wanted: set[str]) -> dict[str, Any]:
    gray, sizes = zones(q)
    return zone_features(gray, sizes, wanted)
