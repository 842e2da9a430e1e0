"""Standardisation and L1-penalised logistic regression with k-fold cross-validated lambda.

The penalty is on glmnet's scale: minimise ``-(1/n) log L(b0, b) + lambda * ||b||_1`` on
standardised features (scikit-learn's ``C = 1 / (n * lambda)``). The path runs from
``lambda_max`` (the smallest lambda that keeps every coefficient at zero) down to
``lambda_max * ratio``, log-spaced. Cross-validation is stratified k-fold (seeded); each
fold standardises with its own training rows; the loss is the binomial deviance per
row. ``lambda_min`` minimises the mean CV deviance; ``lambda_1se`` is the largest lambda
whose mean deviance is within one standard error of that minimum (Breiman's 1-SE rule),
so it is at least ``lambda_min`` and selects no more features in practice.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import special

from .errors import ModelInputError

__all__ = ["Standardiser", "LassoPath", "lasso_cv", "fit_l1_logistic", "lambda_max"]

log = logging.getLogger(__name__)


@dataclass
class Standardiser:
    """z = (x - mean) / sd with the population SD (ddof = 0) of the training rows."""

    names: list[str]
    mean: np.ndarray
    sd: np.ndarray

    @classmethod
    def fit(cls, X: np.ndarray, names: list[str]) -> "Standardiser":
        X = np.asarray(X, dtype=float)
        sd = X.std(axis=0)
        constant = [names[j] for j in np.flatnonzero(sd == 0)]
        if constant:
            raise ModelInputError(None, f"constant feature(s) cannot be standardised: {', '.join(constant[:10])}"
                                  + (" ..." if len(constant) > 10 else "") + "; remove them from the table")
        return cls(list(names), X.mean(axis=0), sd)

    def transform(self, X: np.ndarray) -> np.ndarray:
        return (np.asarray(X, dtype=float) - self.mean) / self.sd


def lambda_max(Z: np.ndarray, y: np.ndarray) -> float:
    """Smallest lambda at which every L1 coefficient is zero (intercept-only fit)."""
    return float(np.max(np.abs(Z.T @ (y - y.mean()))) / Z.shape[0])


def fit_l1_logistic(Z: np.ndarray, y: np.ndarray, lam: float, seed: int = 0) -> tuple[float, np.ndarray]:
    """(intercept, coefficients) of the L1 logistic fit at ``lam`` on standardised ``Z``."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    n = Z.shape[0]
    # liblinear treats the intercept as a feature of value intercept_scaling and penalises
    # it; a large scaling makes that penalty negligible.
    model = LogisticRegression(l1_ratio=1.0, C=1.0 / (n * lam), solver="liblinear", intercept_scaling=1000.0,
                               tol=1e-8, max_iter=10000, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", UserWarning)
        model.fit(Z, y)
    coef = model.coef_.ravel().copy()
    coef[np.abs(coef) < 1e-10] = 0.0
    return float(model.intercept_[0]), coef


def _deviance(y: np.ndarray, eta: np.ndarray) -> float:
    """Mean binomial deviance per row."""
    return float(2 * np.mean(np.logaddexp(0.0, eta) - y * eta))


@dataclass
class LassoPath:
    """The CV result: the lambda grid, CV deviance mean/SE, and the chosen fit."""

    names: list[str]
    standardiser: Standardiser
    lambdas: np.ndarray
    cv_mean: np.ndarray
    cv_se: np.ndarray
    n_nonzero: np.ndarray
    lambda_min: float
    lambda_1se: float
    rule: str
    lam: float
    intercept: float
    coef: np.ndarray
    folds: int
    seed: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def selected(self) -> list[str]:
        return [n for n, b in zip(self.names, self.coef) if b != 0]

    def radscore(self, X: np.ndarray) -> np.ndarray:
        """intercept + sum(coef * z) on the standardised features (the seed studies' Radscore)."""
        return self.intercept + self.standardiser.transform(X) @ self.coef

    def summary(self) -> dict[str, Any]:
        return {
            "rule": self.rule, "lambda": self.lam, "lambda_min": self.lambda_min, "lambda_1se": self.lambda_1se,
            "folds": self.folds, "seed": self.seed, "n_lambdas": int(self.lambdas.size),
            "n_candidates": len(self.names), "n_selected": len(self.selected),
            "cv_deviance_at_lambda": float(self.cv_mean[np.argmin(np.abs(self.lambdas - self.lam))]),
        }


def lasso_cv(X: np.ndarray, y: np.ndarray, names: list[str], *, folds: int = 5, n_lambdas: int = 50,
             ratio: float | None = None, rule: str = "1se", seed: int = 0) -> LassoPath:
    """Standardise, cross-validate the L1 logistic path, refit on all rows at the chosen lambda.

    ``rule`` is ``"1se"`` (default, the sparser model) or ``"min"``.
    """
    from sklearn.model_selection import StratifiedKFold

    if rule not in ("1se", "min"):
        raise ModelInputError(None, f"unknown lambda rule '{rule}' (1se or min)")
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=int)
    n, p = X.shape
    if p == 0:
        raise ModelInputError(None, "no radiomics feature columns were given to the LASSO")
    minority = int(min((y == 0).sum(), (y == 1).sum()))
    if minority < folds:
        raise ModelInputError(None, f"{folds}-fold cross-validation needs at least {folds} rows of each outcome; "
                              f"the smaller class has {minority}")
    standardiser = Standardiser.fit(X, names)
    Z = standardiser.transform(X)
    lam_hi = lambda_max(Z, y)
    ratio = ratio if ratio is not None else (1e-3 if n > p else 1e-2)
    lambdas = lam_hi * np.logspace(0, np.log10(ratio), n_lambdas)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    dev = np.zeros((folds, n_lambdas))
    for k, (train, test) in enumerate(splitter.split(Z, y)):
        st = Standardiser.fit(X[train], names) if np.all(X[train].std(axis=0) > 0) else standardiser
        Ztr, Zte = st.transform(X[train]), st.transform(X[test])
        for i, lam in enumerate(lambdas):
            b0, b = fit_l1_logistic(Ztr, y[train], lam, seed)
            dev[k, i] = _deviance(y[test], b0 + Zte @ b)
    mean = dev.mean(axis=0)
    se = dev.std(axis=0, ddof=1) / np.sqrt(folds)
    i_min = int(np.argmin(mean))
    within = np.flatnonzero(mean <= mean[i_min] + se[i_min])
    i_1se = int(within.min())  # lambdas decrease along the grid: the smallest index is the largest lambda
    lam = lambdas[i_1se] if rule == "1se" else lambdas[i_min]
    nonzero = np.array([np.count_nonzero(fit_l1_logistic(Z, y, l, seed)[1]) for l in lambdas])
    b0, b = fit_l1_logistic(Z, y, lam, seed)
    if not np.any(b):
        log.warning("the LASSO selected no feature at lambda=%g (rule %s): the Radscore is constant", lam, rule)
    return LassoPath(names=list(names), standardiser=standardiser, lambdas=lambdas, cv_mean=mean, cv_se=se,
                     n_nonzero=nonzero, lambda_min=float(lambdas[i_min]), lambda_1se=float(lambdas[i_1se]),
                     rule=rule, lam=float(lam), intercept=b0, coef=b, folds=folds, seed=seed)


def predict_proba(intercept: float, coef: np.ndarray, Z: np.ndarray) -> np.ndarray:
    return special.expit(intercept + Z @ coef)
