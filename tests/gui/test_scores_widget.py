"""The Scores dock on the sample case: live scores equal to the calculators, proposals from the image, models."""

from __future__ import annotations

from pathlib import Path

import pytest
from qtpy.QtCore import Qt

import napari_spine_mets
from napari_spine_mets._napari.nomogram_panel import DEMO_BANNER
from napari_spine_mets._napari.scores_widget import ScoresWidget
from napari_spine_mets._napari.session import session_of
from napari_spine_mets.case import Case, ClinicalEntries
from napari_spine_mets.models.model_file import load_model
from napari_spine_mets.models.survival import apply_cox
from napari_spine_mets.scores import modified_bauer, pni_from_entries, sins, tokuhashi, tomita

PLUGIN = "napari-spine-mets"
DEMO = Path(napari_spine_mets.__file__).parent / "models" / "demo"
ENTRIES = {"age_years": 68.0, "pain": "mechanical", "karnofsky": 80, "primary_site": "breast", "frankel_grade": "D",
           "visceral_metastases": False, "extraspinal_bone_metastases": 1, "vertebral_metastases": 6,
           "albumin_g_per_l": 38.0, "lymphocytes_1e9_per_l": 1.5}


@pytest.fixture
def dock(make_napari_viewer, qtbot):
    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(2200, 1250)
    viewer.open_sample(PLUGIN, "synthetic_spine_ct")
    widget = ScoresWidget(viewer)
    dock_widget = viewer.window.add_dock_widget(widget, name="Scores", area="right")
    viewer.window._qt_window.resizeDocks([dock_widget], [1350], Qt.Orientation.Horizontal)
    qtbot.waitUntil(lambda: widget.levels is not None and widget.scores is not None, timeout=120000)
    return viewer, widget


def _sins_choices(widget: ScoresWidget, level: str) -> dict[str, str]:
    return {row.name: row.choice for row in widget.scores.find("SINS", level).items}


def test_scores_follow_the_form_and_the_image(dock, qtbot, save_screenshot) -> None:
    viewer, widget = dock
    session = session_of(viewer)
    # nothing entered yet: every score says what it lacks; the image proposals are there
    toku = widget.shown("revised Tokuhashi")
    assert toku["Value"] == "—" and "Karnofsky not entered" in toku["Basis"] and "Frankel grade not entered" in toku["Basis"]
    assert "pain (SINS) not entered" in widget.shown("SINS at T12")["Basis"]
    assert widget.sins_cell("T12", "bone_lesion") == "img: lytic 2"  # lesion 1 of the sample: lytic
    assert widget.sins_cell("L1", "collapse") == "img: <50 % 2"  # the sample's 35 % wedge fracture
    assert widget.sins_cell("L3", "posterolateral") == "img: unilateral 1"  # lesion 4 in the left pedicle
    assert widget.sins_cell("T12", "total") == "missing"

    # the clinician types: no button, the scores follow (debounced)
    for attr, value in ENTRIES.items():
        widget.form.set_value(attr, value)
    qtbot.waitUntil(lambda: session.case.clinical.karnofsky == 80 and widget.scores.find("PNI").computed,
                    timeout=10000)
    c = session.case.clinical
    direct = tokuhashi(karnofsky=80, extraspinal_bone_metastases=1, vertebral_metastases=6,
                       major_organ_metastases="none", primary_site="breast", frankel_grade="D")
    shown = widget.shown("revised Tokuhashi")
    assert shown["Value"] == f"{direct.total} points" and shown["Basis"] == direct.band
    assert shown["item: general condition (Karnofsky)"] == "80 % | 2 | entered"
    assert widget.shown("Tomita")["Value"] == f"{tomita(visceral_metastases='none', bone_metastases='multiple', primary_site='breast').total} points"
    assert widget.shown("modified Bauer")["Value"] == (
        f"{modified_bauer(visceral_metastases=False, primary_site='breast', solitary_skeletal_metastasis=False).total} points")
    assert widget.shown("PNI")["Value"] == f"{pni_from_entries(c).total:.4g}"
    assert any(f.name == "revised Tokuhashi" and f.value == direct.total for f in session.case.findings)
    assert any(e.what.startswith("clinical entries:") and "karnofsky 80" in e.what for e in session.case.provenance.edits)

    # SINS at T12 once alignment is entered in the per-level table: equal to the calculator's
    widget.set_sins_entry("T12", "alignment", "normal")
    qtbot.waitUntil(lambda: widget.scores.find("SINS", "T12").computed, timeout=10000)
    choices = _sins_choices(widget, "T12")
    expected = sins(location="T12", pain="mechanical", bone_lesion=choices["bone lesion"], alignment="normal",
                    collapse=choices["collapse"], posterolateral=choices["posterolateral"])
    assert widget.shown("SINS at T12")["Value"] == f"{expected.total} points"
    assert widget.sins_cell("T12", "total") == str(expected.total)
    assert widget.shown("SINS at T12")["item: pain"] == "mechanical | 3 | entered"
    assert "from image: T12" in widget.shown("SINS at T12")["item: bone lesion"]
    assert session.case.clinical.extras["sins_entries"] == {"T12": {"alignment": "normal"}}

    # changing an entry changes the scores; an override says what it replaced
    widget.form.set_value("karnofsky", 40)
    qtbot.waitUntil(lambda: widget.shown("revised Tokuhashi")["Value"] == f"{direct.total - 2} points", timeout=10000)
    widget.set_sins_entry("L1", "alignment", "normal")
    widget.set_sins_entry("L1", "collapse", "gt50")
    qtbot.waitUntil(lambda: widget.scores.find("SINS", "L1").computed, timeout=10000)
    collapse = widget.shown("SINS at L1")["item: collapse"]
    assert collapse.startswith(">50 % collapse | 3 | entered (overrides the image proposal 'lt50'")
    assert widget.sins_cell("L1", "collapse") == ">50 % 3"
    widget.tabs.setCurrentIndex(0)
    widget.score_tree.select("SINS at L1")
    details = widget.score_tree.details.toPlainText()
    assert details.startswith(f"SINS at L1: {widget.scores.find('SINS', 'L1').total} points")
    assert "overriding the image proposal 'lt50'" in details and "Fisher CG" in details
    save_screenshot(viewer, "scores_dock_scores")
    widget.tabs.setCurrentIndex(1)
    save_screenshot(viewer, "scores_dock_sins_by_level")


def test_model_file_demo_label_and_missing_inputs(dock, qtbot, save_screenshot) -> None:
    viewer, widget = dock
    session = session_of(viewer)
    for attr, value in ENTRIES.items():
        widget.form.set_value(attr, value)
    widget.apply_entries()
    panel = widget.model_panel
    panel.load_model(DEMO / "demo_survival.json")
    widget.tabs.setCurrentIndex(2)
    assert panel.demo_label.isVisible() and panel.demo_label.text() == DEMO_BANNER
    assert "tumour_volume_ml not entered" in panel.missing_label.text()
    assert panel.outcome.result is None
    panel.extra_edits["tumour_volume_ml"].setText("12")
    panel.extra_edits["tumour_volume_ml"].editingFinished.emit()
    qtbot.waitUntil(lambda: panel.outcome is not None and panel.outcome.result is not None, timeout=10000)
    doc = load_model(DEMO / "demo_survival.json")
    direct = apply_cox(doc, {"age_years": 68.0, "karnofsky": 80, "albumin_g_per_l": 38.0,
                             "visceral_metastases": False, "tumour_volume_ml": 12.0})
    for horizon, probability in direct["survival_probability"].items():
        assert f"{horizon.replace('_', ' ')}: {probability:.3f}" in panel.result_label.text()
    assert panel.term_values()["karnofsky"] == "80"
    assert any(f.name == "model prediction" and "demonstration" in f.source for f in session.case.findings)
    save_screenshot(viewer, "scores_dock_model")

    panel.load_model(DEMO / "demo_nomogram.json")  # MRI features: the CT case has none
    assert panel.demo_label.isVisible()
    assert "radiomics feature t1_firstorder_mean not in the case" in panel.missing_label.text()

    # a case opened: the form shows its entries (a value outside the choices is kept, not dropped)
    session.adopt(Case(clinical=ClinicalEntries(karnofsky=60, primary_site="renal cell carcinoma")), None)
    assert widget.form.value("karnofsky") == 60
    assert widget.form.value("primary_site") == "renal cell carcinoma"
    qtbot.waitUntil(lambda: widget.levels is not None and widget.scores.find("SINS", "T12") is not None,
                    timeout=120000)
    assert "Karnofsky not entered" not in widget.shown("revised Tokuhashi")["Basis"]
    assert widget.scores.find("Tomita").items[0].choice == "moderate"  # renal: a moderate-growth primary
