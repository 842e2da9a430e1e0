"""Features of a (gray level, size) count matrix: the formulas GLSZM and GLDM share.

The matrix is counted (numpy ``bincount``) from one (gray, size) pair per zone (or per
voxel for GLDM) over the levels and sizes present; entries that are zero add nothing to
any sum, which is why pyradiomics' removal of empty gray levels and sizes changes no value.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["zone_features", "zone_matrix"]

EPS = float(np.spacing(1))


def zone_matrix(gray: np.ndarray, size: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dense counts over present gray levels x present sizes, with the level and size values (numpy)."""
    g_present = np.bincount(gray) > 0
    s_present = np.bincount(size) > 0
    gv = np.flatnonzero(g_present)
    sv = np.flatnonzero(s_present)
    gi = (np.cumsum(g_present) - 1).take(gray)
    si = (np.cumsum(s_present) - 1).take(size)
    p = np.bincount(gi * len(sv) + si, minlength=len(gv) * len(sv)).reshape(len(gv), len(sv))
    return p, gv, sv


def zone_features(gray: np.ndarray, size: np.ndarray, wanted: set[str], device: Any) -> dict[str, Any]:
    """GLSZM-named features of the zones given by their gray levels and sizes (float64 on ``device``)."""
    import torch

    counts, gv, sv = zone_matrix(gray, size)
    p = torch.as_tensor(counts, device=device).to(torch.float64)
    iv = torch.as_tensor(gv, device=device).to(torch.float64)
    jv = torch.as_tensor(sv, device=device).to(torch.float64)
    nz = p.sum()
    np_ = (p.sum(0) * jv).sum()
    ps = p.sum(0)
    pg = p.sum(1)
    i = iv[:, None]
    j = jv[None, :]
    out: dict[str, Any] = {}
    if "SmallAreaEmphasis" in wanted:
        out["SmallAreaEmphasis"] = (ps / jv**2).sum() / nz
    if "LargeAreaEmphasis" in wanted:
        out["LargeAreaEmphasis"] = (ps * jv**2).sum() / nz
    if "GrayLevelNonUniformity" in wanted:
        out["GrayLevelNonUniformity"] = (pg**2).sum() / nz
    if "GrayLevelNonUniformityNormalized" in wanted:
        out["GrayLevelNonUniformityNormalized"] = (pg**2).sum() / nz**2
    if "SizeZoneNonUniformity" in wanted:
        out["SizeZoneNonUniformity"] = (ps**2).sum() / nz
    if "SizeZoneNonUniformityNormalized" in wanted:
        out["SizeZoneNonUniformityNormalized"] = (ps**2).sum() / nz**2
    if "ZonePercentage" in wanted:
        out["ZonePercentage"] = nz / np_
    if "GrayLevelVariance" in wanted:
        pgn = pg / nz
        u = (pgn * iv).sum()
        out["GrayLevelVariance"] = (pgn * (iv - u) ** 2).sum()
    if "ZoneVariance" in wanted:
        psn = ps / nz
        u = (psn * jv).sum()
        out["ZoneVariance"] = (psn * (jv - u) ** 2).sum()
    if "ZoneEntropy" in wanted:
        pn = p / nz
        out["ZoneEntropy"] = -(pn * (pn + EPS).log2()).sum()
    if "LowGrayLevelZoneEmphasis" in wanted:
        out["LowGrayLevelZoneEmphasis"] = (pg / iv**2).sum() / nz
    if "HighGrayLevelZoneEmphasis" in wanted:
        out["HighGrayLevelZoneEmphasis"] = (pg * iv**2).sum() / nz
    if "SmallAreaLowGrayLevelEmphasis" in wanted:
        out["SmallAreaLowGrayLevelEmphasis"] = (p / (i**2 * j**2)).sum() / nz
    if "SmallAreaHighGrayLevelEmphasis" in wanted:
        out["SmallAreaHighGrayLevelEmphasis"] = (p * i**2 / j**2).sum() / nz
    if "LargeAreaLowGrayLevelEmphasis" in wanted:
        out["LargeAreaLowGrayLevelEmphasis"] = (p * j**2 / i**2).sum() / nz
    if "LargeAreaHighGrayLevelEmphasis" in wanted:
        out["LargeAreaHighGrayLevelEmphasis"] = (p * i**2 * j**2).sum() / nz
    return out
