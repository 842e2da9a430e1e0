"""Gray Level Run Length Matrix features (pyradiomics ``glrlm``), one matrix per direction.

Runs are found without loops over voxels: the ROI plan (``plan.py``) lists, once per ROI,
the voxels of every line of every direction in order and where a line starts or skips a
voxel outside the ROI; an image type then only compares consecutive gray levels along
that list, for all 13 directions in one pass. Matrices are dense over the gray levels and
run lengths present (absent ones add nothing to any feature, as in pyradiomics).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from .settings import RadiomicsSettings
from .plan import RoiPlan
from .texture import directions

__all__ = ["FEATURES", "run_matrix", "glrlm_features"]

logger = logging.getLogger(__name__)

FEATURES = (
    "GrayLevelNonUniformity", "GrayLevelNonUniformityNormalized", "GrayLevelVariance", "HighGrayLevelRunEmphasis",
    "LongRunEmphasis", "LongRunHighGrayLevelEmphasis", "LongRunLowGrayLevelEmphasis", "LowGrayLevelRunEmphasis",
    "RunEntropy", "RunLengthNonUniformity", "RunLengthNonUniformityNormalized", "RunPercentage", "RunVariance",
    "ShortRunEmphasis", "ShortRunHighGrayLevelEmphasis", "ShortRunLowGrayLevelEmphasis",
)
EPS = float(np.spacing(1))


def run_matrix(q: np.ndarray, plan: RoiPlan) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run counts (A, G, R) over the gray levels and run lengths present, with their values.

    ``plan.run_order`` lists the ROI voxels line by line for each direction; a run breaks
    where the plan says a line starts (or skips a voxel outside the ROI) or the level
    changes. Each run is counted at its first voxel, all 13 directions in one ``bincount``.
    """
    present = np.bincount(q) > 0
    gv = np.flatnonzero(present)
    lq = (np.cumsum(present, dtype=np.int32) - 1).take(q)  # index among the levels present
    g = lq.take(plan.run_order)
    brk = plan.run_first.copy()
    np.not_equal(g[1:], g[:-1], out=brk[1:], where=~brk[1:])
    starts = np.flatnonzero(brk)
    lengths = np.diff(starts, append=len(g))
    ng, nr = len(gv), int(lengths.max()) + 1
    code = (plan.run_angle.take(starts) * ng + g.take(starts)) * nr + lengths  # int64, as run_angle
    p = np.bincount(code, minlength=plan.run_angles * ng * nr).reshape(plan.run_angles, ng, nr)
    rv = np.flatnonzero(p.any((0, 1)))
    return p[:, :, rv], gv, rv


def glrlm_features(q: np.ndarray, plan: RoiPlan, settings: RadiomicsSettings, spacing: tuple[float, float, float], wanted: set[str], device: Any) -> dict[str, Any]:
    """Features of the run-length matrices of the ROI gray levels ``q`` (N,) laid out by ``plan``."""
    import torch

    counts, gv, rv = run_matrix(q, plan)
    p = torch.as_tensor(counts, device=device).to(torch.float64)
    iv = torch.as_tensor(gv, device=device).to(torch.float64)
    jv = torch.as_tensor(rv, device=device).to(torch.float64)
    if settings.weighting_norm is not None:
        steps = directions(plan.shape, [1])
        w = torch.tensor([_weight(s, spacing, settings.weighting_norm) for s in steps], dtype=p.dtype, device=p.device)
        p = (p * w[:, None, None]).sum(0, keepdim=True)
    nr = p.sum((1, 2))
    if p.shape[0] > 1:
        keep = nr > 0
        p, nr = p[keep], nr[keep]
    pg = p.sum(2)  # (A, G)
    pr = p.sum(1)  # (A, R)
    i = iv[None, :]
    j = jv[None, :]
    out: dict[str, Any] = {}

    def mean(v: Any) -> Any:
        return torch.nanmean(v, 0)

    if "ShortRunEmphasis" in wanted:
        out["ShortRunEmphasis"] = mean((pr / j**2).sum(1) / nr)
    if "LongRunEmphasis" in wanted:
        out["LongRunEmphasis"] = mean((pr * j**2).sum(1) / nr)
    if "GrayLevelNonUniformity" in wanted:
        out["GrayLevelNonUniformity"] = mean((pg**2).sum(1) / nr)
    if "GrayLevelNonUniformityNormalized" in wanted:
        out["GrayLevelNonUniformityNormalized"] = mean((pg**2).sum(1) / nr**2)
    if "RunLengthNonUniformity" in wanted:
        out["RunLengthNonUniformity"] = mean((pr**2).sum(1) / nr)
    if "RunLengthNonUniformityNormalized" in wanted:
        out["RunLengthNonUniformityNormalized"] = mean((pr**2).sum(1) / nr**2)
    if "RunPercentage" in wanted:
        out["RunPercentage"] = mean(nr / (pr * j).sum(1))
    if "GrayLevelVariance" in wanted:
        pgn = pg / nr[:, None]
        u = (pgn * i).sum(1, keepdim=True)
        out["GrayLevelVariance"] = mean((pgn * (i - u) ** 2).sum(1))
    if "RunVariance" in wanted:
        prn = pr / nr[:, None]
        u = (prn * j).sum(1, keepdim=True)
        out["RunVariance"] = mean((prn * (j - u) ** 2).sum(1))
    if "RunEntropy" in wanted:
        pn = p / nr[:, None, None]
        out["RunEntropy"] = mean(-(pn * torch.log2(pn + EPS)).sum((1, 2)))
    if "LowGrayLevelRunEmphasis" in wanted:
        out["LowGrayLevelRunEmphasis"] = mean((pg / i**2).sum(1) / nr)
    if "HighGrayLevelRunEmphasis" in wanted:
        out["HighGrayLevelRunEmphasis"] = mean((pg * i**2).sum(1) / nr)
    ii = iv[None, :, None]
    jj = jv[None, None, :]
    if "ShortRunLowGrayLevelEmphasis" in wanted:
        out["ShortRunLowGrayLevelEmphasis"] = mean((p / (ii**2 * jj**2)).sum((1, 2)) / nr)
    if "ShortRunHighGrayLevelEmphasis" in wanted:
        out["ShortRunHighGrayLevelEmphasis"] = mean((p * ii**2 / jj**2).sum((1, 2)) / nr)
    if "LongRunLowGrayLevelEmphasis" in wanted:
        out["LongRunLowGrayLevelEmphasis"] = mean((p * jj**2 / ii**2).sum((1, 2)) / nr)
    if "LongRunHighGrayLevelEmphasis" in wanted:
        out["LongRunHighGrayLevelEmphasis"] = mean((p * jj**2 * ii**2).sum((1, 2)) / nr)
    return out


def _weight(step: tuple[int, int, int], spacing: tuple[float, float, float], norm: str) -> float:
    d = np.abs(np.array(step)) * np.array(spacing)
    if norm == "infinity":
        return float(max(d))
    if norm == "euclidean":
        return float(np.sqrt(np.sum(d**2)))
    if norm == "manhattan":
        return float(np.sum(d))
    return 1.0
