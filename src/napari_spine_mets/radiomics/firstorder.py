"""First-order (histogram) features, pyradiomics names and definitions.

Percentiles use linear interpolation (numpy's default, as pyradiomics); Variance is the
population variance; Kurtosis is pyradiomics' (not excess) unless ``ibsi_excess_kurtosis``.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from .settings import RadiomicsSettings

__all__ = ["FEATURES", "firstorder_features"]

logger = logging.getLogger(__name__)

FEATURES = (
    "10Percentile", "90Percentile", "Energy", "Entropy", "InterquartileRange", "Kurtosis", "Maximum",
    "MeanAbsoluteDeviation", "Mean", "Median", "Minimum", "Range", "RobustMeanAbsoluteDeviation",
    "RootMeanSquared", "Skewness", "TotalEnergy", "Uniformity", "Variance",
)
EPS = float(np.spacing(1))


def firstorder_features(values: Any, levels: Any, spacing: tuple[float, float, float], settings: RadiomicsSettings, wanted: set[str]) -> dict[str, Any]:
    """Features of the ROI intensities ``values`` (float64 tensor) and their gray levels ``levels``."""
    import torch

    x = values
    n = x.numel()
    out: dict[str, Any] = {}
    mean = x.mean()
    dev = x - mean
    m2 = (dev**2).mean()
    shifted = x + settings.voxel_array_shift
    energy = (shifted**2).sum()
    q = torch.quantile(x, torch.tensor([0.10, 0.25, 0.50, 0.75, 0.90], dtype=x.dtype, device=x.device))
    counts = torch.bincount(levels)
    p = counts[counts > 0].to(x.dtype) / n
    if "Energy" in wanted:
        out["Energy"] = energy
    if "TotalEnergy" in wanted:
        out["TotalEnergy"] = energy * (spacing[0] * spacing[1] * spacing[2])
    if "Entropy" in wanted:
        out["Entropy"] = -(p * torch.log2(p + EPS)).sum()
    if "Uniformity" in wanted:
        out["Uniformity"] = (p**2).sum()
    if "Minimum" in wanted:
        out["Minimum"] = x.min()
    if "Maximum" in wanted:
        out["Maximum"] = x.max()
    if "Range" in wanted:
        out["Range"] = x.max() - x.min()
    if "10Percentile" in wanted:
        out["10Percentile"] = q[0]
    if "90Percentile" in wanted:
        out["90Percentile"] = q[4]
    if "InterquartileRange" in wanted:
        out["InterquartileRange"] = q[3] - q[1]
    if "Median" in wanted:
        out["Median"] = q[2]
    if "Mean" in wanted:
        out["Mean"] = mean
    if "MeanAbsoluteDeviation" in wanted:
        out["MeanAbsoluteDeviation"] = dev.abs().mean()
    if "RobustMeanAbsoluteDeviation" in wanted:
        inner = x[(x >= q[0]) & (x <= q[4])]
        out["RobustMeanAbsoluteDeviation"] = (inner - inner.mean()).abs().mean()
    if "RootMeanSquared" in wanted:
        out["RootMeanSquared"] = torch.sqrt(energy / n)
    if "Variance" in wanted:
        out["Variance"] = m2
    if "Skewness" in wanted or "Kurtosis" in wanted:
        # pyradiomics: a constant ROI (m2 == 0) gives 0 for both, never NaN.
        flat = bool(m2 == 0)
        denom = torch.where(m2 == 0, torch.ones_like(m2), m2)
        if "Skewness" in wanted:
            out["Skewness"] = torch.zeros_like(m2) if flat else (dev**3).mean() / denom**1.5
        if "Kurtosis" in wanted:
            kurt = torch.zeros_like(m2) if flat else (dev**4).mean() / denom**2
            out["Kurtosis"] = kurt - 3.0 if settings.ibsi_excess_kurtosis and not flat else kurt
    return out
