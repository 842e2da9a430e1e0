"""Cox models: hazard-ratio recovery, Harrell's C vs lifelines, time-dependent AUC, contributions."""

from __future__ import annotations

import numpy as np
import pytest

from napari_spine_mets.models.survival import (
    apply_cox, fit_cox, harrell_c, kaplan_meier, predict_cox, time_dependent_auc)
from napari_spine_mets.models.synthetic_cohort import cox_cohort
from napari_spine_mets.models.table import parse_term

COVARIATES = ["age_years", "karnofsky", "albumin_g_per_l", "visceral_metastases", "tumour_volume_ml"]


@pytest.fixture(scope="module")
def fitted():
    frame, truth = cox_cohort(2000, seed=31)
    model = fit_cox(frame, duration="survival_months", event="death", covariates=[parse_term(c) for c in COVARIATES],
                    n_boot=20, seed=0, id_column="patient_id")
    return frame, truth, model


def test_cox_recovers_generating_hazard_ratios_within_their_ci(fitted) -> None:
    _, truth, model = fitted
    for row in model["model"]["table"]:
        true = truth["log_hazard_ratios"][row["term"]]
        lo, hi = np.log(row["hr_ci95"])
        assert lo < true < hi, (row["term"], true, row["log_hr"], row["se"])
        assert abs(row["log_hr"] - true) < 2.5 * row["se"]


def test_c_index_equals_lifelines_with_ties() -> None:
    from lifelines.utils import concordance_index

    rng = np.random.default_rng(4)
    t = rng.integers(1, 20, 300).astype(float)  # many tied times
    e = rng.binomial(1, 0.6, 300)
    risk = np.round(rng.normal(size=300) - 0.05 * t, 1)  # tied risks
    assert harrell_c(t, e, risk) == pytest.approx(concordance_index(t, -risk, e), abs=1e-12)


def test_model_c_index_matches_lifelines(fitted) -> None:
    from lifelines.utils import concordance_index

    frame, _, model = fitted
    pred = predict_cox(model, frame, with_outcome=True)
    value = model["training"]["apparent"]["c_index"]["value"]
    assert value == pytest.approx(concordance_index(pred["time"], -pred["lp"], pred["event"]), abs=1e-12)


def test_survival_matches_lifelines_prediction_at_event_times(fitted) -> None:
    from lifelines import CoxPHFitter

    frame, _, model = fitted
    df = frame[COVARIATES + ["survival_months", "death"]]
    cph = CoxPHFitter().fit(df, "survival_months", "death")
    times = cph.baseline_cumulative_hazard_.index.to_numpy()[[50, 400, 900]]
    expected = cph.predict_survival_function(df.iloc[:5], times=times).to_numpy().T
    lp = predict_cox(model, frame.iloc[:5])["lp"]
    from napari_spine_mets.models.survival import _survival

    got = np.column_stack([_survival(model, lp, t) for t in times])
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_time_dependent_auc_perfect_and_random() -> None:
    rng = np.random.default_rng(5)
    t = rng.exponential(10, 1000)
    e = rng.binomial(1, 0.7, 1000)
    assert time_dependent_auc(t, e, -t, 6.0) == pytest.approx(1.0)  # earlier failure, higher risk
    random = [time_dependent_auc(t, e, rng.normal(size=1000), h) for h in (3.0, 6.0, 12.0)]
    assert all(abs(v - 0.5) < 0.06 for v in random), random
    assert time_dependent_auc(t, e, -t, 1e6) is None  # nobody event-free after the horizon


def test_time_dependent_auc_without_censoring_is_the_plain_auc() -> None:
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(6)
    t = rng.exponential(10, 400)
    risk = -t + rng.normal(0, 8, 400)
    e = np.ones(400, dtype=int)
    assert time_dependent_auc(t, e, risk, 6.0) == pytest.approx(roc_auc_score(t <= 6.0, risk))


def test_kaplan_meier_matches_lifelines() -> None:
    from lifelines import KaplanMeierFitter

    rng = np.random.default_rng(7)
    t = rng.integers(1, 30, 200).astype(float)
    e = rng.binomial(1, 0.6, 200)
    times, surv, _ = kaplan_meier(t, e)
    km = KaplanMeierFitter().fit(t, e)
    np.testing.assert_allclose(surv, km.survival_function_at_times(times).to_numpy(), rtol=1e-10)


def test_contributions_sum_to_the_linear_predictor(fitted) -> None:
    frame, _, model = fitted
    out = apply_cox(model, frame.iloc[3].to_dict())
    assert sum(r["log_hazard_contribution"] for r in out["contributions"]) == pytest.approx(out["linear_predictor"])
    lp = predict_cox(model, frame.iloc[[3]])["lp"][0]
    assert out["linear_predictor"] == pytest.approx(lp)
    s = out["survival_probability"]
    assert 1 >= s["3_months"] >= s["6_months"] >= s["12_months"] >= 0
    assert set(model["training"]["apparent"]["time_dependent_auc"]) == {"3_months", "6_months", "12_months"}
    for v in model["training"]["apparent"]["time_dependent_auc"].values():
        assert v["ci95"][0] <= v["value"] <= v["ci95"][1]
