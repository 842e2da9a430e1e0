"""No patient name, ID or birth date in any log record or error message of a full run.

The run: scan and read a DICOM series carrying identifying tags, hit the reader's error
paths on it, save the case (identity.json is the one place identifiers are meant to
be) and load it back, and run ``spine-mets info`` (table and JSON), all with every
logger at DEBUG.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

import dicom_factory as factory
from napari_spine_mets.case import Case
from napari_spine_mets.case_store import load_case, save_case
from napari_spine_mets.cli import main
from napari_spine_mets.errors import SpineMetsError
from napari_spine_mets.io.dicom import read_dicom_series

PHI = (factory.PHI_NAME, "Doe", "Janet", factory.PHI_ID, "4711", factory.PHI_BIRTH, "1955-01-02")


def _leaks(text: str) -> list[str]:
    return [value for value in PHI if value.lower() in text.lower()]


def test_full_run_logs_no_identifiers(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="napari_spine_mets")
    series = tmp_path / "series"
    factory.write_series(series, n=6)
    messages: list[str] = []

    volume = read_dicom_series(series)
    assert volume.metadata.identity.name == factory.PHI_NAME  # kept in memory, for export
    assert not _leaks(repr(volume)) and not _leaks(repr(volume.metadata))

    # error paths on identifying data
    try:
        read_dicom_series(series, series="nope")
    except SpineMetsError as exc:
        messages.append(str(exc))
    factory.write_series(tmp_path / "mr", modality="MR", n=4)
    try:
        read_dicom_series(tmp_path / "mr", require_ct_hu=True)
    except SpineMetsError as exc:
        messages.append(str(exc))
    broken = tmp_path / "broken"
    shutil.copytree(series, broken)
    first = sorted(broken.iterdir())[0]
    first.write_bytes(first.read_bytes()[:-200])
    try:
        read_dicom_series(broken)
    except SpineMetsError as exc:
        messages.append(str(exc))
    assert len(messages) >= 3

    save_case(Case(volumes={"ct": volume}, case_id="phi-test"), tmp_path / "case")
    loaded = load_case(tmp_path / "case")
    assert loaded.volumes["ct"].metadata.identity.patient_id == factory.PHI_ID
    assert _leaks((tmp_path / "case" / "identity.json").read_text())  # the one place they belong
    assert not _leaks((tmp_path / "case" / "case.json").read_text())

    assert main(["-v", "info", str(tmp_path)]) == 0
    assert main(["-v", "info", "--json", str(series)]) == 0
    assert main(["-v", "info", str(tmp_path / "missing")]) != 0
    out = capsys.readouterr()

    records = [f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records]
    assert len(records) > 5
    leaked = {text: _leaks(text) for text in records + messages + [out.out, out.err] if _leaks(text)}
    assert leaked == {}
