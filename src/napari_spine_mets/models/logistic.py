"""Unpenalised logistic regression by iteratively reweighted least squares (IRLS).

Standard errors come from the inverse of the observed information matrix at the maximum
(for the logit link, observed = expected information: X' W X with W = p(1 - p)); Wald
95 % confidence intervals and two-sided p values follow. Perfect or quasi-complete
separation, collinear columns and more parameters than rows are reported as errors
rather than returning meaningless estimates.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special, stats

from .errors import ModelFitError, ModelInputError

__all__ = ["LogisticFit", "fit_logistic", "log_likelihood"]

log = logging.getLogger(__name__)


@dataclass
class LogisticFit:
    """Coefficients (intercept first) with their covariance, SEs, Wald CIs and p values."""

    names: list[str]
    coef: np.ndarray
    cov: np.ndarray
    loglik: float
    n: int
    iterations: int

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.diag(self.cov))

    def ci(self, level: float = 0.95) -> np.ndarray:
        z = stats.norm.ppf(0.5 + level / 2)
        return np.column_stack([self.coef - z * self.se, self.coef + z * self.se])

    @property
    def p_values(self) -> np.ndarray:
        return 2 * stats.norm.sf(np.abs(self.coef / self.se))

    def linear_predictor(self, X: np.ndarray) -> np.ndarray:
        return self.coef[0] + np.asarray(X, dtype=float) @ self.coef[1:]

    def predict(self, X: np.ndarray) -> np.ndarray:
        return special.expit(self.linear_predictor(X))

    def table(self) -> list[dict[str, Any]]:
        ci = self.ci()
        return [
            {"term": name, "coef": float(b), "se": float(s), "ci95": [float(lo), float(hi)],
             "odds_ratio": float(np.exp(b)) if name != "(intercept)" else None, "p": float(p)}
            for name, b, s, (lo, hi), p in zip(self.names, self.coef, self.se, ci, self.p_values)
        ]


def log_likelihood(coef: np.ndarray, X1: np.ndarray, y: np.ndarray) -> float:
    """Bernoulli log-likelihood of ``coef`` for design ``X1`` (with its intercept column)."""
    eta = X1 @ coef
    return float(np.sum(y * eta - np.logaddexp(0.0, eta)))


def fit_logistic(X: np.ndarray, y: np.ndarray, names: list[str] | None = None, *,
                 max_iter: int = 100, tol: float = 1e-10) -> LogisticFit:
    """Maximum-likelihood logistic regression of 0/1 ``y`` on ``X`` (an intercept is added)."""
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    y = np.asarray(y, dtype=float)
    n, p = X.shape
    names = list(names) if names is not None else [f"x{i + 1}" for i in range(p)]
    if n != y.shape[0]:
        raise ModelInputError(None, f"{n} rows of predictors but {y.shape[0]} outcomes")
    if p + 1 >= n:
        raise ModelInputError(None, f"{p} predictors plus an intercept for {n} rows: an unpenalised logistic "
                              "model needs fewer parameters than rows; select features first (LASSO) or use fewer columns")
    X1 = np.column_stack([np.ones(n), X])
    rank = np.linalg.matrix_rank(X1)
    if rank < p + 1:
        constant = [names[j] for j in range(p) if np.ptp(X[:, j]) == 0]
        detail = f"constant column(s): {', '.join(constant)}" if constant else "some columns are linear combinations of others"
        raise ModelFitError(f"the predictors are collinear ({detail}); remove redundant columns")
    events = y.sum()
    coef = np.zeros(p + 1)
    coef[0] = special.logit(np.clip(events / n, 1e-6, 1 - 1e-6))
    loglik = log_likelihood(coef, X1, y)
    for iteration in range(1, max_iter + 1):
        mu = special.expit(X1 @ coef)
        w = mu * (1 - mu)
        info = X1.T @ (w[:, None] * X1)
        score = X1.T @ (y - mu)
        try:
            step = np.linalg.solve(info, score)
        except np.linalg.LinAlgError:
            raise ModelFitError("the information matrix is singular: the outcome is perfectly separated by the "
                                "predictors or the columns are collinear") from None
        # Step halving keeps the likelihood increasing.
        for _ in range(30):
            new = coef + step
            new_ll = log_likelihood(new, X1, y)
            if new_ll >= loglik - 1e-12:
                break
            step /= 2
        coef, old_ll, loglik = new, loglik, new_ll
        if abs(loglik - old_ll) < tol * (abs(loglik) + tol) and np.max(np.abs(step)) < 1e-7:
            break
    else:
        raise ModelFitError(f"logistic regression did not converge in {max_iter} iterations")
    mu = special.expit(X1 @ coef)
    if np.max(np.abs(X1 @ coef)) > 30 or np.any(np.abs(coef) > 50):
        raise ModelFitError("the outcome is (quasi-)perfectly separated by the predictors: the maximum-likelihood "
                            "coefficients are infinite; use fewer predictors, more data, or a penalised model")
    w = mu * (1 - mu)
    info = X1.T @ (w[:, None] * X1)
    cov = np.linalg.inv(info)
    return LogisticFit(names=["(intercept)"] + names, coef=coef, cov=cov, loglik=loglik, n=n, iterations=iteration)
