"""The PACS dock against a real Orthanc: settings saved, find, retrieve and open in napari."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("pynetdicom")
pytest.importorskip("napari")

import dicomio_fixtures as fx  # noqa: E402
from orthanc_server import ORTHANC_AET, SCU_AET, OrthancServer, orthanc_binary  # noqa: E402

pytestmark = pytest.mark.gui


@pytest.fixture(autouse=True)
def _needs_display() -> None:
    if not os.environ.get("DISPLAY") and os.environ.get("QT_QPA_PLATFORM") != "offscreen":
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("GUI tests need a display: run them with ./scripts/test.sh (xvfb-run)")
        pytest.skip("no display: run under xvfb-run -a (./scripts/test.sh does)")


def test_pacs_dock_finds_retrieves_and_opens(make_napari_viewer, qtbot, tmp_path: Path) -> None:
    from napari_spine_mets._napari.pacs_widget import PacsWidget
    from napari_spine_mets.dicomio.pacs_config import load_config

    orthanc_binary()
    _, dicom, _, _ = fx.write_case(tmp_path / "case")
    with OrthancServer(tmp_path / "orthanc") as orthanc:
        orthanc.upload(sorted(dicom.glob("*.dcm")))
        viewer = make_napari_viewer()
        widget = PacsWidget(viewer, config_file=tmp_path / "pacs.json")
        viewer.window.add_dock_widget(widget)
        widget.host.setText("127.0.0.1")
        widget.port.setValue(orthanc.dicom_port)
        widget.called.setText(ORTHANC_AET)
        widget.calling.setText(SCU_AET)
        widget.save_settings()
        assert load_config(tmp_path / "pacs.json").port == orthanc.dicom_port
        widget.patient_id.setText(fx.PATIENT_ID)
        widget.find_button.click()
        qtbot.waitUntil(lambda: widget.results.count() == 1, timeout=15000)
        widget.folder.setText(str(tmp_path / "retrieved"))
        widget.retrieve_button.click()
        qtbot.waitUntil(lambda: len(viewer.layers) > 0, timeout=30000)
        assert widget.last_folder is not None and len(list(widget.last_folder.iterdir())) == 47
        assert viewer.layers[0].data.shape[0] == 47
        # error path (PACS errors in the dock) is not exercised here: workers.run_in_background
        # re-raises worker errors in the Qt loop (superqt's _ignore_errors=False), which the
        # napari test fixture turns into a failure; see the issue note.
