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
from .plan import RoiPlan
from .texture import directions

__all__ = ["FEATURES", "glcm_matrix", "glcm_features"]

logger = logging.getLogger(__name__)

FEATURES = (
    "Autocorrelation", "ClusterProminence", "ClusterShade", "ClusterTendency", "Contrast", "Correlation",
    "DifferenceAverage", "DifferenceEntropy", "DifferenceVariance", "Id", "Idm", "Idmn", "Idn", "Imc1", "Imc2",
    "InverseVariance", "JointAverage", "JointEnergy", "JointEntropy", "MCC", "MaximumProbability", "SumAverage",
    "SumEntropy", "SumSquares",
)
EPS = float(np.spacing(1))


def glcm_matrix(q: np.ndarray, nbq: np.ndarray, plan: RoiPlan, settings: RadiomicsSettings, spacing: tuple[float, float, float], device: Any) -> tuple[Any, Any]:
    """Normalised GLCM (angles, Ng', Ng') over the gray levels present, and those levels (Ng',).

    ``q`` holds the gray level (1..Ng) of each ROI voxel and ``nbq`` its neighbours' (0 =
    outside; columns as ``plan.nb``): counting every (voxel, direction) pair is one
    ``bincount``, whose level-0 row and column (pairs leaving the ROI) are then dropped.
    The matrix goes to ``device`` as float64.
    """
    import torch

    n_a = plan.glcm_angles
    ng1 = int(q.max()) + 1
    code = (q.astype(np.int64) * ng1)[:, None] + nbq[:, :n_a] + (np.arange(n_a, dtype=np.int64) * ng1 * ng1)[None, :]
    counts = np.bincount(code.ravel(), minlength=n_a * ng1 * ng1).reshape(n_a, ng1, ng1)
    present = np.bincount(q, minlength=ng1) > 0
    present[0] = False
    levels = np.flatnonzero(present)
    counts = counts[:, levels][:, :, levels]
    p = torch.as_tensor(counts, device=device).to(torch.float64)
    if settings.symmetrical_glcm:
        p = p + p.transpose(1, 2)
    if settings.weighting_norm is not None:
        steps = directions(plan.shape, settings.distances)
        w = torch.tensor([_weight(s, spacing, settings.weighting_norm) for s in steps], dtype=p.dtype, device=p.device)
        p = (p * w[:, None, None]).sum(0, keepdim=True)
    sums = p.sum((1, 2))
    if p.shape[0] > 1:
        keep = sums > 0
        p, sums = p[keep], sums[keep]
    sums = torch.where(sums == 0, torch.full_like(sums, float("nan")), sums)
    return p / sums[:, None, None], torch.as_tensor(levels, device=device)


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
    """Features from the normalised matrix ``p`` (A, n, n) and the present gray levels ``levels`` (n,).

    Each feature is first a value per angle; all are averaged over the angles (ignoring
    NaN, as pyradiomics) in one ``nanmean`` at the end. Shared terms (marginals, the
    centred sums, log2 of p and of px*py) are computed once, powers as products.
    """
    import torch

    dt, dev = p.dtype, p.device
    g = levels.to(dt)
    n_a = p.shape[0]
    flat = p.reshape(n_a, -1)
    px = p.sum(2)  # (A, n)
    py = p.sum(1)
    ux = px @ g  # (A,)
    uy = py @ g
    # p_{x+y}(k), k = 2..2Ng and p_{x-y}(k), k = 0..Ng-1 over actual gray values
    isum = (g[:, None] + g[None, :]).to(torch.int64) - 2
    idif = (g[:, None] - g[None, :]).abs().to(torch.int64)
    pxy_add = torch.zeros(n_a, 2 * ng - 1, dtype=dt, device=dev).index_add_(1, isum.reshape(-1), flat)
    pxy_sub = torch.zeros(n_a, ng, dtype=dt, device=dev).index_add_(1, idif.reshape(-1), flat)
    k_add = torch.arange(2, 2 * ng + 1, dtype=dt, device=dev)
    k_sub = torch.arange(0, ng, dtype=dt, device=dev)
    di = g[None, :] - ux[:, None]  # (A, n): i - ux
    dj = g[None, :] - uy[:, None]
    hxy = -(flat * torch.log2(flat + EPS)).sum(1)
    per_angle: dict[str, Any] = {}

    def psum(weight: Any) -> Any:
        """sum_ij p(i, j) w(i, j) per angle, ``weight`` (n, n) or (A, n, n)."""
        return (p * weight).sum((1, 2))

    if "Autocorrelation" in wanted:
        per_angle["Autocorrelation"] = psum(g[:, None] * g[None, :])
    if wanted & {"ClusterProminence", "ClusterShade", "ClusterTendency"}:
        base = di[:, :, None] + dj[:, None, :]  # i + j - ux - uy
        b2 = base * base
        if "ClusterTendency" in wanted:
            per_angle["ClusterTendency"] = psum(b2)
        if "ClusterShade" in wanted:
            per_angle["ClusterShade"] = psum(b2 * base)
        if "ClusterProminence" in wanted:
            per_angle["ClusterProminence"] = psum(b2 * b2)
    if "Contrast" in wanted:
        d = g[:, None] - g[None, :]
        per_angle["Contrast"] = psum(d * d)
    sum_squares = (px * di * di).sum(1)
    if "Correlation" in wanted:
        sigx = sum_squares**0.5
        sigy = (py * dj * dj).sum(1) ** 0.5
        corm = (p * di[:, :, None] * dj[:, None, :]).sum((1, 2))
        corr = corm / (sigx * sigy + EPS)
        per_angle["Correlation"] = torch.where(sigx * sigy == 0, torch.ones_like(corr), corr)
    diffavg = pxy_sub @ k_sub
    if "DifferenceAverage" in wanted:
        per_angle["DifferenceAverage"] = diffavg
    if "DifferenceEntropy" in wanted:
        per_angle["DifferenceEntropy"] = -(pxy_sub * torch.log2(pxy_sub + EPS)).sum(1)
    if "DifferenceVariance" in wanted:
        dk = k_sub[None, :] - diffavg[:, None]
        per_angle["DifferenceVariance"] = (pxy_sub * dk * dk).sum(1)
    if "JointEnergy" in wanted:
        per_angle["JointEnergy"] = (flat * flat).sum(1)
    if "JointEntropy" in wanted:
        per_angle["JointEntropy"] = hxy
    if wanted & {"Imc1", "Imc2"}:
        pxpy = px[:, :, None] * py[:, None, :]
        log_pxpy = torch.log2(pxpy + EPS)
        if "Imc1" in wanted:
            hx = -(px * torch.log2(px + EPS)).sum(1)
            hy = -(py * torch.log2(py + EPS)).sum(1)
            hxy1 = -(p * log_pxpy).sum((1, 2))
            div = torch.fmax(hx, hy)
            per_angle["Imc1"] = torch.where(div != 0, (hxy - hxy1) / torch.where(div != 0, div, torch.ones_like(div)), torch.zeros_like(div))
        if "Imc2" in wanted:
            hxy2 = -(pxpy * log_pxpy).sum((1, 2))
            imc2 = (1 - torch.exp(-2 * (hxy2 - hxy))) ** 0.5
            per_angle["Imc2"] = torch.where(hxy2 == hxy, torch.zeros_like(imc2), imc2)
    k2 = k_sub * k_sub
    if "Idm" in wanted:
        per_angle["Idm"] = pxy_sub @ (1 / (1 + k2))
    if "Idmn" in wanted:
        per_angle["Idmn"] = pxy_sub @ (1 / (1 + k2 / ng**2))
    if "Id" in wanted:
        per_angle["Id"] = pxy_sub @ (1 / (1 + k_sub))
    if "Idn" in wanted:
        per_angle["Idn"] = pxy_sub @ (1 / (1 + k_sub / ng))
    if "InverseVariance" in wanted:
        per_angle["InverseVariance"] = pxy_sub[:, 1:] @ (1 / k2[1:])
    if "MaximumProbability" in wanted:
        per_angle["MaximumProbability"] = flat.amax(1)
    if "SumAverage" in wanted:
        per_angle["SumAverage"] = pxy_add @ k_add
    if "SumEntropy" in wanted:
        per_angle["SumEntropy"] = -(pxy_add * torch.log2(pxy_add + EPS)).sum(1)
    if "SumSquares" in wanted:
        per_angle["SumSquares"] = sum_squares
    out: dict[str, Any] = {}
    if per_angle:
        names = list(per_angle)
        means = torch.nanmean(torch.stack([per_angle[k] for k in names]), 1)
        out = dict(zip(names, means))
    if "JointAverage" in wanted:
        out["JointAverage"] = ux.mean()
    if "MCC" in wanted:
        out["MCC"] = torch.tensor(_mcc(p, px, py), dtype=dt, device=dev)
    return {k: out[k] for k in FEATURES if k in out}


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
