"""Neighbouring Gray Tone Difference Matrix features (pyradiomics ``ngtdm``).

A voxel counts only if at least one of its neighbours (26 at each distance) lies in the
ROI; s_i sums |i - mean of those neighbours| over the voxels of gray level i.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from .settings import RadiomicsSettings

__all__ = ["FEATURES", "ngtdm_features"]

logger = logging.getLogger(__name__)

FEATURES = ("Busyness", "Coarseness", "Complexity", "Contrast", "Strength")


def ngtdm_features(gray: np.ndarray, nb: np.ndarray, count: np.ndarray, settings: RadiomicsSettings, wanted: set[str], device: Any) -> dict[str, Any]:
    """From each ROI voxel's gray level (N,), its neighbours' (N, K, 0 = outside) and how many are inside (N,)."""
    import torch

    ok = count > 0
    total = nb.sum(1)  # outside-ROI neighbours are 0
    diff = np.abs(gray[ok] - total[ok] / count[ok])
    present = np.bincount(gray[ok]) > 0
    gi = (np.cumsum(present) - 1).take(gray[ok])
    gv = torch.as_tensor(np.flatnonzero(present), device=device)
    n_i = torch.as_tensor(np.bincount(gi), device=device).to(torch.float64)
    s_i = torch.as_tensor(np.bincount(gi, weights=diff), device=device)
    i = gv.to(torch.float64)
    nvp = n_i.sum()
    p = n_i / nvp
    ngp = float((n_i > 0).sum())
    di = i[:, None] - i[None, :]
    out: dict[str, Any] = {}
    zero = torch.zeros((), dtype=torch.float64, device=device)
    if "Coarseness" in wanted:
        sc = (p * s_i).sum()
        out["Coarseness"] = 1.0 / sc if sc != 0 else zero + 1e6  # pyradiomics' value for a flat ROI
    if "Contrast" in wanted:
        div = ngp * (ngp - 1)
        c = (p[:, None] * p[None, :] * di**2).sum() * s_i.sum() / nvp
        out["Contrast"] = c / div if div != 0 else zero
    if "Busyness" in wanted:
        absdiff = (i * p)[:, None] - (i * p)[None, :]
        absdiff = absdiff.abs().sum()
        out["Busyness"] = (p * s_i).sum() / absdiff if absdiff != 0 else zero
    if "Complexity" in wanted:
        num = (p * s_i)[:, None] + (p * s_i)[None, :]
        den = p[:, None] + p[None, :]
        out["Complexity"] = (di.abs() * num / den).sum() / nvp
    if "Strength" in wanted:
        ssum = s_i.sum()
        st = ((p[:, None] + p[None, :]) * di**2).sum()
        out["Strength"] = st / ssum if ssum != 0 else zero
    return out
