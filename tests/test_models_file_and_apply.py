"""Model files (round trip, schema errors, settings-hash refusal) and applying a nomogram."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from scipy import special

from napari_spine_mets.models import DEMO_LABEL
from napari_spine_mets.models.demo import DEMO_FEATURE_SETTINGS, DEMO_NOMOGRAM, DEMO_SURVIVAL, load_demo
from napari_spine_mets.models.errors import ModelFileError, ModelSettingsMismatchError
from napari_spine_mets.models.model_file import SCHEMA_VERSION, load_model, save_model, settings_hash, validate_model
from napari_spine_mets.models.nomogram import apply_nomogram, fit_nomogram
from napari_spine_mets.models.synthetic_cohort import logistic_cohort
from napari_spine_mets.models.table import parse_term


@pytest.fixture(scope="module")
def model() -> dict:
    frame, _ = logistic_cohort(200, seed=21)
    return fit_nomogram(frame.drop(columns=["posterior_involvement"]), outcome="outcome",
                        clinical=[parse_term("age_years>60"), parse_term("ca125_u_per_ml")],
                        feature_settings={"bin_width": 25, "spacing": [1, 1, 1]}, id_column="lesion_id", name="t")


@pytest.fixture(scope="module")
def case_values() -> dict:
    frame, _ = logistic_cohort(5, seed=22)
    return frame.iloc[2].to_dict()


def test_round_trip(model: dict, tmp_path) -> None:
    path = save_model(model, tmp_path / "m.json")
    loaded = load_model(path)
    assert loaded["schema_version"] == SCHEMA_VERSION
    assert loaded["model"]["logistic"]["coef"] == pytest.approx(model["model"]["logistic"]["coef"])
    assert loaded["model"]["radiomics"]["features"] == model["model"]["radiomics"]["features"]
    text = path.read_text()
    assert "NaN" not in text and "pickle" not in text
    save_model(loaded, tmp_path / "again.json")
    assert (tmp_path / "again.json").read_text() == text


@pytest.mark.parametrize("edit, message", [
    (lambda d: d.update(schema_version=99), "unknown model schema_version 99.*newer"),
    (lambda d: d.update(schema="something"), "not a napari-spine-mets model file"),
    (lambda d: d.update(kind="random_forest"), "unknown model kind"),
    (lambda d: d.pop("training"), "missing 'training'"),
    (lambda d: d["model"]["logistic"]["coef"].pop(), "'model.logistic.coef' has"),
    (lambda d: d["model"]["radiomics"]["sd"].__setitem__(0, -1.0), "must be positive"),
    (lambda d: d["model"]["threshold"].update(value=1.5), "between 0 and 1"),
    (lambda d: d["feature_settings"].update(bin_width=5), "does not match 'feature_settings'"),
    (lambda d: d.update(demonstration=True), "must carry its label"),
    (lambda d: d["model"]["logistic"].update(names=["(intercept)", "x"]), "'model.logistic.names'"),
])
def test_schema_errors_are_specific(model: dict, tmp_path, edit, message) -> None:
    doc = copy.deepcopy(model)
    edit(doc)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match=message):
        load_model(path)


def test_not_json_and_missing_file(tmp_path) -> None:
    (tmp_path / "x.json").write_text("{not json")
    with pytest.raises(ModelFileError, match="not a JSON model file"):
        load_model(tmp_path / "x.json")
    with pytest.raises(ModelFileError, match="no such model file"):
        load_model(tmp_path / "absent.json")


def test_settings_mismatch_is_refused(model: dict, case_values: dict) -> None:
    good = {"bin_width": 25, "spacing": [1, 1, 1]}
    apply_nomogram(model, case_values, settings=good)
    apply_nomogram(model, case_values, settings_sha256=settings_hash(good))
    with pytest.raises(ModelSettingsMismatchError, match="bin_width: model 25, case 5"):
        apply_nomogram(model, case_values, settings={"bin_width": 5, "spacing": [1, 1, 1]})
    with pytest.raises(ModelSettingsMismatchError, match="different settings"):
        apply_nomogram(model, case_values, settings_sha256="0" * 64)
    with pytest.raises(ModelSettingsMismatchError, match="gives no feature settings"):
        apply_nomogram(model, case_values)


def test_points_breakdown_sums_to_the_linear_predictor(model: dict, case_values: dict) -> None:
    out = apply_nomogram(model, case_values, settings={"bin_width": 25, "spacing": [1, 1, 1]})
    lp = out["intercept"] + sum(t["logit_contribution"] for t in out["terms"])
    assert out["linear_predictor"] == pytest.approx(lp, abs=1e-12)
    assert out["linear_predictor_at_zero_points"] + out["total_points"] / out["points_per_logit"] == pytest.approx(lp)
    assert out["total_points"] == pytest.approx(sum(t["points"] for t in out["terms"]))
    assert out["probability"] == pytest.approx(special.expit(lp))
    # The Radscore is the LASSO linear predictor on the standardised features.
    rad = model["model"]["radiomics"]
    z = (np.array([case_values[f] for f in rad["features"]]) - rad["mean"]) / np.array(rad["sd"])
    assert out["radscore"] == pytest.approx(rad["intercept"] + z @ np.array(rad["coef"]))
    # Points lie on 0..100 for the widest term over training values.
    assert max(r[1] - r[0] for r in model["model"]["points"]["ranges"].values()) * out["points_per_logit"] == pytest.approx(100)


def test_demonstration_models_are_labelled_everywhere() -> None:
    for path in (DEMO_NOMOGRAM, DEMO_SURVIVAL):
        doc = load_model(path)
        assert doc["demonstration"] is True and doc["label"] == DEMO_LABEL
        assert "not for clinical use" in path.read_text(encoding="utf-8")
        assert path.stat().st_size < 100_000
    demo = load_demo("nomogram")
    frame, _ = logistic_cohort(3, seed=5)
    out = apply_nomogram(demo, frame.iloc[0].to_dict(), settings=DEMO_FEATURE_SETTINGS)
    assert out["label"] == DEMO_LABEL
    assert demo["validation"]["auc"]["combined"]["auc"] > 0.7


def test_demonstration_nomogram_is_rebuilt_identically() -> None:
    from napari_spine_mets.models.demo import build_demo_nomogram

    rebuilt = json.loads(json.dumps(build_demo_nomogram(), default=float))
    shipped = load_model(DEMO_NOMOGRAM)
    assert rebuilt["model"]["radiomics"]["features"] == shipped["model"]["radiomics"]["features"]
    np.testing.assert_allclose(rebuilt["model"]["logistic"]["coef"], shipped["model"]["logistic"]["coef"], rtol=1e-6)
    assert rebuilt["validation"]["auc"]["combined"]["auc"] == pytest.approx(shipped["validation"]["auc"]["combined"]["auc"])


def test_validate_model_accepts_the_shipped_files() -> None:
    validate_model(json.loads(DEMO_NOMOGRAM.read_text()))
    validate_model(json.loads(DEMO_SURVIVAL.read_text()))
