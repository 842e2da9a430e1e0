"""Cox proportional-hazards survival models for a user's cohort.

Fitting uses lifelines' ``CoxPHFitter`` (Efron ties); the model file keeps what is needed
to predict without lifelines or pickles: the log-hazard ratios, the covariate means used
for centring, and the baseline cumulative hazard ``H0(t)`` (a step function, at the mean
covariates). For a case, ``S(t | x) = exp(-H0(t) * exp(sum(beta_k * (x_k - mean_k))))``
and each variable's contribution to the log hazard is ``beta_k * (x_k - mean_k)``
(relative to the training cohort's average patient); the contributions sum to the linear
predictor.

Discrimination: Harrell's C-index (bootstrap CI) and the cumulative/dynamic
time-dependent AUC at 3, 6 and 12 months with Uno's inverse-probability-of-censoring
weights (cases: event by t, weighted by 1/G(T-); controls: still event-free after t),
with percentile bootstrap CIs. Calibration at those times: predicted S(t) against the
Kaplan-Meier estimate within quantile groups of predicted risk.
"""

from __future__ import annotations

import logging
import warnings
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ModelFitError, ModelInputError
from .model_file import check_feature_settings, new_model_doc
from .rounding import round_sig as _r
from .table import Term, prepare_table

__all__ = [
    "DAYS_PER_MONTH",
    "fit_cox",
    "predict_cox",
    "evaluate_cox",
    "apply_cox",
    "harrell_c",
    "kaplan_meier",
    "time_dependent_auc",
]

log = logging.getLogger(__name__)

DAYS_PER_MONTH = 365.25 / 12
HORIZONS_MONTHS = (3.0, 6.0, 12.0)


def _check_survival(time: np.ndarray, event: np.ndarray, names: tuple[str, str], source: Any) -> np.ndarray:
    bad_t = ~(time > 0)
    if bad_t.any():
        rows = ", ".join(str(i + 1) for i in np.flatnonzero(bad_t)[:8])
        raise ModelInputError(source, f"column '{names[0]}': survival times must be positive; rows {rows}")
    bad_e = ~np.isin(event, (0.0, 1.0))
    if bad_e.any():
        rows = ", ".join(str(i + 1) for i in np.flatnonzero(bad_e)[:8])
        raise ModelInputError(source, f"column '{names[1]}' must be 1 (event) or 0 (censored); rows {rows}")
    if event.sum() == 0:
        raise ModelInputError(source, f"column '{names[1]}' has no events: a survival model cannot be fitted")
    return event.astype(int)


# --------------------------------------------------------------------------- estimators
def kaplan_meier(time: np.ndarray, event: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(distinct event times, S just after each, Greenwood variance of S)."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=int)
    times = np.unique(time[event == 1])
    s, var_sum = 1.0, 0.0
    surv, var = [], []
    for t in times:
        at_risk = np.sum(time >= t)
        d = np.sum((time == t) & (event == 1))
        s *= 1 - d / at_risk
        if at_risk > d:
            var_sum += d / (at_risk * (at_risk - d))
        surv.append(s)
        var.append(s * s * var_sum)
    return times, np.array(surv), np.array(var)


def _step(times: np.ndarray, values: np.ndarray, t: float, before: float, left: bool = False) -> float:
    """Right-continuous step function at t (or its left limit when ``left``)."""
    idx = np.searchsorted(times, t, side="left" if left else "right") - 1
    return float(values[idx]) if idx >= 0 else before


def harrell_c(time: Any, event: Any, risk: Any) -> float:
    """Harrell's C: among comparable pairs, the share where the higher risk fails first (ties 1/2).

    A pair is comparable when the shorter time is an event; at equal times, an event and a
    censoring are comparable (the censored subject outlived the event), two events are not.
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=int)
    risk = np.asarray(risk, dtype=float)
    num = den = 0.0
    for i in np.flatnonzero(event == 1):
        comparable = (time > time[i]) | ((time == time[i]) & (event == 0))
        if not comparable.any():
            continue
        r = risk[comparable]
        num += np.sum(risk[i] > r) + 0.5 * np.sum(risk[i] == r)
        den += r.size
    if den == 0:
        raise ModelInputError(None, "no comparable pairs: the C-index is undefined")
    return float(num / den)


def time_dependent_auc(time: Any, event: Any, risk: Any, horizon: float) -> float | None:
    """Cumulative/dynamic AUC(t) with Uno's IPCW weights; None when there are no cases or controls."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=int)
    risk = np.asarray(risk, dtype=float)
    ct, cs, _ = kaplan_meier(time, 1 - event)  # censoring distribution G
    cases = (time <= horizon) & (event == 1)
    controls = time > horizon
    if not cases.any() or not controls.any():
        return None
    g = np.array([_step(ct, cs, t, 1.0, left=True) for t in time[cases]])
    if np.any(g <= 0):
        return None
    w = 1.0 / g
    ctrl = np.sort(risk[controls])
    below = np.searchsorted(ctrl, risk[cases], side="left")
    ties = np.searchsorted(ctrl, risk[cases], side="right") - below
    score = (below + 0.5 * ties) / ctrl.size
    return float(np.sum(w * score) / np.sum(w))


def _bootstrap(fn: Any, n: int, n_boot: int, seed: int) -> list[float] | None:
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(n_boot):
        idx = rng.integers(0, n, n)
        try:
            v = fn(idx)
        except ModelInputError:
            v = None
        if v is not None and np.isfinite(v):
            values.append(v)
    if len(values) < max(10, n_boot // 2):
        return None
    return [float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))]


# --------------------------------------------------------------------------- model
def _covariate_terms(model: dict[str, Any]) -> list[Term]:
    return [Term.from_json(t) for t in model["model"]["covariates"]]


def _horizon_in_unit(months: float, unit: str) -> float:
    return months if unit == "months" else months * DAYS_PER_MONTH


def fit_cox(
    frame: Any,
    *,
    duration: str,
    event: str,
    covariates: list[Term],
    time_unit: str = "months",
    name: str = "cox model",
    penalizer: float = 0.0,
    horizons_months: tuple[float, ...] = HORIZONS_MONTHS,
    n_boot: int = 200,
    seed: int = 0,
    missing: str = "error",
    id_column: str | None = None,
    source: str | PathLike[str] | None = None,
    demonstration: bool = False,
    feature_settings: dict[str, Any] | None = None,
    created: str | None = None,
) -> dict[str, Any]:
    """Fit a Cox model with lifelines; returns the model document (apparent metrics included)."""
    import pandas as pd
    from lifelines import CoxPHFitter
    from lifelines.exceptions import ConvergenceError

    if time_unit not in ("days", "months"):
        raise ModelInputError(None, f"time unit must be 'days' or 'months', not {time_unit!r}")
    if not covariates:
        raise ModelInputError(source, "no covariates given")
    prepared = prepare_table(frame, covariates, columns=[duration, event], source=source, id_column=id_column,
                             missing=missing)
    t = prepared.columns[duration]
    d = _check_survival(t, prepared.columns[event], (duration, event), source)
    names = [c.name for c in covariates]
    X = prepared.matrix(names)
    n, k = X.shape
    if k >= n or (k >= d.sum() and penalizer == 0):
        raise ModelInputError(source, f"{k} covariates for {n} rows and {int(d.sum())} events without "
                              "regularisation: too many parameters; use fewer covariates or a penalizer")
    constant = [nm for nm, col in zip(names, X.T) if np.ptp(col) == 0]
    if constant:
        raise ModelInputError(source, f"constant covariate(s): {', '.join(constant)}")
    df = pd.DataFrame(X, columns=[f"x{i}" for i in range(k)])
    df["_T"], df["_E"] = t, d
    cph = CoxPHFitter(penalizer=penalizer)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cph.fit(df, duration_col="_T", event_col="_E")
    except (ConvergenceError, np.linalg.LinAlgError) as exc:
        raise ModelFitError(f"the Cox model did not converge ({' '.join(str(exc).split())[:200]}); check for "
                            "collinear covariates or a covariate that separates events perfectly") from None
    coef = cph.params_.to_numpy()
    se = cph.standard_errors_.to_numpy()
    if np.any(~np.isfinite(se)) or np.any(np.abs(coef) > 20):
        raise ModelFitError("the Cox fit gave non-finite or huge coefficients (monotone likelihood / separation)")
    means = np.asarray(cph._norm_mean.to_numpy(), dtype=float)
    base = cph.baseline_cumulative_hazard_
    times = base.index.to_numpy(dtype=float)
    values = base.iloc[:, 0].to_numpy(dtype=float)
    keep = np.concatenate([[True], np.diff(values) > 0]) if values.size else np.array([], bool)
    ci = cph.confidence_intervals_.to_numpy()
    try:
        from lifelines.statistics import proportional_hazard_test

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ph = proportional_hazard_test(cph, df, time_transform="rank")
        ph_p = {nm: float(p) for nm, p in zip(names, ph.summary["p"].to_numpy())}
    except Exception as exc:  # noqa: BLE001 - a diagnostic only
        log.info("proportional-hazards test failed: %s", exc)
        ph_p = None
    model = {
        "duration_column": duration, "event_column": event, "time_unit": time_unit,
        "horizons_months": [float(h) for h in horizons_months],
        "covariates": [c.to_json() for c in covariates],
        "coef": _r(coef), "se": _r(se), "means": _r(means),
        "baseline_cumulative_hazard": {"times": _r(times[keep]), "values": _r(values[keep]),
                                       "at": "the covariate means ('means'); step function, right-continuous"},
        "table": [{"term": nm, "log_hr": float(b), "se": float(s), "hazard_ratio": float(np.exp(b)),
                   "hr_ci95": [float(np.exp(lo)), float(np.exp(hi))], "p": float(p)}
                  for nm, b, s, (lo, hi), p in zip(names, coef, se, ci, cph.summary["p"].to_numpy())],
        "fitter": f"lifelines CoxPHFitter (Efron ties, penalizer={penalizer})",
    }
    training = {
        "table": str(Path(source).name) if source is not None else None,
        "n": n, "n_events": int(d.sum()), "events_per_covariate": float(d.sum() / k),
        "median_follow_up": float(np.median(t[d == 0])) if (d == 0).any() else None,
        "max_time": float(t.max()), "time_unit": time_unit, "missing_values": prepared.missing,
        "covariates": {nm: {"mean": float(c.mean()), "sd": float(c.std(ddof=1)), "min": float(c.min()),
                            "max": float(c.max())} for nm, c in zip(names, X.T)},
        "proportional_hazards_test_p": ph_p,
        "partial_log_likelihood": float(cph.log_likelihood_),
    }
    if training["events_per_covariate"] < 10:
        training["warning"] = "fewer than 10 events per covariate: the model is likely over-fitted"
    doc = new_model_doc("cox_survival", name, model, training, demonstration=demonstration,
                        feature_settings=feature_settings, created=created)
    training["apparent"] = _metrics(doc, t, d, X, n_boot=n_boot, seed=seed)
    training["apparent"]["note"] = "apparent (training-set) performance: optimistic; see 'validation'"
    return doc


def _lp(model: dict[str, Any], X: np.ndarray) -> np.ndarray:
    m = model["model"]
    return (np.asarray(X, dtype=float) - np.asarray(m["means"])) @ np.asarray(m["coef"])


def _survival(model: dict[str, Any], lp: np.ndarray, t: float) -> np.ndarray:
    base = model["model"]["baseline_cumulative_hazard"]
    h0 = _step(np.asarray(base["times"]), np.asarray(base["values"]), t, 0.0)
    return np.exp(-h0 * np.exp(lp))


def predict_cox(model: dict[str, Any], frame: Any, *, source: Any = None, id_column: str | None = None,
                missing: str = "error", with_outcome: bool = False) -> dict[str, Any]:
    """Linear predictor and survival at each horizon for every row of ``frame``."""
    m = model["model"]
    cols = [m["duration_column"], m["event_column"]] if with_outcome else []
    prepared = prepare_table(frame, _covariate_terms(model), columns=cols, source=source, id_column=id_column,
                             missing=missing)
    X = prepared.matrix([t["name"] for t in m["covariates"]])
    lp = _lp(model, X)
    out: dict[str, Any] = {"lp": lp, "X": X, "survival": {
        h: _survival(model, lp, _horizon_in_unit(h, m["time_unit"])) for h in m["horizons_months"]}}
    if with_outcome:
        t = prepared.columns[m["duration_column"]]
        out["time"] = t
        out["event"] = _check_survival(t, prepared.columns[m["event_column"]],
                                       (m["duration_column"], m["event_column"]), source)
    return out


def _calibration(model: dict[str, Any], t: np.ndarray, d: np.ndarray, lp: np.ndarray, horizon: float,
                 groups: int) -> dict[str, Any]:
    pred = _survival(model, lp, horizon)
    order_breaks = np.unique(np.quantile(pred, np.linspace(0, 1, groups + 1)))
    g = np.clip(np.searchsorted(order_breaks, pred, side="left") - 1, 0, max(order_breaks.size - 2, 0))
    rows = []
    for k in np.unique(g):
        sel = g == k
        times, surv, var = kaplan_meier(t[sel], d[sel])
        obs = _step(times, surv, horizon, 1.0)
        v = _step(times, var, horizon, 0.0)
        se = float(np.sqrt(v))
        rows.append({"group": int(k) + 1, "n": int(sel.sum()), "predicted_survival": float(pred[sel].mean()),
                     "observed_survival_km": obs, "observed_ci95": [max(0.0, obs - 1.96 * se), min(1.0, obs + 1.96 * se)],
                     "n_at_risk_at_horizon": int(np.sum(t[sel] > horizon))})
    times, surv, _ = kaplan_meier(t, d)
    return {"groups": rows, "overall_predicted": float(pred.mean()), "overall_observed_km": _step(times, surv, horizon, 1.0),
            "method": "quantile groups of predicted survival; observed = Kaplan-Meier in the group (Greenwood CI)"}


def _metrics(model: dict[str, Any], t: np.ndarray, d: np.ndarray, X: np.ndarray, *, n_boot: int, seed: int,
             groups: int = 5) -> dict[str, Any]:
    lp = _lp(model, X)
    n = t.size
    unit = model["model"]["time_unit"]
    out: dict[str, Any] = {
        "c_index": {"value": harrell_c(t, d, lp),
                    "ci95": _bootstrap(lambda i: harrell_c(t[i], d[i], lp[i]), n, n_boot, seed),
                    "method": f"Harrell's C; percentile bootstrap CI ({n_boot} resamples, seed {seed})"},
        "time_dependent_auc": {}, "calibration": {},
    }
    for h in model["model"]["horizons_months"]:
        ht = _horizon_in_unit(h, unit)
        key = f"{h:g}_months"
        value = time_dependent_auc(t, d, lp, ht)
        if value is None:
            out["time_dependent_auc"][key] = {"value": None, "ci95": None,
                                              "note": "no events by, or nobody event-free after, this time"}
            continue
        ci = _bootstrap(lambda i: time_dependent_auc(t[i], d[i], lp[i], ht), n, n_boot, seed + 1)
        out["time_dependent_auc"][key] = {
            "value": value, "ci95": ci, "n_cases": int(np.sum((t <= ht) & (d == 1))),
            "n_controls": int(np.sum(t > ht)),
            "method": f"cumulative/dynamic AUC with Uno's IPCW weights; percentile bootstrap CI ({n_boot} resamples)"}
        out["calibration"][key] = _calibration(model, t, d, lp, ht, groups)
    return out


def evaluate_cox(model: dict[str, Any], frame: Any, *, source: Any = None, id_column: str | None = None,
                 missing: str = "error", n_boot: int = 200, seed: int = 0) -> dict[str, Any]:
    """C-index, time-dependent AUC and calibration of a Cox model on a (validation) table."""
    preds = predict_cox(model, frame, source=source, id_column=id_column, missing=missing, with_outcome=True)
    report = {"model": model["name"], "label": model["label"], "disclaimer": model["disclaimer"],
              "table": str(Path(source).name) if source is not None else None,
              "n": int(preds["time"].size), "n_events": int(preds["event"].sum())}
    report.update(_metrics(model, preds["time"], preds["event"], preds["X"], n_boot=n_boot, seed=seed))
    return report


def apply_cox(model: dict[str, Any], values: dict[str, Any], *, settings: dict[str, Any] | None = None,
              settings_sha256: str | None = None, source: Any = None) -> dict[str, Any]:
    """Survival probabilities at the model's horizons for one case, with each variable's contribution."""
    import pandas as pd

    notes = check_feature_settings(model, settings, settings_sha256)
    m = model["model"]
    terms = _covariate_terms(model)
    frame = pd.DataFrame([{t.column: values.get(t.column) for t in terms}])
    prepared = prepare_table(frame, terms, source=source)
    names = [t.name for t in terms]
    x = prepared.matrix(names)[0]
    coef, means = np.asarray(m["coef"]), np.asarray(m["means"])
    contributions = coef * (x - means)
    lp = float(contributions.sum())
    rows = []
    for nm, xv, b, mu, c in zip(names, x, coef, means, contributions):
        row = {"variable": nm, "value": float(xv), "log_hazard_ratio": float(b), "training_mean": float(mu),
               "log_hazard_contribution": float(c), "hazard_factor": float(np.exp(c))}
        rng = model["training"].get("covariates", {}).get(nm)
        if rng and not rng["min"] <= xv <= rng["max"]:
            row["note"] = "outside the range seen in the training cohort: extrapolation"
            notes.append(f"'{nm}' = {xv:g} is outside the training range [{rng['min']:g}, {rng['max']:g}]")
        rows.append(row)
    survival = {f"{h:g}_months": float(_survival(model, np.array([lp]), _horizon_in_unit(h, m["time_unit"]))[0])
                for h in m["horizons_months"]}
    max_t = model["training"].get("max_time")
    for h in m["horizons_months"]:
        if max_t is not None and _horizon_in_unit(h, m["time_unit"]) > max_t:
            notes.append(f"{h:g} months is beyond the training follow-up: the estimate is carried forward")
    return {"model": model["name"], "label": model["label"], "disclaimer": model["disclaimer"],
            "survival_probability": survival, "linear_predictor": lp,
            "relative_hazard_vs_average": float(np.exp(lp)), "contributions": rows, "notes": notes,
            "basis": "Cox proportional hazards: S(t) = exp(-H0(t) * exp(sum of beta x (value - training mean)))"}
