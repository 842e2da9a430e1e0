"""Gray Level Co-occurrence Matrix features (pyradiomics ``glcm``), one matrix per direction.

pyradiomics conventions kept: matrices over the 13 directions, symmetric by default,
gray levels absent from the ROI removed (so i, j are the actual bin numbers), empty
directions removed, features averaged over directions (``weighting_norm`` None), and
MCC from the second-largest eigenvalue of Q.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from .settings import RadiomicsSettings
from .texture import directions, neighbour_pairs

__all__ = ["FEATURES", "glcm_matrix", "glcm_features"]

logger = logging.getLogger(__name__)

FEATURES = (
    "Autocorrelation", "ClusterProminence", "ClusterShade", "ClusterTendency", "Contrast", "Correlation",
    "DifferenceAverage", "DifferenceEntropy", "DifferenceVariance", "Id", "Idm", "Idmn", "Idn", "Imc1", "Imc2",
    "InverseVariance", "JointAverage", "JointEnergy", "JointEntropy", "MCC", "MaximumProbability", "SumAverage",
    "SumEntropy", "SumSquares",
)
EPS = float(np.spacing(1))


def glcm_matrix(q: Any, ng: int, settings: RadiomicsSettings, spacing: tuple[float, float, float]) -> Any:
    """Normalised GLCM, shape (angles, Ng', Ng') over the gray levels present in the ROI."""
    import torch

    steps = directions(tuple(q.shape), settings.distances)
    mats = []
    for step in steps:
        a, b = neighbour_pairs(q, step)
        ok = (a > 0) & (b > 0)
        idx = (a[ok] - 1) * ng + (b[ok] - 1)
        mats.append(torch.bincount(idx, minlength=ng * ng).reshape(ng, ng))
    p = torch.stack(mats).to(torch.float64)
    present = torch.bincount(q[q > 0], minlength=ng + 1)[1:] > 0
    p = p[:, present][:, :, present]
    if settings.symmetrical_glcm:
        p = p + p.transpose(1, 2)
    if settings.weighting_norm is not None:
        w = torch.tensor([_weight(s, spacing, settings.weighting_norm) for s in steps], dtype=p.dtype, device=p.device)
        p = (p * w[:, None, None]).sum(0, keepdim=True)
    sums = p.sum((1, 2))
    if p.shape[0] > 1:
        keep = sums > 0
        p, sums = p[keep], sums[keep]
    sums = torch.where(sums == 0, torch.full_like(sums, float("nan")), sums)
    return p / sums[:, None, None]


def _weight(step: tuple[int, int, int], spacing: tuple[float, float, float], norm: str) -> float:
    d = np.abs(np.array(step)) * np.array(spacing)
    if norm == "infinity":
        return float(np.exp(-max(d) ** 2))
    if norm == "euclidean":
        return float(np.exp(-np.sum(d**2)))
    if norm == "manhattan":
        return float(np.exp(-np.sum(d) ** 2))
    return 1.0


def glcm_features(p: Any, levels: Any, ng: int, settings: RadiomicsSettings, wanted: set[str]) -> dict[str, Any]:
    """Features from the normalised matrix ``p`` (A, n, n) and the present gray levels ``levels`` (n,)."""
    import torch

    dt, dev = p.dtype, p.device
    g = levels.to(dt)
    i = g[None, :, None]
    j = g[None, None, :]
    n_a = p.shape[0]
    px = p.sum(2)  # (A, n)
    py = p.sum(1)
    ux = (px * g).sum(1)  # (A,)
    uy = (py * g).sum(1)
    # p_{x+y}(k), k = 2..2Ng and p_{x-y}(k), k = 0..Ng-1 over actual gray values
    isum = (g[:, None] + g[None, :]).to(torch.int64) - 2
    idif = (g[:, None] - g[None, :]).abs().to(torch.int64)
    pxy_add = torch.zeros(n_a, 2 * ng - 1, dtype=dt, device=dev).index_add_(1, isum.reshape(-1), p.reshape(n_a, -1))
    pxy_sub = torch.zeros(n_a, ng, dtype=dt, device=dev).index_add_(1, idif.reshape(-1), p.reshape(n_a, -1))
    k_add = torch.arange(2, 2 * ng + 1, dtype=dt, device=dev)
    k_sub = torch.arange(0, ng, dtype=dt, device=dev)
    hxy = -(p * torch.log2(p + EPS)).sum((1, 2))
    uxc = ux[:, None, None]
    uyc = uy[:, None, None]
    out: dict[str, Any] = {}

    def mean(v: Any) -> Any:
        return torch.nanmean(v, 0)

    if "Autocorrelation" in wanted:
        out["Autocorrelation"] = mean((p * i * j).sum((1, 2)))
    if "JointAverage" in wanted:
        out["JointAverage"] = ux.mean()
    for name, power in (("ClusterProminence", 4), ("ClusterShade", 3), ("ClusterTendency", 2)):
        if name in wanted:
            out[name] = mean((p * (i + j - uxc - uyc) ** power).sum((1, 2)))
    if "Contrast" in wanted:
        out["Contrast"] = mean((p * (i - j) ** 2).sum((1, 2)))
    if "Correlation" in wanted:
        sigx = (p * (i - uxc) ** 2).sum((1, 2)) ** 0.5
        sigy = (p * (j - uyc) ** 2).sum((1, 2)) ** 0.5
        corm = (p * (i - uxc) * (j - uyc)).sum((1, 2))
        corr = corm / (sigx * sigy + EPS)
        corr = torch.where(sigx * sigy == 0, torch.ones_like(corr), corr)
        out["Correlation"] = mean(corr)
    diffavg = (k_sub * pxy_sub).sum(1)
    if "DifferenceAverage" in wanted:
        out["DifferenceAverage"] = mean(diffavg)
    if "DifferenceEntropy" in wanted:
        out["DifferenceEntropy"] = mean(-(pxy_sub * torch.log2(pxy_sub + EPS)).sum(1))
    if "DifferenceVariance" in wanted:
        out["DifferenceVariance"] = mean((pxy_sub * (k_sub - diffavg[:, None]) ** 2).sum(1))
    if "JointEnergy" in wanted:
        out["JointEnergy"] = mean((p**2).sum((1, 2)))
    if "JointEntropy" in wanted:
        out["JointEntropy"] = mean(hxy)
    if "Imc1" in wanted:
        hx = -(px * torch.log2(px + EPS)).sum(1)
        hy = -(py * torch.log2(py + EPS)).sum(1)
        hxy1 = -(p * torch.log2(px[:, :, None] * py[:, None, :] + EPS)).sum((1, 2))
        div = torch.fmax(hx, hy)
        imc1 = torch.where(div != 0, (hxy - hxy1) / torch.where(div != 0, div, torch.ones_like(div)), torch.zeros_like(div))
        out["Imc1"] = mean(imc1)
    if "Imc2" in wanted:
        pxpy = px[:, :, None] * py[:, None, :]
        hxy2 = -(pxpy * torch.log2(pxpy + EPS)).sum((1, 2))
        imc2 = (1 - torch.exp(-2 * (hxy2 - hxy))) ** 0.5
        imc2 = torch.where(hxy2 == hxy, torch.zeros_like(imc2), imc2)
        out["Imc2"] = mean(imc2)
    if "Idm" in wanted:
        out["Idm"] = mean((pxy_sub / (1 + k_sub**2)).sum(1))
    if "Idmn" in wanted:
        out["Idmn"] = mean((pxy_sub / (1 + k_sub**2 / ng**2)).sum(1))
    if "Id" in wanted:
        out["Id"] = mean((pxy_sub / (1 + k_sub)).sum(1))
    if "Idn" in wanted:
        out["Idn"] = mean((pxy_sub / (1 + k_sub / ng)).sum(1))
    if "InverseVariance" in wanted:
        out["InverseVariance"] = mean((pxy_sub[:, 1:] / k_sub[1:] ** 2).sum(1))
    if "MaximumProbability" in wanted:
        out["MaximumProbability"] = mean(p.amax((1, 2)))
    if "SumAverage" in wanted:
        out["SumAverage"] = mean((k_add * pxy_add).sum(1))
    if "SumEntropy" in wanted:
        out["SumEntropy"] = mean(-(pxy_add * torch.log2(pxy_add + EPS)).sum(1))
    if "SumSquares" in wanted:
        out["SumSquares"] = mean((p * (i - uxc) ** 2).sum((1, 2)))
    if "MCC" in wanted:
        out["MCC"] = torch.tensor(_mcc(p, px, py), dtype=dt, device=dev)
    return out


def _mcc(p: Any, px: Any, py: Any) -> float:
    """Maximal correlation coefficient: sqrt of Q's second-largest eigenvalue, as pyradiomics.

    Eigenvalues come from torch (so LAPACK runs on torch's threads); they are sorted
    with numpy's complex ordering (real part, then imaginary) to pick the same one.
    """
    import torch

    if p.shape[1] < 2:
        return 1.0  # pyradiomics: a single gray level gives MCC = 1
    # Q_ij = sum_k p_ik p_jk / (px_i py_k + eps)
    q = torch.einsum("aik,ajk->aij", p / (px[:, :, None] * py[:, None, :] + EPS), p)
    eig = torch.linalg.eigvals(q.cpu()).numpy()
    eig.sort()
    vals = np.sqrt(eig[:, -2])
    return float(np.nanmean(vals).real)
