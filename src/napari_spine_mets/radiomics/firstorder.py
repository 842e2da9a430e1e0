"""First-order (histogram) features, pyradiomics names and definitions.

Percentiles use linear interpolation (numpy's default, as pyradiomics); Variance is the
population variance; Kurtosis is pyradiomics' (not excess) unless ``ibsi_excess_kurtosis``.
"""

from __future__ import annotations

import logging
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


def firstorder_features(values: np.ndarray, counts: np.ndarray, spacing: tuple[float, float, float], settings: RadiomicsSettings, wanted: set[str]) -> dict[str, float]:
    """Features of the ROI intensities ``values`` and their gray-level histogram ``counts``.

    numpy on the CPU, with pyradiomics' operations (mean, percentile): these are per-voxel
    reductions, which the reference computes with numpy too.
    """
    x = values.astype(np.float64)
    n = x.size
    out: dict[str, float] = {}
    mean = x.mean()
    dev = x - mean
    dev2 = dev * dev  # products, not numpy's power (which calls pow() for exponents other than 2)
    m2 = dev2.mean()
    shifted = x + settings.voxel_array_shift
    energy = (shifted * shifted).sum()
    q10, q25, q50, q75, q90 = np.percentile(x, [10, 25, 50, 75, 90])
    p = counts[counts > 0] / n
    if "Energy" in wanted:
        out["Energy"] = energy
    if "TotalEnergy" in wanted:
        out["TotalEnergy"] = energy * (spacing[0] * spacing[1] * spacing[2])
    if "Entropy" in wanted:
        out["Entropy"] = -(p * np.log2(p + EPS)).sum()
    if "Uniformity" in wanted:
        out["Uniformity"] = (p**2).sum()
    if "Minimum" in wanted:
        out["Minimum"] = x.min()
    if "Maximum" in wanted:
        out["Maximum"] = x.max()
    if "Range" in wanted:
        out["Range"] = x.max() - x.min()
    if "10Percentile" in wanted:
        out["10Percentile"] = q10
    if "90Percentile" in wanted:
        out["90Percentile"] = q90
    if "InterquartileRange" in wanted:
        out["InterquartileRange"] = q75 - q25
    if "Median" in wanted:
        out["Median"] = q50
    if "Mean" in wanted:
        out["Mean"] = mean
    if "MeanAbsoluteDeviation" in wanted:
        out["MeanAbsoluteDeviation"] = np.abs(dev).mean()
    if "RobustMeanAbsoluteDeviation" in wanted:
        inner = x[(x >= q10) & (x <= q90)]
        out["RobustMeanAbsoluteDeviation"] = np.abs(inner - inner.mean()).mean()
    if "RootMeanSquared" in wanted:
        out["RootMeanSquared"] = np.sqrt(energy / n)
    if "Variance" in wanted:
        out["Variance"] = m2
    if "Skewness" in wanted or "Kurtosis" in wanted:
        # pyradiomics: a constant ROI (m2 == 0) gives 0 for both, never NaN.
        flat = m2 == 0
        if "Skewness" in wanted:
            out["Skewness"] = 0.0 if flat else (dev2 * dev).mean() / m2**1.5
        if "Kurtosis" in wanted:
            kurt = 0.0 if flat else (dev2 * dev2).mean() / m2**2
            out["Kurtosis"] = kurt - 3.0 if settings.ibsi_excess_kurtosis and not flat else kurt
    return {k: float(v) for k, v in out.items()}
