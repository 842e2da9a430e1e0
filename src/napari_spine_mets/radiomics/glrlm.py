"""Gray Level Run Length Matrix features (pyradiomics ``glrlm``), one matrix per direction.

Runs are found without loops over voxels: for each direction every ROI voxel gets a line
key (its position moved back to the line's start) and a position along the line; sorting
by (line, position) puts each line's voxels in order, and a run breaks where the line,
the position step or the gray level changes. Matrices are kept sparse as
(direction, gray level, run length, count) since zero entries add nothing to any feature.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from .settings import RadiomicsSettings
from .texture import directions

__all__ = ["FEATURES", "run_table", "glrlm_features"]

logger = logging.getLogger(__name__)

FEATURES = (
    "GrayLevelNonUniformity", "GrayLevelNonUniformityNormalized", "GrayLevelVariance", "HighGrayLevelRunEmphasis",
    "LongRunEmphasis", "LongRunHighGrayLevelEmphasis", "LongRunLowGrayLevelEmphasis", "LowGrayLevelRunEmphasis",
    "RunEntropy", "RunLengthNonUniformity", "RunLengthNonUniformityNormalized", "RunPercentage", "RunVariance",
    "ShortRunEmphasis", "ShortRunHighGrayLevelEmphasis", "ShortRunLowGrayLevelEmphasis",
)
EPS = float(np.spacing(1))


def _runs_one_direction(coords: Any, gl: Any, step: tuple[int, int, int], shape: tuple[int, int, int]) -> tuple[Any, Any]:
    """(gray level, length) of every run along ``step`` among the ROI voxels ``coords`` (N, 3)."""
    import torch

    s = torch.tensor(step, device=coords.device)
    axis = int(np.flatnonzero(np.array(step))[0])
    t = coords[:, axis] * s[axis]  # position along the line, increasing in the step's sense
    origin = coords - t[:, None] * s[None, :]  # the line's point at t = 0 (may be negative)
    span = max(shape) * 2 + 1
    off = max(shape)
    key = ((origin[:, 0] + off) * span + (origin[:, 1] + off)) * span + (origin[:, 2] + off)
    order = torch.argsort(key * (2 * span) + (t + span))
    key, t, g = key[order], t[order], gl[order]
    brk = torch.ones_like(key, dtype=torch.bool)
    brk[1:] = (key[1:] != key[:-1]) | (t[1:] != t[:-1] + 1) | (g[1:] != g[:-1])
    run_id = torch.cumsum(brk.to(torch.int64), 0) - 1
    lengths = torch.bincount(run_id)
    return g[brk], lengths


def run_table(q: Any, settings: RadiomicsSettings) -> tuple[Any, Any, Any, int]:
    """Sparse GLRLM: (angle index, gray level, run length) per run, and the number of angles."""
    import torch

    shape = tuple(q.shape)
    coords = torch.nonzero(q > 0)
    gl = q[q > 0]  # same (C) order as nonzero
    steps = directions(shape, [1])
    angles, grays, lens = [], [], []
    for a, step in enumerate(steps):
        g, ln = _runs_one_direction(coords, gl, step, shape)
        angles.append(torch.full_like(g, a))
        grays.append(g)
        lens.append(ln)
    return torch.cat(angles), torch.cat(grays), torch.cat(lens), len(steps)


def _matrix(angle: Any, gray: Any, length: Any, n_angles: int) -> tuple[Any, Any, Any]:
    """Dense (A, G, R) counts over present gray levels and present run lengths, with their values."""
    import torch

    gv, gi = torch.unique(gray, return_inverse=True)
    rv, ri = torch.unique(length, return_inverse=True)
    flat = (angle * len(gv) + gi) * len(rv) + ri
    p = torch.bincount(flat, minlength=n_angles * len(gv) * len(rv)).reshape(n_angles, len(gv), len(rv))
    return p.to(torch.float64), gv.to(torch.float64), rv.to(torch.float64)


def glrlm_features(q: Any, settings: RadiomicsSettings, spacing: tuple[float, float, float], wanted: set[str]) -> dict[str, Any]:
    import torch

    angle, gray, length, n_angles = run_table(q, settings)
    p, iv, jv = _matrix(angle, gray, length, n_angles)
    if settings.weighting_norm is not None:
        steps = directions(tuple(q.shape), [1])
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
