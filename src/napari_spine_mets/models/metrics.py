"""Validation metrics for binary risk models.

* AUC (Mann-Whitney, ties count one half) with DeLong's variance (DeLong, DeLong &
  Clarke-Pearson 1988) computed by the fast midrank algorithm of Sun & Xu (2014), a 95 %
  CI (normal approximation, clipped to [0, 1]) and DeLong's paired test of two AUCs on
  the same cases.
* Accuracy, sensitivity, specificity, PPV and NPV at a stated threshold (positive when
  ``p >= threshold``) with Wilson 95 % intervals.
* Hosmer-Lemeshow goodness of fit: groups cut at the quantiles of the predicted risk
  (R's ``cut(p, quantile(p, 0:g/g), include.lowest = TRUE)``, so tied risks stay in one
  group); statistic ``sum (O - E)^2 / (E (1 - E / n_g))`` on ``groups - 2`` degrees of
  freedom; plus the calibration intercept and slope (logistic recalibration).
* Decision-curve analysis (Vickers & Elkin 2006): net benefit
  ``TP/n - FP/n * pt / (1 - pt)`` for the model, treat-all and treat-none.
* Clinical impact curve (Kerr et al.): per 1,000 people, how many the model calls high
  risk at each threshold and how many of those have the event.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from .errors import ModelInputError

__all__ = [
    "auc",
    "midrank",
    "delong",
    "auc_ci",
    "delong_test",
    "confusion_at",
    "wilson_ci",
    "hosmer_lemeshow",
    "calibration_slope",
    "net_benefit",
    "decision_curve",
    "clinical_impact",
    "roc_points",
    "youden_threshold",
]


def _check(y: Any, score: Any) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y).astype(float).ravel()
    score = np.asarray(score, dtype=float)
    if score.shape[-1] != y.size:
        raise ModelInputError(None, f"{y.size} outcomes but {score.shape[-1]} predictions")
    if not np.all(np.isin(y, (0.0, 1.0))):
        raise ModelInputError(None, "outcomes must be 0 or 1")
    if y.sum() == 0 or y.sum() == y.size:
        raise ModelInputError(None, "the outcome has a single class: AUC and its variance are undefined")
    if not np.all(np.isfinite(score)):
        raise ModelInputError(None, "predictions contain NaN or infinite values")
    return y.astype(int), score


def midrank(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n with ties given their average rank."""
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    n = x.size
    ranks_sorted = np.empty(n)
    i = 0
    while i < n:
        j = i
        while j < n and xs[j] == xs[i]:
            j += 1
        ranks_sorted[i:j] = 0.5 * (i + j - 1) + 1
        i = j
    out = np.empty(n)
    out[order] = ranks_sorted
    return out


def auc(y: Any, score: Any) -> float:
    """Area under the ROC curve (probability a random positive scores above a random negative)."""
    y, score = _check(y, score)
    m = int(y.sum())
    ranks = midrank(score)
    return float((ranks[y == 1].sum() - m * (m + 1) / 2) / (m * (y.size - m)))


def delong(y: Any, scores: Any) -> tuple[np.ndarray, np.ndarray]:
    """(AUCs, covariance matrix) of one or several scores of the same cases (Sun & Xu 2014)."""
    y, scores = _check(y, scores)
    scores = np.atleast_2d(scores)
    pos, neg = scores[:, y == 1], scores[:, y == 0]
    m, n = pos.shape[1], neg.shape[1]
    k = scores.shape[0]
    tx = np.array([midrank(pos[r]) for r in range(k)])
    ty = np.array([midrank(neg[r]) for r in range(k)])
    tz = np.array([midrank(np.concatenate([pos[r], neg[r]])) for r in range(k)])
    aucs = tz[:, :m].sum(axis=1) / (m * n) - (m + 1.0) / (2.0 * n)
    v01 = (tz[:, :m] - tx) / n  # structural components of the positives
    v10 = 1.0 - (tz[:, m:] - ty) / m  # ... and of the negatives
    s01 = np.atleast_2d(np.cov(v01))
    s10 = np.atleast_2d(np.cov(v10))
    return aucs, s01 / m + s10 / n


def auc_ci(y: Any, score: Any, level: float = 0.95) -> dict[str, Any]:
    """AUC with DeLong SE and CI: {"auc", "se", "ci95", "method"}."""
    aucs, cov = delong(y, score)
    a, se = float(aucs[0]), float(np.sqrt(max(cov[0, 0], 0.0)))
    z = stats.norm.ppf(0.5 + level / 2)
    return {"auc": a, "se": se, "ci95": [float(max(0.0, a - z * se)), float(min(1.0, a + z * se))],
            "method": "DeLong variance (Sun & Xu 2014 algorithm), normal approximation, clipped to [0, 1]"}


def delong_test(y: Any, score_a: Any, score_b: Any) -> dict[str, Any]:
    """DeLong's test that two correlated AUCs (same cases) are equal: z and two-sided p."""
    aucs, cov = delong(y, np.vstack([score_a, score_b]))
    var = cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]
    diff = float(aucs[0] - aucs[1])
    if var <= 1e-15:
        z, p = (0.0, 1.0) if abs(diff) < 1e-12 else (float("inf"), 0.0)
    else:
        z = diff / np.sqrt(var)
        p = float(2 * stats.norm.sf(abs(z)))
    return {"auc_a": float(aucs[0]), "auc_b": float(aucs[1]), "difference": diff,
            "se_difference": float(np.sqrt(max(var, 0.0))), "z": float(z), "p": p}


def wilson_ci(k: int, n: int, level: float = 0.95) -> list[float] | None:
    if n == 0:
        return None
    z = stats.norm.ppf(0.5 + level / 2)
    phat = k / n
    centre = (phat + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(phat * (1 - phat) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [float(max(0.0, centre - half)), float(min(1.0, centre + half))]


def confusion_at(y: Any, prob: Any, threshold: float) -> dict[str, Any]:
    """Counts and accuracy/sensitivity/specificity/PPV/NPV at ``threshold`` (positive: p >= threshold).

    A rate whose denominator is zero is None (e.g. PPV when nothing is called positive).
    """
    y = np.asarray(y).astype(int).ravel()
    prob = np.asarray(prob, dtype=float).ravel()
    call = prob >= threshold
    tp = int(np.sum(call & (y == 1)))
    fp = int(np.sum(call & (y == 0)))
    tn = int(np.sum(~call & (y == 0)))
    fn = int(np.sum(~call & (y == 1)))
    out: dict[str, Any] = {"threshold": float(threshold), "rule": "positive when predicted probability >= threshold",
                           "tp": tp, "fp": fp, "tn": tn, "fn": fn, "n": int(y.size)}
    for name, k, n in (("accuracy", tp + tn, y.size), ("sensitivity", tp, tp + fn), ("specificity", tn, tn + fp),
                       ("ppv", tp, tp + fp), ("npv", tn, tn + fn)):
        out[name] = float(k / n) if n else None
        out[name + "_ci95"] = wilson_ci(k, n)
    return out


def _hl_groups(prob: np.ndarray, groups: int) -> np.ndarray:
    breaks = np.unique(np.quantile(prob, np.linspace(0, 1, groups + 1)))
    if breaks.size < 2:
        return np.zeros(prob.size, dtype=int)
    # (b[k-1], b[k]] with the lowest break included in the first group.
    idx = np.searchsorted(breaks, prob, side="left") - 1
    return np.clip(idx, 0, breaks.size - 2)


def hosmer_lemeshow(y: Any, prob: Any, groups: int = 10) -> dict[str, Any]:
    """Hosmer-Lemeshow test over quantile groups of predicted risk, with the per-group table."""
    y = np.asarray(y).astype(float).ravel()
    prob = np.asarray(prob, dtype=float).ravel()
    if groups < 3:
        raise ModelInputError(None, "the Hosmer-Lemeshow test needs at least 3 groups")
    g = _hl_groups(prob, groups)
    rows = []
    chi2 = 0.0
    for k in np.unique(g):
        sel = g == k
        n_k = int(sel.sum())
        obs = float(y[sel].sum())
        exp = float(prob[sel].sum())
        if 0 < exp < n_k:
            chi2 += (obs - exp) ** 2 / (exp * (1 - exp / n_k))
        rows.append({"group": int(k) + 1, "n": n_k, "observed": obs, "expected": exp,
                     "mean_predicted": exp / n_k, "observed_rate": obs / n_k,
                     "observed_rate_ci95": wilson_ci(int(obs), n_k),
                     "min_predicted": float(prob[sel].min()), "max_predicted": float(prob[sel].max())})
    dof = len(rows) - 2
    p = float(stats.chi2.sf(chi2, dof)) if dof > 0 else None
    return {"statistic": float(chi2), "dof": int(dof), "p": p, "groups_requested": int(groups),
            "groups": rows,
            "method": "quantile groups of predicted risk (ties kept together), chi2 on groups - 2 df"}


def calibration_slope(y: Any, prob: Any) -> dict[str, Any]:
    """Calibration intercept and slope: logistic regression of y on logit(p)."""
    from .logistic import fit_logistic

    p = np.clip(np.asarray(prob, dtype=float), 1e-12, 1 - 1e-12)
    lp = np.log(p / (1 - p))
    try:
        fit = fit_logistic(lp[:, None], np.asarray(y, dtype=float), ["logit_p"])
    except Exception as exc:  # noqa: BLE001 - reported, not fatal for the report
        return {"intercept": None, "slope": None, "note": f"not estimable: {exc}"}
    ci = fit.ci()
    return {"intercept": float(fit.coef[0]), "slope": float(fit.coef[1]),
            "slope_ci95": [float(ci[1, 0]), float(ci[1, 1])],
            "note": "ideal: intercept 0, slope 1 (logistic recalibration of y on logit(p))"}


def net_benefit(y: Any, prob: Any, threshold: float) -> float:
    """Net benefit of treating when ``prob >= threshold``: TP/n - FP/n * pt / (1 - pt)."""
    y = np.asarray(y).astype(int).ravel()
    prob = np.asarray(prob, dtype=float).ravel()
    if not 0 < threshold < 1:
        raise ModelInputError(None, f"threshold probability {threshold} must lie strictly between 0 and 1")
    call = prob >= threshold
    n = y.size
    tp = np.sum(call & (y == 1))
    fp = np.sum(call & (y == 0))
    return float(tp / n - fp / n * threshold / (1 - threshold))


def decision_curve(y: Any, probs: dict[str, Any], thresholds: Any = None) -> dict[str, Any]:
    """Net benefit of each model, of treat-all and treat-none, over ``thresholds``."""
    y = np.asarray(y).astype(int).ravel()
    thresholds = np.asarray(thresholds if thresholds is not None else np.round(np.arange(0.01, 1.0, 0.01), 2))
    prevalence = y.mean()
    treat_all = prevalence - (1 - prevalence) * thresholds / (1 - thresholds)
    return {"thresholds": thresholds.tolist(),
            "models": {name: [net_benefit(y, p, t) for t in thresholds] for name, p in probs.items()},
            "treat_all": treat_all.tolist(), "treat_none": [0.0] * thresholds.size,
            "prevalence": float(prevalence)}


def clinical_impact(y: Any, prob: Any, thresholds: Any = None, population: int = 1000) -> dict[str, Any]:
    """Per ``population`` people: number called high risk and number high risk with the event."""
    y = np.asarray(y).astype(int).ravel()
    prob = np.asarray(prob, dtype=float).ravel()
    thresholds = np.asarray(thresholds if thresholds is not None else np.round(np.arange(0.01, 1.0, 0.01), 2))
    high = [(prob >= t).mean() * population for t in thresholds]
    high_event = [((prob >= t) & (y == 1)).mean() * population for t in thresholds]
    return {"thresholds": thresholds.tolist(), "population": population,
            "n_high_risk": [float(v) for v in high], "n_high_risk_with_event": [float(v) for v in high_event]}


def roc_points(y: Any, score: Any) -> dict[str, list[float]]:
    """False- and true-positive rates at every distinct threshold (from (0,0) to (1,1))."""
    y, score = _check(y, score)
    thresholds = np.unique(score)[::-1]
    P, N = y.sum(), (1 - y).sum()
    tpr = [0.0] + [float(np.sum((score >= t) & (y == 1)) / P) for t in thresholds]
    fpr = [0.0] + [float(np.sum((score >= t) & (y == 0)) / N) for t in thresholds]
    return {"fpr": fpr, "tpr": tpr, "thresholds": [float("inf")] + thresholds.tolist()}


def youden_threshold(y: Any, prob: Any) -> float:
    """The probability threshold maximising sensitivity + specificity - 1."""
    y, prob = _check(y, prob)
    best, best_t = -1.0, 0.5
    for t in np.unique(prob):
        call = prob >= t
        j = np.mean(call[y == 1]) + np.mean(~call[y == 0]) - 1
        if j > best:
            best, best_t = j, float(t)
    return best_t
