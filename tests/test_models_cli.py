"""spine-mets nomogram / survival: fit -> evaluate (PNG, SVG, JSON) -> apply."""

from __future__ import annotations

import json

import pytest

from napari_spine_mets.cli import main
from napari_spine_mets.models.synthetic_cohort import cox_cohort, logistic_cohort


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cohort")
    train, _ = logistic_cohort(160, seed=51)
    valid, _ = logistic_cohort(120, seed=52)
    train.to_csv(folder / "train.csv", index=False)
    valid.to_csv(folder / "valid.csv", index=False)
    settings = json.dumps({"bin_width": 25})
    for name in ("train", "valid", "case"):
        (folder / f"{name}.settings.json").write_text(settings)
    valid.iloc[[0]].to_csv(folder / "case.csv", index=False)
    surv, _ = cox_cohort(200, seed=53)
    surv.to_csv(folder / "surv.csv", index=False)
    surv.iloc[[0]].to_json(folder / "scase.json", orient="records", lines=False)
    return folder


def test_nomogram_fit_evaluate_apply(tables, capsys) -> None:
    model = tables / "model.json"
    rc = main(["nomogram", "fit", str(tables / "train.csv"), "--outcome", "outcome", "--clinical", "age_years>60",
               "alp_u_per_l>120", "--exclude", "ca125_u_per_ml", "posterior_involvement", "--id-column", "lesion_id",
               "--out", str(model)])
    out = capsys.readouterr().out
    assert rc == 0 and model.is_file()
    assert "Radscore:" in out and "age_years>60" in out and "apparent AUC" in out
    rc = main(["nomogram", "evaluate", str(model), str(tables / "valid.csv"), "--out", str(tables / "ev"),
               "--id-column", "lesion_id", "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert rc == 0
    for stem in ("roc", "calibration", "decision_curve", "clinical_impact"):
        assert (tables / "ev" / f"{stem}.png").stat().st_size > 10_000
        assert (tables / "ev" / f"{stem}.svg").read_text().startswith("<?xml")
    metrics = json.loads((tables / "ev" / "metrics.json").read_text())
    assert set(metrics["auc"]) == {"combined", "radscore", "clinical"}
    assert len(metrics["delong"]) == 3 and metrics["hosmer_lemeshow"]["dof"] == 8
    assert summary["auc"]["combined"]["auc"] == metrics["auc"]["combined"]["auc"]
    validated = json.loads((tables / "ev" / "model_with_validation.json").read_text())
    assert validated["validation"]["auc"]["combined"]["auc"] == pytest.approx(metrics["auc"]["combined"]["auc"])
    rc = main(["nomogram", "apply", str(model), str(tables / "case.csv"), "--json"])
    result = json.loads(capsys.readouterr().out)
    assert rc == 0 and 0 < result["probability"] < 1
    assert [t["term"] for t in result["terms"]] == ["radscore", "age_years>60", "alp_u_per_l>120"]


def test_apply_refuses_other_settings_and_reports_one_line(tables, capsys) -> None:
    model = tables / "model.json"
    if not model.exists():
        pytest.skip("needs the fitted model of the previous test")
    (tables / "case.settings.json").write_text(json.dumps({"bin_width": 10}))
    try:
        rc = main(["nomogram", "apply", str(model), str(tables / "case.csv")])
    finally:
        (tables / "case.settings.json").write_text(json.dumps({"bin_width": 25}))
    err = capsys.readouterr().err
    assert rc == 2 and "different settings" in err and "bin_width: model 25, case 10" in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_demo_model_apply_shows_label_on_a_case_folder(tmp_path, capsys) -> None:
    from napari_spine_mets.case import Case
    from napari_spine_mets.case_parts import ClinicalEntries, Roi
    from napari_spine_mets.case_store import save_case
    from napari_spine_mets.models.demo import DEMO_FEATURE_SETTINGS, DEMO_NOMOGRAM

    row = logistic_cohort(3, seed=54)[0].iloc[0]
    demo = json.loads(DEMO_NOMOGRAM.read_text())
    features = {f: float(row[f]) for f in demo["model"]["radiomics"]["features"]}
    case = Case(clinical=ClinicalEntries(age_years=float(row["age_years"]), alp_u_per_l=float(row["alp_u_per_l"])),
                rois=[Roi(id=1, measurements=features)])
    case.record_step("radiomics", parameters={"feature_settings": DEMO_FEATURE_SETTINGS})
    save_case(case, tmp_path / "case")
    rc = main(["nomogram", "apply", str(DEMO_NOMOGRAM), str(tmp_path / "case")])
    out = capsys.readouterr().out
    assert rc == 0
    assert "DEMONSTRATION — NOT FOR CLINICAL USE" in out and "nomogram points" in out


def test_survival_fit_evaluate_apply(tables, capsys) -> None:
    model = tables / "cox.json"
    rc = main(["survival", "fit", str(tables / "surv.csv"), "--time", "survival_months", "--event", "death",
               "--covariates", "age_years", "karnofsky", "visceral_metastases", "--bootstrap", "20", "--out", str(model)])
    assert rc == 0 and "HR" in capsys.readouterr().out
    rc = main(["survival", "evaluate", str(model), str(tables / "surv.csv"), "--out", str(tables / "sev"),
               "--bootstrap", "20"])
    out = capsys.readouterr().out
    assert rc == 0 and "time-dependent AUC at 12 months" in out
    assert (tables / "sev" / "survival_calibration.png").is_file() and (tables / "sev" / "survival_auc.svg").is_file()
    rc = main(["survival", "apply", str(model), str(tables / "scase.json"), "--json"])
    result = json.loads(capsys.readouterr().out)
    assert rc == 0 and set(result["survival_probability"]) == {"3_months", "6_months", "12_months"}


def test_bad_input_is_one_line_exit_2(tables, capsys) -> None:
    rc = main(["nomogram", "fit", str(tables / "train.csv"), "--outcome", "nope", "--out", str(tables / "x.json")])
    err = capsys.readouterr().err
    assert rc == 2 and "column(s) not in the table: nope" in err
    rc = main(["survival", "apply", str(tables / "model.json"), str(tables / "scase.json")])
    assert rc == 2
