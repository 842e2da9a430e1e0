"""Issue 8's check: 20 synthetic studies (one corrupt) on a LocalCluster of 2 worker processes.

19 result sets and 1 recorded error; the table reads back with the nomogram reader; a
rerun resumes from the completion markers without recomputing anything.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from test_cohort_helpers import CORRUPT, N_STUDIES, ensure_cohort, fast_settings, local_client

pytest.importorskip("distributed")
pytest.importorskip("pyarrow")


@pytest.fixture(scope="module")
def cohort_run(tmp_path_factory: pytest.TempPathFactory):
    from napari_spine_mets.cohort.manifest import load_manifest
    from napari_spine_mets.cohort.runner import run_cohort

    manifest_path = ensure_cohort(tmp_path_factory.getbasetemp() / "cohort_inputs")
    manifest = load_manifest(manifest_path)
    out = tmp_path_factory.mktemp("cohort_out")
    client, cluster = local_client(2)
    try:
        seen: list[str] = []
        report = run_cohort(manifest, out, fast_settings(), client=client,
                            on_result=lambda done, total, r: seen.append(r.study_id))
        markers = {p.parent.name: p.stat().st_mtime_ns for p in (out / "studies").glob("*/pipeline_done.json")}
        cases = {p.parent.name: p.stat().st_mtime_ns for p in (out / "studies").glob("*/case.json")}
        again = run_cohort(manifest, out, fast_settings(), client=client)
        yield {"manifest": manifest, "out": out, "report": report, "again": again, "seen": seen,
               "markers": markers, "cases": cases}
    finally:
        client.close()
        cluster.close()


def test_19_result_sets_and_1_recorded_error(cohort_run) -> None:
    report = cohort_run["report"]
    assert report.count("done") == N_STUDIES - 1
    assert report.count("failed") == 1
    assert report.n_workers == 2
    (failed,) = [r for r in report.results if r.status == "failed"]
    assert failed.study_id == CORRUPT
    assert failed.failed_step == "load" and failed.error_type and failed.error_message
    assert sorted(cohort_run["seen"]) == sorted(cohort_run["manifest"].studies[i].study_id for i in range(N_STUDIES))
    import pandas as pd

    errors = pd.read_csv(cohort_run["out"] / "errors.csv")
    assert errors["study_id"].tolist() == [CORRUPT]
    assert errors["error_type"].iloc[0] == failed.error_type
    assert pd.read_parquet(cohort_run["out"] / "errors.parquet")["study_id"].tolist() == [CORRUPT]


def test_table_has_one_row_per_vertebral_body_with_features_hu_scores_and_clinical(cohort_run) -> None:
    import pandas as pd

    from napari_spine_mets.models.table import parse_term, prepare_table, read_table, table_feature_settings

    out = cohort_run["out"]
    table = read_table(out / "cohort.csv")
    bodies = table[table["roi_kind"] == "vertebral_body"]
    assert len(bodies) == 2 * (N_STUDIES - 1)  # L1 and L2 of each readable study
    # these studies have no lesions: at most a stray low-confidence detection (the lesion benchmark measures the rate)
    assert (table["roi_kind"] != "vertebral_body").sum() <= 1
    assert CORRUPT not in set(table["study_id"])
    assert list(table["study_id"]) == sorted(table["study_id"])  # deterministic order
    assert set(table["level"]) == {"L1", "L2"}
    assert {"hu_mean", "hu_band", "original_firstorder_Mean", "original_shape_MeshVolume",
            "age_years", "alp_u_per_l", "centre", "outcome", "label_source"} <= set(table.columns)
    assert (table["label_source"] == "given:vertebrae.nii.gz").all()
    assert bodies["hu_mean"].between(50, 300).all()
    row = table[table["study_id"] == "study03"].iloc[0]
    assert row["age_years"] == 53 and row["alp_u_per_l"] == 80 + 21
    # The nomogram commands' reader accepts it: settings sidecar and hash column agree.
    settings = table_feature_settings(out / "cohort.csv", table)
    assert settings is not None and settings["features"] == {"firstorder": None, "shape": None}
    prepared = prepare_table(table, [parse_term("original_firstorder_Mean"), parse_term("age_years>60")],
                             columns=["outcome"], source=out / "cohort.csv", id_column="study_id")
    assert prepared.n_rows == len(table)
    parquet = pd.read_parquet(out / "cohort.parquet")
    assert list(parquet.columns) == list(table.columns)
    assert parquet["original_firstorder_Mean"].tolist() == pytest.approx(table["original_firstorder_Mean"].tolist(),
                                                                          rel=1e-12)


def test_each_study_has_a_case_folder_with_provenance(cohort_run) -> None:
    from napari_spine_mets.case_store import load_case

    case = load_case(cohort_run["out"] / "studies" / "study02")
    steps = {s.name: s.parameters for s in case.provenance.steps}
    assert {"load", "vertebrae", "lesions", "trabecular_hu", "radiomics", "scores"} <= set(steps)
    assert steps["vertebrae"]["source"] == "given"
    assert steps["lesions"]["source"] == "detected" and isinstance(steps["lesions"]["count"], int)
    assert steps["radiomics"]["feature_settings_sha256"] == fast_settings().feature_settings_hash()
    assert steps["radiomics"]["pipeline_settings_sha256"] == fast_settings().settings_hash()
    assert case.clinical.age_years == 52 and case.clinical.extras["centre"] == "B"
    assert "radiomics_rois" in case.label_maps
    # lesion records (as the Lesions dock keeps them) and every score the entries allow, for the report
    assert len(case.lesions) == steps["lesions"]["count"] and all(les.level for les in case.lesions)
    findings = {f.name for f in case.findings}
    assert "trabecular_hu" in findings and any("tokuhashi" in name.lower() for name in findings)
    assert (cohort_run["out"] / "studies" / "study02" / "report" / "report.pdf").is_file()


def test_rerun_resumes_without_recomputing(cohort_run) -> None:
    again, out = cohort_run["again"], cohort_run["out"]
    assert again.count("skipped") == N_STUDIES - 1
    assert again.count("done") == 0
    assert again.count("failed") == 1  # the corrupt study is tried again and fails again
    assert {p.parent.name: p.stat().st_mtime_ns for p in (out / "studies").glob("*/pipeline_done.json")} \
        == cohort_run["markers"]
    assert {p.parent.name: p.stat().st_mtime_ns for p in (out / "studies").glob("*/case.json")} == cohort_run["cases"]
    import pandas as pd

    table = pd.read_parquet(out / "cohort.parquet")  # rewritten by the rerun from the stored rows
    assert (table["roi_kind"] == "vertebral_body").sum() == 2 * (N_STUDIES - 1)
    summary = json.loads((out / "run.json").read_text())  # the latest run
    assert (summary["done"], summary["skipped"], summary["failed"]) == (0, N_STUDIES - 1, 1)


def test_changed_settings_invalidate_the_marker(cohort_run) -> None:
    from napari_spine_mets.cohort.resume import finished_rows

    study = next(s for s in cohort_run["manifest"].studies if s.study_id == "study01")
    folder = cohort_run["out"] / "studies" / "study01"
    assert finished_rows(folder, study, fast_settings().settings_hash()) is not None
    assert finished_rows(folder, study, fast_settings(min_lesion_voxels=99).settings_hash()) is None
    changed = type(study)(study.study_id, study.path, study.labels, study.parts, study.lesions,
                          {**study.clinical, "age_years": 99.0})
    assert finished_rows(folder, changed, fast_settings().settings_hash()) is None
    assert math.isfinite(float(json.loads((folder / "pipeline_rows.json").read_text())[0]["hu_mean"]))
