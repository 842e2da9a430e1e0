"""Each bad input of the issue gives a specific message; nothing is imputed silently."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from napari_spine_mets.models.errors import ModelFitError, ModelInputError
from napari_spine_mets.models.logistic import fit_logistic
from napari_spine_mets.models.nomogram import fit_nomogram
from napari_spine_mets.models.survival import fit_cox
from napari_spine_mets.models.synthetic_cohort import cox_cohort, logistic_cohort
from napari_spine_mets.models.table import parse_term, prepare_table, read_table


@pytest.fixture()
def frame() -> pd.DataFrame:
    return logistic_cohort(150, seed=41)[0].drop(columns=["posterior_involvement"])


def _fit(frame: pd.DataFrame, **kw):
    kw.setdefault("clinical", [parse_term("age_years>60"), parse_term("alp_u_per_l")])
    return fit_nomogram(frame, outcome="outcome", id_column="lesion_id", **kw)


def test_missing_values_name_column_and_rows(frame) -> None:
    frame.loc[[3, 9], "alp_u_per_l"] = np.nan
    with pytest.raises(ModelInputError, match=r"column 'alp_u_per_l': missing value at rows 4 \(id S41-0004\), "
                                              r"10 \(id S41-0010\); nothing is imputed silently"):
        _fit(frame)


def test_explicit_missing_value_policies_are_recorded(frame) -> None:
    frame.loc[[3, 9], "alp_u_per_l"] = np.nan
    dropped = _fit(frame, missing="drop")
    assert dropped["training"]["missing_values"]["dropped_rows"] == [3, 9]
    assert dropped["training"]["n"] == 148
    filled = _fit(frame, missing="median")
    record = filled["training"]["missing_values"]["imputed"]["alp_u_per_l"]
    assert record["rows"] == [3, 9]
    assert record["value"] == pytest.approx(frame["alp_u_per_l"].median())


def test_negative_alp(frame) -> None:
    frame.loc[5, "alp_u_per_l"] = -12.0
    with pytest.raises(ModelInputError, match=r"column 'alp_u_per_l': out of range \(-12; expected at least 0 U/L\) "
                                              r"at row 6"):
        _fit(frame)


def test_karnofsky_130() -> None:
    df = cox_cohort(60, seed=2)[0]
    df.loc[7, "karnofsky"] = 130
    with pytest.raises(ModelInputError, match=r"'karnofsky': out of range \(130; expected 0 to 100 %"):
        fit_cox(df, duration="survival_months", event="death", covariates=[parse_term("karnofsky")])


def test_unknown_primary_site(frame) -> None:
    frame["primary_site"] = ["lung", "breast"] * 75
    frame.loc[11, "primary_site"] = "spleen"
    with pytest.raises(ModelInputError, match=r"unknown primary_site 'spleen' at row 12"):
        _fit(frame, clinical=[parse_term("primary_site=lung")])
    with pytest.raises(ModelInputError, match=r"unknown primary_site 'spleen'"):
        parse_term("primary_site=spleen")
    with pytest.raises(ModelInputError, match="categorical: use it as primary_site=LEVEL"):
        _fit(frame, clinical=[parse_term("primary_site")])


def test_single_class_outcome(frame) -> None:
    frame["outcome"] = 1
    with pytest.raises(ModelInputError, match=r"outcome 'outcome' has a single class \(all 150 rows are 1\)"):
        _fit(frame)


def test_outcome_not_binary(frame) -> None:
    frame.loc[0, "outcome"] = 2
    with pytest.raises(ModelInputError, match="must be 0 or 1; found 2"):
        _fit(frame)


def test_more_features_than_patients_without_regularisation() -> None:
    frame = logistic_cohort(20, seed=42)[0]
    with pytest.raises(ModelInputError, match="without regularisation: more parameters than patients"):
        _fit(frame, lasso=False, clinical=[])
    with pytest.raises(ModelInputError, match="fewer parameters than rows"):
        fit_logistic(np.random.default_rng(0).normal(size=(10, 12)), np.r_[np.zeros(5), np.ones(5)])


def test_non_numeric_and_infinite_values(frame) -> None:
    frame["age_years"] = frame["age_years"].astype(object)
    frame.loc[2, "age_years"] = "sixty"
    frame.loc[4, frame.columns[1]] = np.inf
    with pytest.raises(ModelInputError) as info:
        _fit(frame)
    assert "column 'age_years': not a number ('sixty') at row 3 (id S41-0003)" in str(info.value)
    assert f"column '{frame.columns[1]}': infinite value at row 5" in str(info.value)


def test_missing_column_lists_what_the_table_has(frame) -> None:
    with pytest.raises(ModelInputError, match="column\\(s\\) not in the table: ca125.*the table has: lesion_id"):
        _fit(frame, clinical=[parse_term("ca125")])


def test_bad_term_syntax() -> None:
    with pytest.raises(ModelInputError, match="cannot read the model term"):
        parse_term("age_years>")
    with pytest.raises(ModelInputError, match="'sixty' is not a number"):
        parse_term("age_years>sixty")


def test_duplicate_columns_and_empty_tables(tmp_path) -> None:
    (tmp_path / "dup.csv").write_text("a,b,a\n1,2,3\n")
    with pytest.raises(ModelInputError, match="duplicated column name\\(s\\): a"):
        read_table(tmp_path / "dup.csv")
    (tmp_path / "empty.csv").write_text("a,b\n")
    with pytest.raises(ModelInputError, match="no rows"):
        read_table(tmp_path / "empty.csv")
    with pytest.raises(ModelInputError, match="unknown table format"):
        (tmp_path / "t.xlsx").write_text("x")
        read_table(tmp_path / "t.xlsx")


def test_constant_feature_and_perfect_separation(frame) -> None:
    frame["t1_glcm_contrast"] = 3.0
    with pytest.raises(ModelInputError, match="constant feature\\(s\\) cannot be standardised: t1_glcm_contrast"):
        _fit(frame)
    x = np.arange(40.0)
    with pytest.raises(ModelFitError, match="separated"):
        fit_logistic(x[:, None], (x > 20).astype(float))


def test_survival_bad_times_and_events() -> None:
    df = cox_cohort(60, seed=3)[0]
    terms = [parse_term("age_years")]
    bad = df.copy()
    bad.loc[4, "survival_months"] = -1
    with pytest.raises(ModelInputError, match="survival times must be positive; rows 5"):
        fit_cox(bad, duration="survival_months", event="death", covariates=terms)
    bad = df.copy()
    bad["death"] = 0
    with pytest.raises(ModelInputError, match="has no events"):
        fit_cox(bad, duration="survival_months", event="death", covariates=terms)
    bad = df.copy()
    bad.loc[1, "death"] = 3
    with pytest.raises(ModelInputError, match="must be 1 \\(event\\) or 0 \\(censored\\); rows 2"):
        fit_cox(bad, duration="survival_months", event="death", covariates=terms)


def test_mixed_feature_settings_in_one_table(tmp_path) -> None:
    from napari_spine_mets.models.table import table_feature_settings

    frame = pd.DataFrame({"x": [1, 2], "feature_settings_sha256": ["a" * 64, "b" * 64]})
    with pytest.raises(ModelInputError, match="mixes 2 feature-settings hashes"):
        table_feature_settings(tmp_path / "t.csv", frame)


def test_prepare_table_never_imputes_by_default() -> None:
    df = pd.DataFrame({"a": [1.0, None, 3.0], "b": ["x", "NA", "2"]})
    with pytest.raises(ModelInputError) as info:
        prepare_table(df, [parse_term("a"), parse_term("b")])
    message = str(info.value)
    assert "column 'a': missing value at row 2" in message
    assert "column 'b': not a number ('x') at row 1" in message and "column 'b': missing value at row 2" in message
