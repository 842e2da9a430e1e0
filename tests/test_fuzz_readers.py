"""Fuzzed readers keep their contract: a result, or a documented project error naming the file.

A small hypothesis-driven sample per reader runs here (the >= 10,000-input runs are in
benchmarks/bench_reliability.py), plus every input of the regression corpus
(tests/fuzz_corpus/), which holds each crash the fuzzer ever found.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fuzz_targets as ft

SYNTHETIC = ("dicom_synthetic", "nifti", "nrrd", "case_folder", "model_file")


@pytest.fixture(scope="module")
def synthetic_targets() -> dict[str, ft.Target]:
    return ft.targets()


def _check(target: ft.Target, files: ft.Files, label: str) -> None:
    outcome = ft.run_files(target, files)
    assert outcome.kind != "failure", f"{label}: {outcome.error}\n{outcome.detail}"


def test_seeds_are_valid_inputs(synthetic_targets: dict[str, ft.Target]) -> None:
    for name, target in synthetic_targets.items():
        for seed in target.seeds:
            assert ft.run_files(target, seed).kind == "ok", name


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("name", SYNTHETIC)
@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(index=st.integers(min_value=0, max_value=2**31))
def test_mutated_inputs_raise_only_project_errors(synthetic_targets: dict[str, ft.Target], name: str,
                                                  index: int) -> None:
    target = synthetic_targets[name]
    _check(target, target.make(index), f"{name} input {index}")


@pytest.mark.filterwarnings("ignore")
@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(index=st.integers(min_value=0, max_value=2**31))
def test_mutated_real_series_raises_only_project_errors(shared_data: Path, index: int) -> None:
    target = ft.targets(shared_data)["dicom_real"]
    _check(target, target.make(index), f"dicom_real input {index}")


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("entry", ft.corpus_entries(), ids=lambda e: f"{e[0]}/{e[1]}")
def test_regression_corpus(entry: tuple[str, str, Path], request: pytest.FixtureRequest) -> None:
    name, _, path = entry
    shared = request.getfixturevalue("shared_data") if name == "dicom_real" else None
    target = ft.targets(shared)[name]
    _check(target, ft.load_entry(path, target), f"corpus {name}/{path.name}")


def test_corpus_inputs_are_small() -> None:
    for path in ft.CORPUS_DIR.rglob("*"):
        if path.is_file():
            assert path.stat().st_size < ft.CORPUS_MAX_BYTES, path


# ---------------------------------------------------------------- explicit regressions of fixed crashes
def test_nrrd_detached_data_file_outside_its_folder_is_refused(tmp_path: Path) -> None:
    from napari_spine_mets.errors import CorruptFileError
    from napari_spine_mets.io.nrrd import read_nrrd

    for target in ("/dev/stdin", "../secret.raw", "/etc/hostname"):
        path = tmp_path / "image.nhdr"
        path.write_text(f"NRRD0004\ntype: uchar\ndimension: 3\nsizes: 2 2 2\nencoding: raw\n"
                        f"space: left-posterior-superior\ndata file: {target}\n\n")
        with pytest.raises(CorruptFileError, match="data file"):
            read_nrrd(path)


def test_model_file_with_an_integer_beyond_float_range_is_refused(tmp_path: Path) -> None:
    import json

    import napari_spine_mets.models as models
    from napari_spine_mets.models.errors import ModelFileError
    from napari_spine_mets.models.model_file import load_model

    doc = json.loads((Path(models.__file__).parent / "demo" / "demo_survival.json").read_text())
    doc["model"]["coef"][0] = 10**400
    path = tmp_path / "m.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match="finite"):
        load_model(path)


def test_dicom_number_of_frames_beyond_reason_is_skipped_not_listed(tmp_path: Path) -> None:
    import time

    import pydicom

    import dicom_factory as factory
    from napari_spine_mets.io.dicom_scan import scan_dicom

    paths = factory.write_series(tmp_path, n=3)
    ds = pydicom.dcmread(paths[0])
    ds.NumberOfFrames = 2**31
    ds.save_as(paths[0])
    started = time.perf_counter()
    scan = scan_dicom(tmp_path)
    assert time.perf_counter() - started < 5
    assert [s.path for s in scan.skipped] == [paths[0]] and "NumberOfFrames" in scan.skipped[0].reason
