"""The whole flow as a radiologist drives it, through the docks of the README's main command.

load (sample case) -> segment (shipped network, CPU) -> lesions -> Bone HU -> scores ->
report, with a screenshot at each step (test-artifacts/flow_*.png); then the autosaved
case reopens with everything in it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from napari_spine_mets._napari.launch import DOCKS, PLUGIN, open_viewer
from napari_spine_mets._napari.session import session_of
from napari_spine_mets.case_parts import LesionKind, RoiKind
from napari_spine_mets.case_store import load_case

ENTRIES = {"age_years": 68.0, "pain": "mechanical", "karnofsky": 80, "primary_site": "breast", "frankel_grade": "D",
           "visceral_metastases": False, "extraspinal_bone_metastases": 1, "vertebral_metastases": 6,
           "albumin_g_per_l": 38.0, "lymphocytes_1e9_per_l": 1.5}


def _dock(viewer, name: str):
    """The widget of one of the plugin's docks, brought to the front."""
    widget = viewer.window.dock_widgets[f"{name} ({PLUGIN})"]
    widget.parent().raise_()  # the dock around it: its tab comes to the front
    return widget


@pytest.fixture
def viewer(qtbot):
    viewer = open_viewer(show=True)
    yield viewer
    session_of(viewer).ask_unsaved = lambda: "discard"
    viewer.close()


def test_load_segment_lesions_hu_scores_report(viewer, qtbot, tmp_path: Path, save_screenshot) -> None:
    session = session_of(viewer)
    assert [d for d in DOCKS if f"{d} ({PLUGIN})" not in viewer.window.dock_widgets] == []
    ct_name = next(layer.name for layer in viewer.layers if layer._type_string == "image")
    truth_lesions = viewer.layers["lesions (ground truth)"].data
    voxel_mm3 = float(np.prod(viewer.layers[ct_name].scale))
    save_screenshot(viewer, "flow_1_loaded")

    # 2. segment with the shipped network, in its worker process
    segment = _dock(viewer, "Segment")
    segment.device_combo.setCurrentText("cpu")
    segment.run()
    qtbot.waitUntil(lambda: segment.result is not None, timeout=600_000)
    assert "vertebrae" in viewer.layers and "vertebrae" in session.case.label_maps
    assert any(step.name == "segmentation" for step in session.case.provenance.steps)
    found = {r["level"] for r in segment.result.vertebra_stats if r["level"]}
    assert len(found) >= 6, found
    qtbot.wait(100)  # the dock lays out its new text (as a person sees it a moment later)
    save_screenshot(viewer, "flow_2_segmented")

    # 3. lesions on the network's vertebrae
    lesions = _dock(viewer, "Lesions")
    lesions.labels_combo.setCurrentText("vertebrae")
    lesions.parts_combo.setCurrentText("vertebra parts")
    lesions.detect()
    qtbot.waitUntil(lambda: not lesions.running and bool(session.case.lesions), timeout=300_000)
    detected = session.case.lesions
    assert {les.kind for les in detected} <= {LesionKind.LYTIC, LesionKind.BLASTIC, LesionKind.MIXED}
    # every true lesion of the sample's vertebral bodies is found on the network's labels
    mask = np.asarray(viewer.layers["lesions"].data)
    truth_ids = [i for i in np.unique(truth_lesions) if i and (truth_lesions == i).sum() * voxel_mm3 >= 500]
    missed = [i for i in truth_ids if not np.any(mask[truth_lesions == i] > 0)]
    assert len(truth_ids) >= 3 and not missed, f"true lesions missed: {missed}"
    lesions.select_lesion(detected[0].id)
    save_screenshot(viewer, "flow_3_lesions")

    # 4. Bone HU on the network's vertebrae, lesions excluded
    hu = _dock(viewer, "Measure").hu
    hu.labels_combo.setCurrentText("vertebrae")
    hu.parts_combo.setCurrentText("vertebra parts")
    hu.lesions_combo.setCurrentText("lesions")
    hu.compute()
    qtbot.waitUntil(lambda: hu.report is not None, timeout=300_000)
    hu_rois = [r for r in session.case.rois if r.kind == RoiKind.TRABECULAR_HU]
    measured = {r.level for r in hu_rois if r.measurements.get("hu_mean") is not None}
    assert len(measured) >= 5, measured
    save_screenshot(viewer, "flow_4_bone_hu")

    # 5. scores from the clinician's entries and the image
    scores = _dock(viewer, "Scores")
    for attr, value in ENTRIES.items():
        scores.form.set_value(attr, value)
    qtbot.waitUntil(lambda: scores.scores is not None and scores.scores.find("revised Tokuhashi") is not None
                    and scores.scores.find("revised Tokuhashi").computed, timeout=120_000)
    assert session.case.clinical.karnofsky == 80
    # recorded in the case once the dock's image proposals (lesion levels) are measured
    qtbot.waitUntil(lambda: any(f.name == "revised Tokuhashi" and f.value is not None for f in session.case.findings),
                    timeout=120_000)
    save_screenshot(viewer, "flow_5_scores")

    # 6. report in one click (the folder question answered by the test)
    report = _dock(viewer, "Report")
    report.ask_folder = lambda title: tmp_path / "report"
    report.report_button.click()
    qtbot.waitUntil(lambda: not report.busy and "pdf" in report.last_written, timeout=600_000)
    pdf = report.last_written["pdf"]
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "Tokuhashi" in text and "not a diagnosis" in text.lower().replace("\n", " ")
    assert any(level in text for level in found)
    save_screenshot(viewer, "flow_6_report")

    # nothing lost: the autosaved case holds labels, lesions, ROIs, entries and findings
    qtbot.waitUntil(lambda: not session.dirty and session.last_saved_to is not None, timeout=120_000)
    reopened = load_case(session.save_folder)
    assert reopened.clinical.karnofsky == 80
    assert [les.id for les in reopened.lesions] == [les.id for les in session.case.lesions]
    assert len(reopened.rois) == len(session.case.rois)
    assert {"vertebrae", "lesions"} <= set(reopened.label_maps)
    np.testing.assert_array_equal(reopened.label_maps["vertebrae"].array, viewer.layers["vertebrae"].data)
    assert any(f.name == "revised Tokuhashi" for f in reopened.findings)
    assert ct_name in reopened.volumes
