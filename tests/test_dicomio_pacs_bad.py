"""Bad input for PACS work: down, silent, rejected, no CT, partial retrieval, bad settings."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

import pytest

pytest.importorskip("pynetdicom")

import dicomio_fixtures as fx  # noqa: E402
from orthanc_server import ORTHANC_AET, SCU_AET, OrthancServer, free_port, orthanc_binary  # noqa: E402

from napari_spine_mets.dicomio import pacs  # noqa: E402
from napari_spine_mets.dicomio.errors import (  # noqa: E402
    AssociationRejectedError,
    NoMatchingSeriesError,
    PacsConfigError,
    PacsError,
    PacsTimeoutError,
    PacsUnreachableError,
    RetrievalIncompleteError,
)
from napari_spine_mets.dicomio.pacs_config import PacsConfig, load_config, save_config  # noqa: E402
from napari_spine_mets.dicomio.pacs_retrieve import retrieve_study  # noqa: E402


def _config(port: int, **kw: object) -> PacsConfig:
    # A generous timeout: a healthy server answers (or rejects) at once, and a loaded CI machine
    # must not turn a rejection into a timeout. The silent-server test sets its own short one.
    base = dict(host="127.0.0.1", port=port, called_aet=ORTHANC_AET, calling_aet=SCU_AET, timeout_s=20)
    return PacsConfig(**{**base, **kw})  # type: ignore[arg-type]


def _nothing_left(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir()] if folder.exists() else []


def test_pacs_down_is_connection_refused(tmp_path: Path) -> None:
    config = _config(free_port())
    with pytest.raises(PacsUnreachableError, match="connection refused.*not running"):
        pacs.echo(config)
    with pytest.raises(PacsUnreachableError):
        retrieve_study(config, "1.2.3", tmp_path / "study")
    assert _nothing_left(tmp_path) == []


def test_silent_pacs_times_out() -> None:
    with socket.socket() as listener:  # accepts TCP but never answers DICOM
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        config = _config(listener.getsockname()[1], timeout_s=1)
        with pytest.raises(PacsTimeoutError, match="within 1 s"):
            pacs.echo(config)


def test_pacs_that_hangs_up_is_told_apart_from_a_silent_one() -> None:
    with socket.socket() as listener:  # accepts TCP, then closes each connection without a word
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        stop = threading.Event()

        def hang_up() -> None:
            listener.settimeout(0.2)
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                except OSError:
                    continue
                conn.close()

        worker = threading.Thread(target=hang_up, daemon=True)
        worker.start()
        try:
            with pytest.raises(AssociationRejectedError, match="closed the connection without answering"):
                pacs.echo(_config(listener.getsockname()[1]))
        finally:
            stop.set()
            worker.join(timeout=5)


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory: pytest.TempPathFactory):
    orthanc_binary()
    folder = tmp_path_factory.mktemp("orthanc-bad")
    _, mr, _, _ = fx.write_case(folder / "mr", seed="mr-only", modality="MR")
    with OrthancServer(folder / "orthanc") as server:
        server.upload(sorted(mr.glob("*.dcm")))
        yield server


def test_wrong_called_aet_is_rejected_with_the_reason(orthanc: OrthancServer) -> None:
    with pytest.raises(AssociationRejectedError, match="called AE title 'WRONG_AET'"):
        pacs.echo(_config(orthanc.dicom_port, called_aet="WRONG_AET"))


def test_unknown_calling_aet_is_refused(orthanc: OrthancServer) -> None:
    with pytest.raises(PacsError) as info:
        pacs.find_studies(_config(orthanc.dicom_port, calling_aet="STRANGER"))
    assert "STRANGER" in str(info.value) and "administrator" in str(info.value)


def test_study_without_ct_is_reported_and_nothing_written(orthanc: OrthancServer, tmp_path: Path) -> None:
    config = _config(orthanc.dicom_port)
    (study,) = pacs.find_studies(config)
    assert study.modalities == ["MR"]
    with pytest.raises(NoMatchingSeriesError, match="no CT series.*MR"):
        retrieve_study(config, study.study_uid, tmp_path / "study")
    assert _nothing_left(tmp_path) == []
    with pytest.raises(PacsError, match="no series found"):
        retrieve_study(config, "1.2.3.4.5", tmp_path / "study")


class FakeScp:
    """A PACS that announces 3 instances, sends 1, then aborts (or reports failures)."""

    def __init__(self, files: list[Path], mode: str) -> None:
        from pydicom import dcmread
        from pynetdicom import AE, evt
        from pynetdicom.sop_class import (
            CTImageStorage,
            StudyRootQueryRetrieveInformationModelFind,
            StudyRootQueryRetrieveInformationModelGet,
        )

        self.datasets = [dcmread(f) for f in files[:3]]
        self.mode = mode
        ae = AE(ae_title=ORTHANC_AET)
        ae.add_supported_context(StudyRootQueryRetrieveInformationModelFind)
        ae.add_supported_context(StudyRootQueryRetrieveInformationModelGet)
        ae.add_supported_context(CTImageStorage, scu_role=True, scp_role=True)
        self.port = free_port()
        self.server = ae.start_server(("127.0.0.1", self.port), block=False,
                                      evt_handlers=[(evt.EVT_C_FIND, self.find), (evt.EVT_C_GET, self.get)])

    def find(self, event):  # noqa: ANN001, ANN201
        from pydicom.dataset import Dataset

        ds = Dataset()
        ds.QueryRetrieveLevel = "SERIES"
        ds.StudyInstanceUID = self.datasets[0].StudyInstanceUID
        ds.SeriesInstanceUID = self.datasets[0].SeriesInstanceUID
        ds.Modality, ds.NumberOfSeriesRelatedInstances = "CT", 3
        yield 0xFF00, ds

    def get(self, event):  # noqa: ANN001, ANN201
        yield 3
        yield 0xFF00, self.datasets[0]
        if self.mode == "abort":
            event.assoc.abort()
            return
        from pydicom.dataset import Dataset

        status = Dataset()
        status.Status = 0xB000
        status.NumberOfFailedSuboperations = 2
        status.NumberOfCompletedSuboperations = 1
        status.NumberOfRemainingSuboperations = 0
        yield status, None

    def close(self) -> None:
        self.server.shutdown()


@pytest.mark.parametrize("mode", ["abort", "failures"])
def test_partial_retrieval_keeps_nothing(tmp_path: Path, mode: str) -> None:
    _, dicom, _, _ = fx.write_case(tmp_path / "src")
    fake = FakeScp(sorted(dicom.glob("*.dcm")), mode)
    try:
        with pytest.raises(RetrievalIncompleteError, match="nothing kept"):
            retrieve_study(_config(fake.port), str(fake.datasets[0].StudyInstanceUID), tmp_path / "out" / "study")
    finally:
        fake.close()
    assert _nothing_left(tmp_path / "out") == []  # neither the study folder nor a .partial- folder


def test_settings_are_saved_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / "pacs.json"
    with pytest.raises(PacsConfigError, match="no PACS settings saved yet"):
        load_config(path)
    save_config(PacsConfig(host="pacs.example", port=11112, called_aet="PACS", calling_aet="ME"), path)
    assert load_config(path).port == 11112
    with pytest.raises(PacsConfigError, match="called_aet must be 1-16"):
        save_config(PacsConfig(called_aet="A" * 17), path)
    with pytest.raises(PacsConfigError, match="port must be"):
        PacsConfig(port=70000).check()
    path.write_text(json.dumps({"host": "x", "colour": "red"}))
    with pytest.raises(PacsConfigError, match="unknown setting"):
        load_config(path)
    path.write_text("{not json")
    with pytest.raises(PacsConfigError, match="cannot read"):
        load_config(path)


def test_config_path_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from napari_spine_mets.dicomio.pacs_config import config_path

    monkeypatch.delenv("SPINE_METS_PACS_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert config_path() == tmp_path / "napari-spine-mets" / "pacs.json"


def test_cli_reports_pacs_down_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from napari_spine_mets.cli import main

    settings = save_config(_config(free_port()), tmp_path / "pacs.json")
    assert main(["pacs", "--config", str(settings), "echo"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("spine-mets pacs: ") and "connection refused" in err and "\n" not in err
