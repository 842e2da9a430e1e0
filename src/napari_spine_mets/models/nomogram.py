"""Radscore + clinical logistic nomograms: fit, predict, evaluate, apply.

The seed studies' pipeline on a user's own cohort: standardise the radiomics features,
select them by LASSO (k-fold CV lambda, 1-SE rule by default), build the Radscore
(the LASSO linear predictor on standardised features), then fit a multivariable logistic
model of the outcome on the Radscore and clinical terms (e.g. ``age_years>60``,
``alp_u_per_l>120`` for primary vs metastatic tumour; ``ca125_u_per_ml`` and
``posterior_involvement`` for benign vs malignant compression fracture). A clinical-only
and a Radscore-only model are fitted on the same rows for DeLong comparison.

Nomogram points: each term's contribution to the logit is ``coef * value``; the term with
the widest range of contributions over the training rows spans 0-100 points, the others
are scaled alike, and ``linear predictor = lp_at_zero_points + total_points /
points_per_logit``.
"""

from __future__ import annotations

import logging
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
from scipy import special

from . import metrics
from .errors import ModelFitError, ModelInputError
from .lasso import Standardiser, lasso_cv
from .logistic import fit_logistic
from .model_file import check_feature_settings, new_model_doc
from .rounding import round_sig as _r
from .table import SETTINGS_HASH_COLUMN, CLINICAL_RANGES, CATEGORICAL_LEVELS, Term, check_binary_outcome, prepare_table

__all__ = ["fit_nomogram", "predict_nomogram", "evaluate_nomogram", "apply_nomogram", "default_feature_columns",
           "validation_summary"]

log = logging.getLogger(__name__)

_NOT_FEATURES = set(CLINICAL_RANGES) | set(CATEGORICAL_LEVELS) | {SETTINGS_HASH_COLUMN}


def default_feature_columns(frame: Any, exclude: list[str]) -> list[str]:
    """Every column but the excluded ones, the clinical columns and the settings hash."""
    return [c for c in frame.columns if c not in set(exclude) and c not in _NOT_FEATURES]


def _points(coef: np.ndarray, names: list[str], X: np.ndarray) -> dict[str, Any]:
    contrib = X * coef
    lo, hi = contrib.min(axis=0), contrib.max(axis=0)
    width = float(np.max(hi - lo)) if contrib.size else 0.0
    per_logit = 100.0 / width if width > 0 else 0.0
    return {"ranges": {n: [float(a), float(b)] for n, a, b in zip(names, lo, hi)},
            "points_per_logit": per_logit,
            "scale": "the term with the widest range of logit contributions over the training rows spans 0-100 points"}


def _summary_stats(values: dict[str, np.ndarray]) -> dict[str, Any]:
    return {k: {"mean": float(np.mean(v)), "sd": float(np.std(v, ddof=1)) if v.size > 1 else 0.0,
                "min": float(np.min(v)), "max": float(np.max(v))} for k, v in values.items()}


def fit_nomogram(
    frame: Any,
    *,
    outcome: str,
    clinical: list[Term],
    features: list[str] | None = None,
    name: str = "nomogram",
    feature_settings: dict[str, Any] | None = None,
    lasso: bool = True,
    rule: str = "1se",
    folds: int = 5,
    seed: int = 0,
    threshold: float | str = 0.5,
    missing: str = "error",
    id_column: str | None = None,
    source: str | PathLike[str] | None = None,
    demonstration: bool = False,
    created: str | None = None,
) -> dict[str, Any]:
    """Fit the pipeline on a training table; returns the model document (see model_file)."""
    exclude = [outcome, id_column or ""] + [t.column for t in clinical]
    features = list(features) if features is not None else default_feature_columns(frame, exclude)
    feature_terms = [Term(f) for f in features]
    prepared = prepare_table(frame, feature_terms + list(clinical), columns=[outcome], source=source,
                             id_column=id_column, missing=missing)
    y = check_binary_outcome(prepared.columns[outcome], outcome, source, min_per_class=2)
    n = prepared.n_rows
    clin_names = [t.name for t in clinical]
    if len(set(clin_names)) != len(clin_names):
        raise ModelInputError(source, f"clinical terms repeated: {clin_names}")
    Xc = prepared.matrix(clin_names)
    training: dict[str, Any] = {
        "table": str(Path(source).name) if source is not None else None,
        "n": n, "n_events": int(y.sum()), "prevalence": float(y.mean()),
        "outcome": outcome, "missing_values": prepared.missing,
        "clinical_terms": _summary_stats({k: prepared.terms[k] for k in clin_names}),
    }
    if source is not None and Path(source).is_file():
        from ..io.atomic import file_sha256

        training["table_sha256"] = file_sha256(source)
    radiomics = None
    radscore = None
    if features:
        Xf = prepared.matrix(features)
        if lasso:
            path = lasso_cv(Xf, y, features, folds=folds, rule=rule, seed=seed)
            if not path.selected:
                raise ModelFitError(f"the LASSO ({rule} rule) selected no radiomics feature: the Radscore would be "
                                    "constant; try --lambda-rule min, more rows, or other features")
            keep = [i for i, b in enumerate(path.coef) if b != 0]
            radiomics = {"features": [features[i] for i in keep], "mean": _r(path.standardiser.mean[keep]),
                         "sd": _r(path.standardiser.sd[keep]), "coef": _r(path.coef[keep]),
                         "intercept": _r(path.intercept), "selection": "lasso", "lasso": path.summary(),
                         "cv_path": {"lambda": _r(path.lambdas, 6), "cv_deviance": _r(path.cv_mean, 6),
                                     "cv_se": _r(path.cv_se, 6), "n_nonzero": path.n_nonzero.tolist()}}
        else:
            if Xf.shape[1] + len(clin_names) + 1 >= n:
                raise ModelInputError(source, f"{Xf.shape[1]} features and {len(clin_names)} clinical terms for {n} "
                                      "rows without regularisation: more parameters than patients cannot be "
                                      "estimated; use the LASSO (the default) or fewer features")
            st = Standardiser.fit(Xf, features)
            fit = fit_logistic(st.transform(Xf), y, features)
            radiomics = {"features": features, "mean": _r(st.mean), "sd": _r(st.sd), "coef": _r(fit.coef[1:]),
                         "intercept": _r(fit.coef[0]), "selection": "none (unpenalised logistic on all features)"}
        radscore = _radscore(radiomics, prepared.matrix(radiomics["features"]))
        training["n_candidate_features"] = len(features)
    if radscore is None and not clinical:
        raise ModelInputError(source, "no radiomics features and no clinical terms: nothing to fit")
    names = (["radscore"] if radscore is not None else []) + clin_names
    X = np.column_stack(([radscore] if radscore is not None else []) + [Xc[:, j] for j in range(Xc.shape[1])])
    combined = fit_logistic(X, y, names)
    comparisons: dict[str, Any] = {}
    if radscore is not None and clinical:
        rfit = fit_logistic(radscore[:, None], y, ["radscore"])
        comparisons["radscore"] = {"names": rfit.names, "coef": _r(rfit.coef)}
        cfit = fit_logistic(Xc, y, clin_names)
        comparisons["clinical"] = {"names": cfit.names, "coef": _r(cfit.coef)}
    prob = combined.predict(X)
    if threshold == "youden":
        thr = {"value": metrics.youden_threshold(y, prob), "chosen_by": "Youden index on the training rows"}
    else:
        thr = {"value": float(threshold), "chosen_by": "stated by the user" if threshold != 0.5 else "default 0.5"}
    if not 0 < thr["value"] < 1:
        raise ModelInputError(None, f"threshold {thr['value']} must lie strictly between 0 and 1")
    model = {
        "outcome": outcome,
        "radiomics": radiomics,
        "clinical_terms": [t.to_json() for t in clinical],
        "logistic": {"names": combined.names, "coef": _r(combined.coef), "se": _r(combined.se),
                     "cov": [_r(row) for row in combined.cov], "table": combined.table()},
        "threshold": {"value": _r(thr["value"]), "chosen_by": thr["chosen_by"]},
        "points": _points(combined.coef[1:], names, X),
        "comparison_models": comparisons,
    }
    doc = new_model_doc("logistic_nomogram", name, model, training, demonstration=demonstration,
                        feature_settings=feature_settings, created=created)
    preds = predict_nomogram(doc, frame, source=source, id_column=id_column, missing=missing)
    training["apparent"] = {k: metrics.auc_ci(y, v) for k, v in preds["models"].items()}
    training["apparent"]["note"] = "apparent (training-set) performance: optimistic; see 'validation'"
    return doc


def _radscore(radiomics: dict[str, Any], X: np.ndarray) -> np.ndarray:
    z = (X - np.asarray(radiomics["mean"])) / np.asarray(radiomics["sd"])
    return float(radiomics["intercept"]) + z @ np.asarray(radiomics["coef"])


def _model_terms(model: dict[str, Any]) -> list[Term]:
    m = model["model"]
    terms = [Term.from_json(t) for t in m["clinical_terms"]]
    if m["radiomics"] is not None:
        terms = [Term(f) for f in m["radiomics"]["features"]] + terms
    return terms


def predict_nomogram(model: dict[str, Any], frame: Any, *, source: Any = None, id_column: str | None = None,
                     missing: str = "error", with_outcome: bool = False) -> dict[str, Any]:
    """Predicted probabilities of the combined (and comparison) models for every row."""
    m = model["model"]
    columns = [m["outcome"]] if with_outcome else []
    impute = None
    if missing == "median":
        impute = {k: v["value"] for k, v in model["training"].get("missing_values", {}).get("imputed", {}).items()}
    prepared = prepare_table(frame, _model_terms(model), columns=columns, source=source, id_column=id_column,
                             missing=missing, impute_values=impute)
    clin = [t["name"] for t in m["clinical_terms"]]
    values = dict(prepared.terms)
    if m["radiomics"] is not None:
        values["radscore"] = _radscore(m["radiomics"], prepared.matrix(m["radiomics"]["features"]))

    def prob(spec: dict[str, Any]) -> np.ndarray:
        coef = np.asarray(spec["coef"])
        X = np.column_stack([values[name] for name in spec["names"][1:]])
        return special.expit(coef[0] + X @ coef[1:])

    out = {"models": {"combined": prob(m["logistic"])}, "kept_rows": prepared.kept_rows, "missing": prepared.missing}
    for key, spec in m["comparison_models"].items():
        out["models"][key] = prob(spec)
    if "radscore" in values:
        out["radscore"] = values["radscore"]
    if with_outcome:
        out["y"] = check_binary_outcome(prepared.columns[m["outcome"]], m["outcome"], source)
    return out


def evaluate_nomogram(model: dict[str, Any], frame: Any, *, source: Any = None, id_column: str | None = None,
                      missing: str = "error", hl_groups: int = 10) -> dict[str, Any]:
    """Validation metrics of a fitted nomogram on a table with the outcome column."""
    preds = predict_nomogram(model, frame, source=source, id_column=id_column, missing=missing, with_outcome=True)
    y = preds["y"]
    probs = preds["models"]
    threshold = float(model["model"]["threshold"]["value"])
    report: dict[str, Any] = {
        "model": model["name"], "label": model["label"], "disclaimer": model["disclaimer"],
        "table": str(Path(source).name) if source is not None else None,
        "n": int(y.size), "n_events": int(y.sum()), "prevalence": float(y.mean()),
        "missing_values": preds["missing"],
        "auc": {k: metrics.auc_ci(y, p) for k, p in probs.items()},
        "roc": {k: metrics.roc_points(y, p) for k, p in probs.items()},
    }
    keys = list(probs)
    report["delong"] = [dict(metrics.delong_test(y, probs[a], probs[b]), a=a, b=b)
                        for i, a in enumerate(keys) for b in keys[i + 1:]]
    report["at_threshold"] = {k: metrics.confusion_at(y, p, threshold) for k, p in probs.items()}
    report["threshold"] = model["model"]["threshold"]
    report["hosmer_lemeshow"] = metrics.hosmer_lemeshow(y, probs["combined"], groups=hl_groups)
    report["calibration"] = metrics.calibration_slope(y, probs["combined"])
    report["decision_curve"] = metrics.decision_curve(y, probs)
    report["clinical_impact"] = metrics.clinical_impact(y, probs["combined"])
    return report


def apply_nomogram(model: dict[str, Any], values: dict[str, Any], *, settings: dict[str, Any] | None = None,
                   settings_sha256: str | None = None, source: Any = None) -> dict[str, Any]:
    """Probability and nomogram points of one case; refuses features computed with other settings."""
    import pandas as pd

    notes = check_feature_settings(model, settings, settings_sha256)
    m = model["model"]
    frame = pd.DataFrame([{k: values.get(k) for k in {t.column for t in _model_terms(model)}}])
    prepared = prepare_table(frame, _model_terms(model), source=source)
    coef = np.asarray(m["logistic"]["coef"], dtype=float)
    names = m["logistic"]["names"]
    term_values = {k: float(v[0]) for k, v in prepared.terms.items()}
    if m["radiomics"] is not None:
        term_values["radscore"] = float(_radscore(m["radiomics"], prepared.matrix(m["radiomics"]["features"]))[0])
    per_logit = float(m["points"]["points_per_logit"])
    rows = []
    lp = float(coef[0])
    lp_zero = float(coef[0])
    for name, b in zip(names[1:], coef[1:]):
        lo, hi = m["points"]["ranges"][name]
        contribution = float(b * term_values[name])
        points = (contribution - lo) * per_logit
        lp += contribution
        lp_zero += lo
        row = {"term": name, "value": term_values[name], "coefficient": float(b), "logit_contribution": contribution,
               "points": points}
        if contribution < lo - 1e-9 or contribution > hi + 1e-9:
            row["note"] = "outside the range seen in the training cohort: extrapolation"
            notes.append(f"'{name}' is outside the training range (points {points:.1f})")
        rows.append(row)
    total = float(sum(r["points"] for r in rows))
    probability = float(special.expit(lp))
    threshold = float(m["threshold"]["value"])
    return {
        "model": model["name"], "label": model["label"], "disclaimer": model["disclaimer"],
        "outcome": m["outcome"], "probability": probability, "linear_predictor": lp,
        "intercept": float(coef[0]), "terms": rows, "total_points": total,
        "linear_predictor_at_zero_points": lp_zero, "points_per_logit": per_logit,
        "threshold": threshold, "above_threshold": probability >= threshold,
        "radscore": term_values.get("radscore"), "notes": notes,
        "basis": "multivariable logistic model: probability = 1 / (1 + exp(-(intercept + sum of coefficient x value)))",
    }


def validation_summary(report: dict[str, Any]) -> dict[str, Any]:
    """The numbers of an evaluation report worth keeping in a model file (no curves)."""
    dca = report["decision_curve"]
    keep = [i for i, t in enumerate(dca["thresholds"]) if round(t * 100) % 10 == 0]
    return {
        "table": report["table"], "n": report["n"], "n_events": report["n_events"],
        "prevalence": report["prevalence"], "missing_values": report["missing_values"],
        "auc": report["auc"], "delong": report["delong"], "threshold": report["threshold"],
        "at_threshold": report["at_threshold"],
        "hosmer_lemeshow": {k: report["hosmer_lemeshow"][k] for k in ("statistic", "dof", "p", "method")},
        "calibration": report["calibration"],
        "net_benefit": {"thresholds": [dca["thresholds"][i] for i in keep],
                        "models": {k: [v[i] for i in keep] for k, v in dca["models"].items()},
                        "treat_all": [dca["treat_all"][i] for i in keep]},
    }
