"""Fixtures shared by the whole suite.

``shared_data`` is the one way tests find the real reference data in ``../shared/data``:
when it is missing the tests that need it skip locally, but *fail* under CI (CI=true),
so a CI run can never pass by silently skipping them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # noqa: ANN201
    """A failing test that used a real Orthanc shows that server's log (its associations) in the report."""
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    for name, value in getattr(item, "funcargs", {}).items():
        if callable(getattr(value, "log_tail", None)):
            report.sections.append((f"Orthanc log of fixture '{name}'", value.log_tail(6000)))


def shared_data_dir() -> Path | None:
    """Folder of the shared reference data, from $SPINE_METS_SHARED_DATA or ../shared/data."""
    env = os.environ.get("SPINE_METS_SHARED_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(REPO_ROOT.parent / "shared" / "data")
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    folder = shared_data_dir()
    if folder is None:
        message = "shared reference data not found at ../shared/data (or $SPINE_METS_SHARED_DATA)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " and CI=true: these tests must run in CI")
        pytest.skip(message)
    return folder


@pytest.fixture(scope="session")
def real_ct_series(shared_data: Path) -> Path:
    """The real 20-slice JPEG 2000 CT series."""
    path = shared_data / "ct-chest-abdomen-dicom" / "series"
    assert path.is_dir(), f"{path} is missing from the shared data"
    return path


@pytest.fixture(scope="session")
def real_ct_reference_labels(shared_data: Path) -> Path:
    """TotalSegmentator's label map of the real series (NIfTI, RAS)."""
    path = shared_data / "ct-chest-abdomen-dicom" / "reference-totalsegmentator.nii.gz"
    assert path.is_file(), f"{path} is missing from the shared data"
    return path
