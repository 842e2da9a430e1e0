"""Logistic IRLS fit (coefficient recovery, SEs) and the LASSO path with CV lambda."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from napari_spine_mets.models.lasso import Standardiser, fit_l1_logistic, lambda_max, lasso_cv
from napari_spine_mets.models.logistic import fit_logistic, log_likelihood
from napari_spine_mets.models.metrics import auc
from napari_spine_mets.models.synthetic_cohort import logistic_cohort

TRUE = np.array([-0.4, 0.8, -0.5, 1.0, 0.3])  # intercept, x1..x4


def _cohort(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.normal(size=n), rng.normal(1, 2, n), rng.binomial(1, 0.4, n), rng.uniform(-2, 2, n)])
    y = rng.binomial(1, special.expit(TRUE[0] + X @ TRUE[1:]))
    return X, y


def test_fit_recovers_generating_coefficients_within_their_standard_errors() -> None:
    X, y = _cohort(2000, seed=7)
    fit = fit_logistic(X, y, ["x1", "x2", "x3", "x4"])
    z = (fit.coef - TRUE) / fit.se
    # Measured on this seed: z = (fit - true) / SE = [-0.14, -1.77, 0.87, -0.75, -0.73]: all within 2 SE.
    assert np.all(np.abs(z) < 2.0), z
    lo, hi = fit.ci().T
    assert np.all((lo < TRUE) & (TRUE < hi))


def test_recovery_holds_across_seeds_at_the_nominal_rate() -> None:
    inside = []
    for seed in range(12):
        X, y = _cohort(1000, seed=100 + seed)
        fit = fit_logistic(X, y)
        lo, hi = fit.ci().T
        inside.append((lo < TRUE) & (TRUE < hi))
    rate = np.mean(inside)
    assert 0.85 <= rate <= 1.0, rate  # nominal 95 %


def test_coefficients_match_scikit_learn_and_ses_match_a_numerical_hessian() -> None:
    from sklearn.linear_model import LogisticRegression

    X, y = _cohort(600, seed=3)
    fit = fit_logistic(X, y)
    ref = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10000).fit(X, y)
    np.testing.assert_allclose(fit.coef, np.r_[ref.intercept_, ref.coef_.ravel()], atol=1e-4)
    # Independent SEs: inverse of the finite-difference Hessian of the log-likelihood.
    X1 = np.column_stack([np.ones(len(y)), X])
    k, h = X1.shape[1], 1e-4
    hess = np.zeros((k, k))
    for i in range(k):
        for j in range(k):
            ei, ej = np.eye(k)[i] * h, np.eye(k)[j] * h
            hess[i, j] = (log_likelihood(fit.coef + ei + ej, X1, y) - log_likelihood(fit.coef + ei - ej, X1, y)
                          - log_likelihood(fit.coef - ei + ej, X1, y) + log_likelihood(fit.coef - ei - ej, X1, y)) / (4 * h * h)
    se_numeric = np.sqrt(np.diag(np.linalg.inv(-hess)))
    np.testing.assert_allclose(fit.se, se_numeric, rtol=1e-3)


def test_lambda_max_is_where_every_coefficient_is_zero() -> None:
    X, y = _cohort(400, seed=5)
    Z = Standardiser.fit(X, list("abcd")).transform(X)
    lam = lambda_max(Z, y)
    assert not np.any(fit_l1_logistic(Z, y, lam * 1.01)[1])
    assert np.any(fit_l1_logistic(Z, y, lam * 0.8)[1])


@pytest.fixture(scope="module")
def path_result():
    frame, truth = logistic_cohort(400, seed=11)
    features = [c for c in frame.columns if c.startswith(("t1_", "t2_", "t2fs_"))]
    path = lasso_cv(frame[features].to_numpy(), frame["outcome"].to_numpy(), features, folds=5, seed=0)
    return path, truth


def test_lambda_1se_is_at_least_lambda_min_and_selects_no_more_features(path_result) -> None:
    path, truth = path_result
    assert path.lambda_1se >= path.lambda_min
    i_min = int(np.argmin(np.abs(path.lambdas - path.lambda_min)))
    i_1se = int(np.argmin(np.abs(path.lambdas - path.lambda_1se)))
    assert path.n_nonzero[i_1se] <= path.n_nonzero[i_min]
    assert path.cv_mean[i_1se] <= path.cv_mean[i_min] + path.cv_se[i_min] + 1e-12
    # The strongly informative generating features (|beta| >= 0.8) are selected at the 1-SE lambda.
    strong = {f for f, b in truth["informative"].items() if abs(b) >= 0.8}
    assert strong <= set(path.selected), (strong, path.selected)


def test_lasso_is_deterministic_for_a_seed(path_result) -> None:
    path, _ = path_result
    frame, _ = logistic_cohort(400, seed=11)
    again = lasso_cv(frame[path.names].to_numpy(), frame["outcome"].to_numpy(), path.names, folds=5, seed=0)
    np.testing.assert_array_equal(again.coef, path.coef)
    assert again.lambda_1se == path.lambda_1se


def test_auc_equals_scikit_learn_with_ties() -> None:
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    y = rng.binomial(1, 0.3, 500)
    for score in (rng.normal(size=500) + y, np.round(rng.normal(size=500) + y, 1), rng.integers(0, 4, 500) + y):
        assert auc(y, score) == pytest.approx(roc_auc_score(y, score), abs=1e-12)
