"""Bad cohort input is reported completely, before any work; the run/cohort commands end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from napari_spine_mets.cli import main
from napari_spine_mets.cohort.manifest import ManifestError, load_manifest

from test_cohort_helpers import ensure_cohort


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_every_problem_is_listed_in_one_report(tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        (tmp_path / name).mkdir()
    manifest = _write(tmp_path / "m.csv", (
        "study_id,path,labels,age_years,alp_u_per_l,centre\n"
        "s1,a,,61,120,Lyon\n"
        "s1,b,,70,95,Lyon\n"            # duplicate ID
        "s3,missing_dir,nolabels.nii.gz,55,abc,Paris\n"  # missing image and labels, non-numeric ALP
        "s4,c,,seventy,80,Paris\n"      # non-numeric age
        "S3,a,,150,80,Nice\n"           # duplicate ID (case-insensitive), image listed twice, age out of range
    ))
    with pytest.raises(ManifestError) as info:
        load_manifest(manifest)
    text = str(info.value)
    problems = info.value.problems
    assert "nothing was run" in text
    assert any("duplicate study ID 's1'" in p for p in problems)
    assert any("duplicate study ID 's3'" in p for p in problems)
    assert any("path 'missing_dir' does not exist" in p for p in problems)
    assert any("labels 'nolabels.nii.gz' does not exist" in p for p in problems)
    assert any("'alp_u_per_l': not a number" in p and "'abc'" in p for p in problems)
    assert any("'age_years': not a number" in p and "'seventy'" in p for p in problems)
    assert any("'age_years': outside" in p and "150" in p for p in problems)
    assert any("same image" in p for p in problems)
    assert not any("centre" in p for p in problems)  # a text column (no numbers in it) is allowed


def test_text_and_missing_values(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    manifest = load_manifest(_write(tmp_path / "m.csv", "path,age_years,sex,centre\na,61,male,X\nb,NA,female,Y\n"))
    assert [s.study_id for s in manifest.studies] == ["a", "b"]
    assert manifest.numeric_columns == ["age_years"] and manifest.text_columns == ["sex", "centre"]
    assert manifest.studies[1].clinical["age_years"] != manifest.studies[1].clinical["age_years"]  # NaN


def test_unusable_inputs(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="no 'path' column"):
        load_manifest(_write(tmp_path / "m.csv", "study,age\nx,1\n"))
    with pytest.raises(ManifestError, match="no such file"):
        load_manifest(tmp_path / "absent.csv")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ManifestError, match="no study sub-folders"):
        load_manifest(tmp_path / "empty")
    (tmp_path / "x").mkdir()
    with pytest.raises(ManifestError, match="unusable as a folder name"):
        load_manifest(_write(tmp_path / "n.csv", "study_id,path\n../evil,x\n"))


def test_cohort_command_refuses_a_bad_manifest_before_any_work(tmp_path: Path, capsys) -> None:
    (tmp_path / "a").mkdir()
    manifest = _write(tmp_path / "m.csv", "study_id,path,age_years\ns1,a,61\ns1,gone,x\n")
    out = tmp_path / "out"
    assert main(["cohort", str(manifest), "--out", str(out), "--workers", "1"]) == 2
    err = capsys.readouterr().err
    assert "3 problem(s)" in err and "duplicate study ID" in err and "not a number" in err and "gone" in err
    assert not out.exists()  # no cluster, no folder, nothing


def test_run_and_cohort_commands(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, capsys) -> None:
    pytest.importorskip("distributed")
    base = tmp_path_factory.getbasetemp() / "cohort_inputs"
    ensure_cohort(base)
    settings = _write(tmp_path / "fast.json", json.dumps({"features": {"firstorder": None, "shape": None}}))
    assert main(["run", str(base / "study01"), "--out", str(tmp_path / "case"), "--radiomics-settings",
                 str(settings), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["status"] == "done" and [r["level"] for r in doc["rows"]] == ["L1", "L2"]
    assert (tmp_path / "case" / "pipeline_done.json").is_file()
    assert main(["run", str(base / "study01"), "--out", str(tmp_path / "case"), "--radiomics-settings",
                 str(settings), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "skipped"
    # A folder of studies (no clinical columns), one worker process, no dashboard.
    folder = tmp_path / "two"
    folder.mkdir()
    for sid in ("study02", "study07"):  # study07 is the corrupt one
        (folder / sid).symlink_to(base / sid, target_is_directory=True)
    assert main(["cohort", str(folder), "--check"]) == 0
    assert "2 studies" in capsys.readouterr().out
    code = main(["cohort", str(folder), "--out", str(tmp_path / "out"), "--workers", "1", "--dashboard", "none",
                 "--radiomics-settings", str(settings), "--json"])
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert code == 1  # finished, with a failed study
    assert (report["done"], report["failed"]) == (1, 1)
    assert "study07: failed" in captured.err
    assert (tmp_path / "out" / "cohort.parquet").is_file() and (tmp_path / "out" / "errors.csv").is_file()


def test_study_folders_stay_inside_the_output(tmp_path) -> None:
    """A study ID from a manifest can never name a folder outside the cohort output."""
    from napari_spine_mets.cohort.runner import study_dir

    for hostile in ("../../etc", "/abs/path", "CON", "a/../../b", ".."):
        folder = study_dir(tmp_path, hostile)
        assert folder.resolve().parent == (tmp_path / "studies").resolve(), (hostile, folder)


def test_segmentation_precision_is_float32_unless_asked_and_then_part_of_the_hash() -> None:
    from napari_spine_mets.cohort.settings import PipelineSettings

    default = PipelineSettings()
    # float32 is what every earlier study ran: their hashes stay valid
    assert "precision" not in default.value_dict() and default.precision == "float32"
    assert PipelineSettings(device="cuda").settings_hash() == default.settings_hash()  # where, not what
    faster = PipelineSettings(precision="bfloat16")
    assert faster.settings_hash() != default.settings_hash() and faster.to_json()["precision"] == "bfloat16"
    with pytest.raises(ValueError, match="precision must be one of"):
        PipelineSettings(precision="int8")
