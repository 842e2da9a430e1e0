"""End to end against a real Orthanc on 127.0.0.1: upload, C-ECHO, C-FIND, C-GET, C-MOVE, C-STORE, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pynetdicom")

import dicomio_fixtures as fx  # noqa: E402
from orthanc_server import ORTHANC_AET, SCU_AET, OrthancServer, orthanc_binary  # noqa: E402

from napari_spine_mets.dicomio import pacs  # noqa: E402
from napari_spine_mets.dicomio.pacs_config import PacsConfig, save_config  # noqa: E402
from napari_spine_mets.dicomio.pacs_retrieve import retrieve_study  # noqa: E402
from napari_spine_mets.io.dicom import read_dicom_series  # noqa: E402

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, real_ct_series: Path):
    from napari_spine_mets.dicomio.uids import assign_uids

    orthanc_binary()
    folder = tmp_path_factory.mktemp("pacs")
    _, synthetic, maps, _ = fx.write_case(folder / "synthetic")
    real = folder / "real"
    assign_uids(real_ct_series, real)
    with OrthancServer(folder / "orthanc") as orthanc:
        orthanc.upload(sorted(synthetic.glob("*.dcm")))
        orthanc.upload(sorted(real.iterdir()))
        config = PacsConfig(host="127.0.0.1", port=orthanc.dicom_port, called_aet=ORTHANC_AET, calling_aet=SCU_AET,
                            timeout_s=30, store_host="127.0.0.1", store_port=orthanc.scu_port)
        yield orthanc, config, {"synthetic": synthetic, "real": real}, maps, folder


def _study(config: PacsConfig, **query: str):
    (study,) = pacs.find_studies(config, **query)
    return study


def test_echo_and_find_by_patient_date_modality(server) -> None:
    _, config, _, _, _ = server
    assert pacs.echo(config) < 5
    assert len(pacs.find_studies(config, modality="CT")) == 2
    study = _study(config, patient_id=fx.PATIENT_ID)
    assert study.identity.name == fx.NAME and "DOE" not in repr(study)  # identifiers kept out of repr/logs
    assert study.modalities == ["CT"] and study.n_instances == 47
    assert _study(config, patient_name="DOE^*", study_date="19990101-20001231").study_uid == study.study_uid
    assert pacs.find_studies(config, patient_id="nobody") == []
    assert pacs.find_studies(config, patient_id=fx.PATIENT_ID, modality="MR") == []


@pytest.mark.parametrize("method", ["get", "move"])
def test_retrieve_reads_identically(server, method: str) -> None:
    _, config, folders, _, folder = server
    config = PacsConfig(**{**config.to_json(), "retrieve": method})
    for name, source in folders.items():
        study_uid = read_dicom_series(source).metadata.study_instance_uid
        result = retrieve_study(config, study_uid, folder / f"{method}-{name}")
        original, copy = read_dicom_series(source), read_dicom_series(result.folder)
        assert result.n_instances == len(list(source.iterdir()))
        assert np.array_equal(original.array, copy.array) and np.array_equal(original.affine, copy.affine)
        assert original.metadata.series_instance_uid == copy.metadata.series_instance_uid
    assert not [p for p in folder.iterdir() if ".partial-" in p.name]


def test_seg_sent_back_is_stored(server) -> None:
    from napari_spine_mets.dicomio.seg_export import export_seg

    orthanc, config, folders, maps, folder = server
    seg = export_seg(maps["vertebrae"], folders["synthetic"], folder / "vertebrae.seg.dcm")
    result = pacs.send_files(config, [seg])
    assert result.sent == [seg] and not result.failed
    from pydicom import dcmread

    uid = dcmread(seg, stop_before_pixels=True).SOPInstanceUID
    assert uid in orthanc.instance_uids()
    stored = [orthanc.get(f"/instances/{i}/simplified-tags") for i in orthanc.get("/instances")]
    seg_tags = next(t for t in stored if t.get("SOPInstanceUID") == uid)
    assert seg_tags["Modality"] == "SEG"
    assert seg_tags["StudyInstanceUID"] == read_dicom_series(folders["synthetic"]).metadata.study_instance_uid


def test_cli_echo_find_get(server, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from napari_spine_mets.cli import main

    _, config, folders, _, _ = server
    settings = save_config(config, tmp_path / "pacs.json")
    assert main(["pacs", "--config", str(settings), "echo"]) == 0
    assert "C-ECHO OK" in capsys.readouterr().out
    assert main(["pacs", "--config", str(settings), "find", "--modality", "CT", "--json"]) == 0
    studies = json.loads(capsys.readouterr().out)
    assert len(studies) == 2
    uid = read_dicom_series(folders["real"]).metadata.study_instance_uid
    assert main(["pacs", "--config", str(settings), "get", uid, str(tmp_path / "got"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n_instances"] == 20
