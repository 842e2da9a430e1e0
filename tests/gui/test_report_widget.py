"""The "Report and export" dock on the sample case and on a case read from DICOM.

The report is written off the Qt thread from the viewer's live case: a lesion painted
into the labels layer just before appears in it. Exports land in the chosen folder and
read back; DICOM-SEG is offered only when the CT came from a DICOM series.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pytest

from napari_spine_mets._napari.report_widget import ReportWidget

PLUGIN = "napari-spine-mets"
LESIONS_LAYER = "lesions (ground truth)"


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _wait_written(qtbot, widget: ReportWidget, key: str, timeout: int = 240_000) -> dict[str, Path]:
    qtbot.waitUntil(lambda: not widget.busy and key in widget.last_written, timeout=timeout)
    return widget.last_written


def test_report_dock_writes_the_live_case(make_napari_viewer, qtbot, tmp_path: Path, save_screenshot) -> None:
    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(1500, 950)
    viewer.open_sample(PLUGIN, "synthetic_spine_ct")
    widget = ReportWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Report and export", area="right")
    assert not widget.identified_box.isChecked()
    assert not widget.seg_button.isEnabled() and "not read from a DICOM series" in widget.seg_reason.text()
    assert widget.report_button.isEnabled() and widget.nifti_button.isEnabled()

    # paint a new lesion (label 9) into the L3 body of the live labels layer
    layer = viewer.layers[LESIONS_LAYER]
    vertebrae = viewer.layers["vertebrae (ground truth)"].data
    zz, yy, xx = np.nonzero(vertebrae == 29)  # TotalSegmentator id of L3
    z, y, x = (int(np.median(v)) for v in (zz, yy, xx))
    data = layer.data.copy()
    data[z - 1:z + 2, y - 3:y + 3, x - 3:x + 3] = 9
    layer.data = data

    folders = iter([tmp_path / "report", tmp_path / "csv", tmp_path / "nifti", tmp_path / "case"])
    widget.ask_folder = lambda title: next(folders)
    widget.report_button.click()
    assert widget.busy and not widget.report_button.isEnabled()  # the work runs off the Qt thread
    written = _wait_written(qtbot, widget, "html")
    assert written["pdf"].stat().st_size > 10_000 and written["pdf"].parent == tmp_path / "report"
    html = written["html"].read_text(encoding="utf-8")
    assert "De-identified report" in html and "Not in this case:" in html
    assert html.count('src="data:image/png;base64,') >= 1 + 6  # overview + one image per lesion at least
    assert "report.pdf" in widget.status_label.text()

    widget.csv_button.click()
    written = _wait_written(qtbot, widget, "csv:lesions")
    lesions = {int(r["ID"]): r for r in _rows(written["csv:lesions"])}
    truth = {int(v) for v in np.unique(viewer.layers[LESIONS_LAYER].data) if v > 0}
    assert set(lesions) == truth and 9 in lesions
    assert lesions[9]["Level"] == "L3" and float(lesions[9]["Volume mm³"]) > 0
    assert {lesions[i]["Type"] for i in truth - {9}} == {"lytic", "blastic", "mixed"}

    widget.nifti_button.click()
    written = _wait_written(qtbot, widget, LESIONS_LAYER)
    from napari_spine_mets.io.nifti import read_label_nifti

    assert {p.name for p in written.values()} >= {"lesions (ground truth).nii.gz", "vertebrae (ground truth).nii.gz"}
    back = read_label_nifti(written[LESIONS_LAYER])
    assert np.array_equal(back.array, viewer.layers[LESIONS_LAYER].data)

    session = widget.session
    widget.case_button.click()
    qtbot.waitUntil(lambda: session.last_saved_to is not None and session.last_saved_to.parent == tmp_path / "case",
                    timeout=120_000)
    assert session.folder == tmp_path / "case" and (tmp_path / "case" / "case.json").is_file()
    assert widget.status_label.text() == f"Case saved to {tmp_path / 'case'}."
    save_screenshot(viewer, "report_dock")


def test_identified_report_and_dicom_seg_from_a_dicom_case(make_napari_viewer, qtbot, tmp_path: Path) -> None:
    from dicomio_fixtures import NAME, PATIENT_ID, write_case
    from pydicom import dcmread

    from napari_spine_mets._napari.layers import image_layer_data, labels_layer_data

    _, dicom, maps, ct = write_case(tmp_path / "input")
    viewer = make_napari_viewer()
    ct.name = "CT"
    for data, kwargs, kind in (image_layer_data(ct), labels_layer_data(maps["vertebrae"]),
                               labels_layer_data(maps["lesions"])):
        getattr(viewer, f"add_{kind}")(data, **kwargs)
    widget = ReportWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Report and export")
    assert widget.seg_button.isEnabled() and widget.seg_reason.text() == ""

    widget.ask_folder = lambda title: tmp_path / "seg"
    widget.seg_button.click()
    written = _wait_written(qtbot, widget, "lesions", timeout=120_000)
    assert set(written) == {"vertebrae", "lesions"}
    seg = dcmread(written["lesions"])
    source = dcmread(next(iter(sorted(dicom.glob("*.dcm")))), stop_before_pixels=True)
    assert seg.Modality == "SEG" and seg.ReferencedSeriesSequence[0].SeriesInstanceUID == source.SeriesInstanceUID
    assert str(seg.PatientName) != NAME and seg.PatientID != PATIENT_ID  # de-identified by default

    widget.identified_box.setChecked(True)
    widget.ask_folder = lambda title: tmp_path / "identified"
    widget.report_button.click()
    html = _wait_written(qtbot, widget, "html")["html"].read_text(encoding="utf-8")
    assert PATIENT_ID in html and re.search(r"DOE\^JANE", html) and "IDENTIFIED REPORT" in html


@pytest.fixture(autouse=True)
def _no_dialogs(monkeypatch: pytest.MonkeyPatch) -> None:
    """A test that forgot to set ask_folder fails instead of waiting on a dialog."""
    from qtpy.QtWidgets import QFileDialog

    def refuse(*args, **kwargs):
        raise AssertionError("a file dialog was opened in a test")

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", refuse)
