"""Seeded synthetic cohorts drawn from known models (tests and the demonstration models).

Nothing here resembles a real cohort beyond plausible ranges: the generating coefficients
are arbitrary numbers chosen for the demonstration, NOT published estimates (no published
coefficients exist in the project's sources).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

__all__ = ["logistic_cohort", "cox_cohort", "DEMO_RADIOMICS_FEATURES"]

#: Names of the synthetic "radiomics" columns (multiparametric MRI style).
DEMO_RADIOMICS_FEATURES = [
    f"{seq}_{name}" for seq in ("t1", "t2", "t2fs")
    for name in ("firstorder_mean", "firstorder_entropy", "glcm_contrast", "glcm_correlation",
                 "glrlm_rlnu", "glszm_zone_entropy", "shape_sphericity", "ngtdm_busyness")
]


def _equicorrelated_normal(rng: np.random.Generator, n: int, p: int, correlation: float) -> np.ndarray:
    """n rows of p standard normal features, every pair correlated by ``correlation`` (>= 0).

    Built from one shared and p own normal draws, not ``multivariate_normal``: that factors
    the covariance by SVD, whose eigenvectors in the (p-1)-fold repeated eigenvalue are
    arbitrary and differ between LAPACK builds and CPUs, so the same seed gave another
    cohort (and another demonstration model) on another machine.
    """
    shared = rng.standard_normal((n, 1))
    own = rng.standard_normal((n, p))
    return np.sqrt(correlation) * shared + np.sqrt(1.0 - correlation) * own


def logistic_cohort(n: int, seed: int, *, informative: dict[str, float] | None = None,
                    clinical: dict[str, float] | None = None, intercept: float = -0.5,
                    features: list[str] | None = None, correlation: float = 0.3) -> tuple[Any, dict[str, Any]]:
    """A table of radiomics-like features, age, ALP, CA125 and a 0/1 ``outcome``.

    The outcome is Bernoulli with ``logit = intercept + sum(informative[f] * zscore_true(f))
    + sum(clinical[term] * term_value)``, where ``zscore_true`` standardises with the
    generating mean and SD of each feature and the clinical terms are ``age_years>60``,
    ``alp_u_per_l>120``, ``ca125_u_per_ml`` (per 100 U/mL: the coefficient is divided by 100)
    or ``posterior_involvement``. Returns (DataFrame, truth).
    """
    import pandas as pd

    rng = np.random.default_rng(seed)
    features = list(features or DEMO_RADIOMICS_FEATURES)
    informative = dict(informative if informative is not None else
                       {features[0]: 1.2, features[2]: -0.9, features[9]: 0.8, features[13]: 0.6})
    clinical = dict(clinical if clinical is not None else {"age_years>60": 0.9, "alp_u_per_l>120": 1.1})
    p = len(features)
    latent = _equicorrelated_normal(rng, n, p, correlation)
    # Feature scales are fixed (not drawn per seed) so cohorts of different seeds are comparable.
    fixed = np.random.default_rng(20260)
    scale = 10.0 ** fixed.uniform(-1, 3, size=p)
    offset = fixed.uniform(0, 5, size=p) * scale
    raw = latent * scale + offset
    age = np.clip(rng.normal(60, 12, n), 18, 95).round(0)
    alp = np.exp(rng.normal(np.log(100), 0.5, n)).round(1)
    ca125 = np.exp(rng.normal(np.log(25), 1.0, n)).round(1)
    posterior = rng.binomial(1, 0.4, n)
    values = {"age_years>60": (age > 60).astype(float), "alp_u_per_l>120": (alp > 120).astype(float),
              "ca125_u_per_ml": ca125, "posterior_involvement": posterior.astype(float)}
    eta = np.full(n, intercept)
    for name, beta in informative.items():
        eta += beta * latent[:, features.index(name)]
    for term, beta in clinical.items():
        eta += beta * values[term]
    y = rng.binomial(1, special.expit(eta))
    frame = pd.DataFrame(raw, columns=features)
    frame.insert(0, "lesion_id", [f"S{seed}-{i + 1:04d}" for i in range(n)])
    frame["age_years"] = age
    frame["alp_u_per_l"] = alp
    frame["ca125_u_per_ml"] = ca125
    frame["posterior_involvement"] = posterior
    frame["outcome"] = y
    truth = {"intercept": intercept, "informative": informative, "clinical": clinical, "seed": seed, "n": n,
             "feature_mean": dict(zip(features, offset.tolist())), "feature_sd": dict(zip(features, scale.tolist())),
             "note": "synthetic: arbitrary generating coefficients, not published estimates"}
    return frame, truth


def cox_cohort(n: int, seed: int, *, coefficients: dict[str, float] | None = None, weibull_shape: float = 1.2,
               weibull_scale_months: float = 14.0, max_follow_up_months: float = 30.0,
               loss_rate_per_month: float = 0.01) -> tuple[Any, dict[str, Any]]:
    """A survival table in months from a Weibull proportional-hazards model with known log-HRs.

    Columns: ``patient_id``, ``age_years``, ``karnofsky`` (40-100 by 10), ``albumin_g_per_l``,
    ``visceral_metastases`` (0/1), ``tumour_volume_ml`` (an imaging column),
    ``survival_months``, ``death`` (1 = died, 0 = censored). The hazard is
    ``h0(t) * exp(sum(beta * x))`` with ``h0`` Weibull; censoring is administrative
    (uniform entry over ``max_follow_up_months``) plus exponential loss to follow-up.
    """
    import pandas as pd

    rng = np.random.default_rng(seed)
    beta = dict(coefficients if coefficients is not None else
                {"age_years": 0.02, "karnofsky": -0.03, "albumin_g_per_l": -0.05,
                 "visceral_metastases": 0.6, "tumour_volume_ml": 0.015})
    cols = {
        "age_years": np.clip(rng.normal(63, 11, n), 25, 95).round(0),
        "karnofsky": rng.choice(np.arange(40, 101, 10), size=n, p=[0.05, 0.1, 0.15, 0.25, 0.25, 0.15, 0.05]).astype(float),
        "albumin_g_per_l": np.clip(rng.normal(38, 5, n), 20, 55).round(1),
        "visceral_metastases": rng.binomial(1, 0.4, n).astype(float),
        "tumour_volume_ml": np.exp(rng.normal(np.log(15), 0.7, n)).round(2),
    }
    eta = sum(beta[k] * (cols[k] - cols[k].mean()) for k in beta)
    u = rng.uniform(size=n)
    lam = weibull_scale_months ** (-weibull_shape)
    t_event = (-np.log(u) / (lam * np.exp(eta))) ** (1.0 / weibull_shape)
    admin = rng.uniform(0.25 * max_follow_up_months, max_follow_up_months, n)
    loss = rng.exponential(1.0 / loss_rate_per_month, n) if loss_rate_per_month > 0 else np.full(n, np.inf)
    censor = np.minimum(admin, loss)
    time = np.minimum(t_event, censor)
    event = (t_event <= censor).astype(int)
    frame = pd.DataFrame({"patient_id": [f"P{seed}-{i + 1:04d}" for i in range(n)], **cols,
                          "survival_months": np.maximum(time, 0.01).round(3), "death": event})
    truth = {"log_hazard_ratios": beta, "weibull_shape": weibull_shape, "weibull_scale_months": weibull_scale_months,
             "seed": seed, "n": n, "note": "synthetic: arbitrary generating coefficients, not published estimates"}
    return frame, truth
