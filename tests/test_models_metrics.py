"""DeLong (vs a direct O(n^2) computation and a published example), Hosmer-Lemeshow, net benefit."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from napari_spine_mets.models import metrics


def _direct_delong(y: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DeLong et al. (1988) written out: psi kernel over every (positive, negative) pair."""
    pos, neg = scores[:, y == 1], scores[:, y == 0]
    m, n = pos.shape[1], neg.shape[1]
    k = scores.shape[0]
    v10 = np.zeros((k, m))
    v01 = np.zeros((k, n))
    aucs = np.zeros(k)
    for r in range(k):
        psi = np.zeros((m, n))
        for i in range(m):
            for j in range(n):
                psi[i, j] = 1.0 if pos[r, i] > neg[r, j] else (0.5 if pos[r, i] == neg[r, j] else 0.0)
        aucs[r] = psi.mean()
        v10[r] = psi.mean(axis=1)
        v01[r] = psi.mean(axis=0)
    s10 = np.array([[np.sum((v10[a] - aucs[a]) * (v10[b] - aucs[b])) / (m - 1) for b in range(k)] for a in range(k)])
    s01 = np.array([[np.sum((v01[a] - aucs[a]) * (v01[b] - aucs[b])) / (n - 1) for b in range(k)] for a in range(k)])
    return aucs, s10 / m + s01 / n


def test_delong_covariance_matches_direct_computation_with_ties() -> None:
    rng = np.random.default_rng(1)
    y = rng.binomial(1, 0.4, 120)
    a = np.round(y + rng.normal(size=120), 1)
    b = np.round(0.5 * a + rng.normal(size=120), 0)  # correlated with a, many ties
    aucs, cov = metrics.delong(y, np.vstack([a, b]))
    ref_aucs, ref_cov = _direct_delong(y, np.vstack([a, b]))
    np.testing.assert_allclose(aucs, ref_aucs, atol=1e-12)
    np.testing.assert_allclose(cov, ref_cov, rtol=1e-10, atol=1e-15)


def test_hanley_mcneil_1982_ct_rating_example() -> None:
    """Hanley & McNeil (Radiology 1982) 5-point CT ratings: 58 normal, 51 abnormal; AUC 0.893."""
    normal = np.repeat([1, 2, 3, 4, 5], [33, 6, 6, 11, 2])
    abnormal = np.repeat([1, 2, 3, 4, 5], [3, 2, 2, 11, 33])
    y = np.r_[np.zeros(58), np.ones(51)]
    score = np.r_[normal, abnormal].astype(float)
    result = metrics.auc_ci(y, score)
    assert result["auc"] == pytest.approx(0.893, abs=5e-4)  # published: 0.893 (0.89317 exactly)
    # Hanley-McNeil's exponential approximation gives SE 0.0326 for this table; DeLong's
    # non-parametric SE is of the same size (not identical: a different estimator).
    assert 0.025 < result["se"] < 0.040
    _, ref_cov = _direct_delong(y.astype(int), score[None, :])
    assert result["se"] == pytest.approx(np.sqrt(ref_cov[0, 0]), rel=1e-10)


def test_delong_paired_test() -> None:
    rng = np.random.default_rng(2)
    y = rng.binomial(1, 0.5, 150)
    strong = y + rng.normal(0, 0.7, 150)
    weak = y + rng.normal(0, 2.0, 150)
    same = metrics.delong_test(y, strong, strong)
    assert same["p"] == 1.0 and same["difference"] == 0.0
    result = metrics.delong_test(y, strong, weak)
    aucs, cov = _direct_delong(y, np.vstack([strong, weak]))
    z = (aucs[0] - aucs[1]) / np.sqrt(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    assert result["z"] == pytest.approx(z, rel=1e-10)
    assert result["p"] == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-10)
    assert result["p"] < 0.01


def _reference_hl(y: np.ndarray, p: np.ndarray, g: int = 10) -> tuple[float, int]:
    """Plain loop: R's cut(p, quantile(p, 0:g/g), include.lowest=TRUE); sum over both outcome cells."""
    breaks = sorted(set(np.percentile(p, np.linspace(0, 100, g + 1)).tolist()))
    chi2, groups = 0.0, 0
    for k in range(len(breaks) - 1):
        lo, hi = breaks[k], breaks[k + 1]
        members = [i for i in range(len(p)) if (lo < p[i] <= hi) or (k == 0 and p[i] == lo)]
        if not members:
            continue
        groups += 1
        o1 = sum(y[i] for i in members)
        e1 = sum(p[i] for i in members)
        o0, e0 = len(members) - o1, len(members) - e1
        chi2 += (o1 - e1) ** 2 / e1 + (o0 - e0) ** 2 / e0
    return chi2, groups - 2


def test_hosmer_lemeshow_matches_reference_computation() -> None:
    rng = np.random.default_rng(3)
    p = rng.uniform(0.02, 0.98, 300)
    y = rng.binomial(1, np.clip(p * 1.15, 0, 1))
    result = metrics.hosmer_lemeshow(y, p)
    chi2, dof = _reference_hl(y, p)
    assert result["statistic"] == pytest.approx(chi2, rel=1e-10)
    assert result["dof"] == dof == 8
    assert result["p"] == pytest.approx(stats.chi2.sf(chi2, 8), rel=1e-10)
    # Tied predicted risks (a model with few distinct values) stay together.
    p_tied = np.clip(np.round(p, 1), 0.1, 0.9)
    tied = metrics.hosmer_lemeshow(y, p_tied)
    chi2_t, dof_t = _reference_hl(y, p_tied)
    assert tied["statistic"] == pytest.approx(chi2_t, rel=1e-10) and tied["dof"] == dof_t


def test_hosmer_lemeshow_hand_example() -> None:
    # Three groups of two: expected 0.2, 1.0, 1.6; observed 0, 1, 2.
    p = np.array([0.1, 0.1, 0.5, 0.5, 0.8, 0.8])
    y = np.array([0, 0, 1, 0, 1, 1])
    result = metrics.hosmer_lemeshow(y, p, groups=3)
    expected = 0.2**2 / (0.2 * 0.9) + 0 + 0.4**2 / (1.6 * 0.2)
    assert result["statistic"] == pytest.approx(expected)
    assert result["dof"] == 1


def test_net_benefit_at_known_points() -> None:
    y = np.array([1, 1, 1, 0, 0, 0, 0, 0, 0, 0])
    p = np.array([0.9, 0.6, 0.2, 0.7, 0.3, 0.1, 0.1, 0.1, 0.05, 0.05])
    # At pt = 0.25: called positive 0.9, 0.6, 0.7, 0.3 -> TP 2, FP 2; NB = 2/10 - 2/10 * (1/3).
    assert metrics.net_benefit(y, p, 0.25) == pytest.approx(0.2 - 0.2 / 3)
    # At pt = 0.5: TP 2, FP 1 -> 0.2 - 0.1.
    assert metrics.net_benefit(y, p, 0.5) == pytest.approx(0.1)
    dca = metrics.decision_curve(y, {"m": p}, thresholds=[0.25, 0.5])
    assert dca["treat_all"] == pytest.approx([0.3 - 0.7 / 3, 0.3 - 0.7])
    assert dca["treat_none"] == [0.0, 0.0]
    impact = metrics.clinical_impact(y, p, thresholds=[0.25, 0.5])
    assert impact["n_high_risk"] == pytest.approx([400, 300])
    assert impact["n_high_risk_with_event"] == pytest.approx([200, 200])


def test_confusion_metrics_at_threshold() -> None:
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    p = np.array([0.9, 0.8, 0.6, 0.3, 0.7, 0.4, 0.2, 0.1, 0.1, 0.5])
    c = metrics.confusion_at(y, p, 0.5)  # positive when p >= 0.5
    assert (c["tp"], c["fn"], c["fp"], c["tn"]) == (3, 1, 2, 4)
    assert c["sensitivity"] == pytest.approx(0.75)
    assert c["specificity"] == pytest.approx(4 / 6)
    assert c["ppv"] == pytest.approx(0.6)
    assert c["npv"] == pytest.approx(0.8)
    assert c["accuracy"] == pytest.approx(0.7)
    lo, hi = c["sensitivity_ci95"]
    assert lo < 0.75 < hi
    none_positive = metrics.confusion_at(y, p, 0.99)
    assert none_positive["ppv"] is None and none_positive["ppv_ci95"] is None


def test_single_class_outcome_is_refused() -> None:
    from napari_spine_mets.models.errors import ModelInputError

    with pytest.raises(ModelInputError, match="single class"):
        metrics.auc_ci(np.ones(10), np.arange(10.0))
