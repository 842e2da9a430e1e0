"""Every score of a Case: image proposals per lesion level, entries over proposals, missing inputs named."""

from __future__ import annotations

import copy

import pytest

from napari_spine_mets.case import Case, Finding, Lesion, LesionKind, LesionStatus, Roi, RoiKind
from napari_spine_mets.models.from_case import MODEL_FINDING, apply_model_to_case, record_model_in_case
from napari_spine_mets.models.model_file import load_model
from napari_spine_mets.models.survival import apply_cox
from napari_spine_mets.scores import hu_bone_quality, modified_bauer, pni_from_entries, sins, tokuhashi, tomita
from napari_spine_mets.scores.from_case import (
    LUNG_PRIMARY,
    SINS_ENTRIES,
    TOMITA_GROWTH,
    VISCERAL_REMOVABLE,
    VISCERAL_TREATABLE,
    record_scores_in_case,
    score_case,
)
from napari_spine_mets.scores.level_measures import find_label_map, measure_levels
from napari_spine_mets.synthetic import FractureSpec, LesionSpec, SpineParams, generate_spine_ct

DEMO = "src/napari_spine_mets/models/demo"
COLLAPSE = 0.4


@pytest.fixture(scope="module")
def synthetic():
    params = SpineParams(levels=("T11", "T12", "L1", "L2", "L3"), fov_mm=200.0, include_sacrum=False,
                         lesions=(LesionSpec("T12", "lytic", 8.0, "body"), LesionSpec("L1", "lytic", 9.0, "body"),
                                  LesionSpec("L2", "blastic", 7.0, "pedicle_left")),
                         fracture=FractureSpec("L1", COLLAPSE))
    return generate_spine_ct(params)


@pytest.fixture(scope="module")
def measured(synthetic):
    return measure_levels(_case(synthetic))


def _case(synthetic, names: tuple[str, str, str] = ("vertebrae (ground truth)", "vertebra parts (ground truth)",
                                                    "lesions (ground truth)")) -> Case:
    """A case as napari builds it: label maps under their layer names."""
    case = Case()
    case.add_volume(synthetic.ct, "CT")
    for name, labels in zip(names, (synthetic.vertebrae, synthetic.parts, synthetic.lesions)):
        case.set_label_map(name, labels)
    return case


def _full_entries(case: Case) -> Case:
    c = case.clinical
    c.age_years, c.sex, c.pain, c.karnofsky, c.ecog = 68.0, "female", "mechanical", 80, 1
    c.primary_site, c.frankel_grade, c.visceral_metastases = "breast", "E", False
    c.extraspinal_bone_metastases, c.vertebral_metastases = 0, 3
    c.albumin_g_per_l, c.lymphocytes_1e9_per_l = 38.0, 1.5
    c.extras[SINS_ENTRIES] = {level: {"alignment": "normal"} for level in ("T12", "L1", "L2")}
    return case


# ----------------------------------------------------------------------------- image proposals
def test_label_maps_are_found_by_role_under_layer_names(synthetic) -> None:
    case = _case(synthetic)
    assert find_label_map(case, "vertebrae")[0] == "vertebrae (ground truth)"
    assert find_label_map(case, "parts")[0] == "vertebra parts (ground truth)"
    assert find_label_map(case, "lesions")[0] == "lesions (ground truth)"
    plain = _case(synthetic, ("vertebrae", "parts", "lesions"))
    assert [find_label_map(plain, r)[0] for r in ("vertebrae", "parts", "lesions")] == ["vertebrae", "parts", "lesions"]


def test_level_measures_follow_the_synthetic_truth(measured, synthetic) -> None:
    assert list(measured.levels) == ["T12", "L1", "L2"]
    truth = {t.id: t for t in synthetic.lesion_truth}
    for m in measured.levels.values():
        assert [les.kind for les in m.lesions] == [truth[les.id].kind for les in m.lesions]
    l1 = measured.levels["L1"]
    assert l1.height_loss == pytest.approx(synthetic.fracture_truth.height_loss, abs=0.1)
    assert measured.levels["T12"].height_loss < 0.2
    l2 = measured.levels["L2"]
    assert l2.left_fraction > 0.05 and l2.left_fraction > l2.right_fraction  # the lesion sits in the left pedicle
    assert measured.levels["T12"].body_fraction > 0.02 and measured.levels["T12"].left_fraction < 0.05
    assert all(m.bilsky is not None for m in measured.levels.values())


def test_sins_uses_image_proposals_and_matches_the_calculator(synthetic, measured) -> None:
    case = _full_entries(_case(synthetic))
    scores = score_case(case, measured)
    l1 = scores.find("SINS", "L1")
    assert l1.computed, l1.missing
    choices = {row.name: row.choice for row in l1.items}
    assert choices["collapse"] == "lt50" and choices["bone lesion"] == "lytic" and choices["location"] == "junctional"
    direct = sins(location="L1", pain="mechanical", bone_lesion=choices["bone lesion"], alignment="normal",
                  collapse=choices["collapse"], posterolateral=choices["posterolateral"])
    assert l1.total == direct.total and l1.band == direct.band
    basis = {row.name: row.basis for row in l1.items}
    assert basis["pain"] == "entered" and basis["alignment"] == "entered"
    assert basis["collapse"].startswith("from image: L1, height loss") and "lesion 2 (lytic)" in basis["location"]
    l2 = {row.name: row for row in scores.find("SINS", "L2").items}
    assert l2["posterolateral"].choice == "unilateral" and "left" in l2["posterolateral"].basis
    assert l2["bone lesion"].choice == "blastic" and l2["location"].choice == "mobile"


def test_an_entry_overrides_a_proposal_and_says_so(synthetic, measured) -> None:
    case = _full_entries(_case(synthetic))
    before = score_case(case, measured).find("SINS", "L1").total
    case.clinical.extras[SINS_ENTRIES]["L1"]["collapse"] = "gt50"
    after = score_case(case, measured).find("SINS", "L1")
    row = next(r for r in after.items if r.name == "collapse")
    assert row.choice == "gt50" and row.basis.startswith("entered (overrides the image proposal 'lt50'")
    assert after.total == before + 1  # gt50 (3) instead of lt50 (2)
    finding = next(f for f in after.findings() if f.name == "SINS")
    assert "overriding the image proposal 'lt50'" in finding.basis


def test_missing_inputs_are_named_never_imputed(synthetic, measured) -> None:
    scores = score_case(_case(synthetic), measured)
    sins_t12 = scores.find("SINS", "T12")
    assert not sins_t12.computed and sins_t12.missing == ["pain (SINS) not entered", "alignment at T12 not entered"]
    rows = {r.name: r for r in sins_t12.items}
    assert rows["pain"].basis == "not entered" and rows["bone lesion"].points == 2  # proposal shown with its points
    toku = scores.find("revised Tokuhashi")
    assert toku.result is None and "Karnofsky not entered" in toku.missing and "Frankel grade not entered" in toku.missing
    assert any(m.startswith("number of vertebral metastases not entered (the images show lesions at 3 level")
               for m in toku.missing)
    assert scores.find("PNI").missing == ["serum albumin not entered", "lymphocyte count not entered"]
    assert scores.find("HU bone quality").missing == ["trabecular HU not measured (Bone HU tool)"]
    finding = next(f for f in scores.findings() if f.name == "revised Tokuhashi")
    assert finding.value is None and finding.basis.startswith("not computed: Karnofsky not entered")


def test_prognostic_scores_match_the_calculators_and_follow_edits(synthetic, measured) -> None:
    case = _full_entries(_case(synthetic))
    c = case.clinical
    scores = score_case(case, measured)
    toku = tokuhashi(karnofsky=80, extraspinal_bone_metastases=0, vertebral_metastases=3, major_organ_metastases="none",
                     primary_site="breast", frankel_grade="E")
    assert scores.find("revised Tokuhashi").total == toku.total
    assert scores.find("Tomita").total == tomita(visceral_metastases="none", bone_metastases="multiple",
                                                 primary_site="breast").total
    assert scores.find("modified Bauer").total == modified_bauer(visceral_metastases=False, primary_site="breast",
                                                                 solitary_skeletal_metastasis=False).total
    assert scores.find("PNI").total == pni_from_entries(c).total
    bone = next(r for r in scores.find("Tomita").items if r.name == "bone metastases")
    assert bone.basis == "computed from the entered counts: 3 vertebral + 0 extraspinal = 3"
    c.karnofsky = 40
    assert score_case(case, measured).find("revised Tokuhashi").total == toku.total - 2
    c.vertebral_metastases = 1  # one vertebral, no extraspinal: solitary
    c.visceral_metastases = True
    c.extras[VISCERAL_REMOVABLE], c.extras[VISCERAL_TREATABLE] = False, True
    again = score_case(case, measured)
    assert again.find("Tomita").total == tomita(visceral_metastases="treatable", bone_metastases="solitary",
                                                primary_site="breast").total
    assert again.find("modified Bauer").total == modified_bauer(visceral_metastases=True, primary_site="breast",
                                                                solitary_skeletal_metastasis=True).total
    organ = next(r for r in again.find("revised Tokuhashi").items if r.name == "metastases to major internal organs")
    assert organ.choice == "unremovable" and organ.points == 0


def test_scores_needing_a_choice_the_site_does_not_give(synthetic, measured) -> None:
    case = _full_entries(_case(synthetic))
    case.clinical.primary_site = "melanoma"  # Tomita 2001 does not name it
    scores = score_case(case, measured)
    assert scores.find("Tomita").missing == ["Tomita growth category (slow, moderate or rapid) not entered: "
                                             "Tomita 2001 does not name 'melanoma'"]
    case.clinical.extras[TOMITA_GROWTH] = "rapid"
    assert score_case(case, measured).find("Tomita").total == tomita(
        visceral_metastases="none", bone_metastases="multiple", growth="rapid").total
    case.clinical.primary_site = "unknown"
    assert "whether the lung is the primary not entered (primary unknown)" in score_case(case, measured).find(
        "modified Bauer").missing
    case.clinical.extras[LUNG_PRIMARY] = False
    assert score_case(case, measured).find("modified Bauer").total == modified_bauer(
        visceral_metastases=False, primary_site="unknown", solitary_skeletal_metastasis=False, lung_primary=False).total


def test_a_refused_entry_shows_the_calculators_message(synthetic, measured) -> None:
    case = _full_entries(_case(synthetic))
    case.clinical.karnofsky = 75
    toku = score_case(case, measured).find("revised Tokuhashi")
    assert toku.result is None and not toku.missing and "steps of 10" in toku.problem


def test_lesion_records_take_precedence_and_rejected_lesions_are_left_out(synthetic) -> None:
    case = _case(synthetic)
    ids = {t.level: t.id for t in synthetic.lesion_truth}
    case.lesions = [Lesion(id=ids["T12"], level="T12", kind=LesionKind.MIXED, status=LesionStatus.ACCEPTED),
                    Lesion(id=ids["L2"], level="L2", kind=LesionKind.BLASTIC, status=LesionStatus.REJECTED)]
    levels = measure_levels(case)
    assert list(levels.levels) == ["T12", "L1"]
    t12 = levels.levels["T12"].lesions[0]
    assert t12.kind == "mixed" and t12.kind_source == "lesion record (accepted)"
    assert levels.levels["L1"].lesions[0].kind_source.startswith("label name 'lesion_")


def test_without_vertebra_labels_only_the_level_is_proposed() -> None:
    case = Case()
    case.lesions = [Lesion(id=1, level="L5", kind=LesionKind.LYTIC, status=LesionStatus.DRAWN)]
    case.clinical.pain = "none"
    scores = score_case(case)
    s = scores.find("SINS", "L5")
    rows = {r.name: r for r in s.items}
    assert rows["location"].choice == "junctional" and rows["location"].points == 3
    assert any(m.startswith("collapse at L5 not available: body height not measured") for m in s.missing)
    assert "no vertebra labels in the case" in " ".join(scores.levels.notes)


def test_hu_band_from_the_recorded_trabecular_hu(synthetic, measured) -> None:
    case = _case(synthetic)
    case.findings.append(Finding(name="trabecular_hu", value=118.0, unit="HU", level="L1", basis="automatic ROI"))
    hu = score_case(case, measured).find("HU bone quality", "L1")
    direct = hu_bone_quality(hu_mean=118.0, level="L1", kvp=synthetic.ct.metadata.kvp,
                             contrast=synthetic.ct.metadata.contrast_applied)
    assert hu.total == direct.total and hu.band == direct.band and hu.result.flags == direct.flags
    assert any("L1 holds lesion" in n for n in hu.result.notes)


def test_record_scores_replaces_only_score_findings(synthetic, measured) -> None:
    case = _full_entries(_case(synthetic))
    keep = Finding(name="trabecular_hu", value=150.0, level="L2")
    case.findings = [keep, Finding(name="SINS", value=99, level="T12"), Finding(name="SINS: flag", value="old")]
    first = record_scores_in_case(case, score_case(case, measured))
    assert keep in case.findings and not any(f.value == 99 or f.value == "old" for f in case.findings)
    assert sorted(f.level for f in first if f.name == "SINS") == ["L1", "L2", "T12"]
    snapshot = copy.deepcopy(case.findings)
    record_scores_in_case(case, score_case(case, measured))
    assert case.findings == snapshot  # recording again does not pile up


# ----------------------------------------------------------------------------- model files
def test_a_model_lists_what_it_lacks_then_applies_like_the_model_code() -> None:
    doc = load_model(f"{DEMO}/demo_survival.json")
    case = Case()
    case.clinical.age_years, case.clinical.karnofsky, case.clinical.albumin_g_per_l = 70.0, 80, 38.0
    outcome = apply_model_to_case(doc, case)
    assert outcome.result is None and outcome.demonstration
    assert outcome.missing == ["visceral_metastases not entered", "tumour_volume_ml not entered"]
    case.clinical.visceral_metastases = True
    case.clinical.extras["tumour_volume_ml"] = 12.0
    outcome = apply_model_to_case(doc, case)
    direct = apply_cox(doc, {"age_years": 70.0, "karnofsky": 80, "albumin_g_per_l": 38.0, "visceral_metastases": True,
                             "tumour_volume_ml": 12.0})
    assert outcome.result["survival_probability"] == pytest.approx(direct["survival_probability"])
    finding = record_model_in_case(case, outcome)
    assert finding in case.findings and "demonstration" in finding.source
    assert record_model_in_case(case, apply_model_to_case(doc, Case())) is None
    assert not any(f.name == MODEL_FINDING for f in case.findings)


def test_a_nomogram_refuses_features_computed_with_other_settings() -> None:
    doc = load_model(f"{DEMO}/demo_nomogram.json")
    case = Case()
    case.clinical.age_years, case.clinical.alp_u_per_l = 70.0, 150.0
    features = {name: 1.0 for name in doc["model"]["radiomics"]["features"]}
    assert any(m.startswith("radiomics feature") for m in apply_model_to_case(doc, case).missing)
    case.rois.append(Roi(id=4, kind=RoiKind.RADIOMICS, measurements={**features, "feature_settings_sha256": "0" * 64}))
    outcome = apply_model_to_case(doc, case, roi_id=4)
    assert outcome.result is None and "different settings" in outcome.problem
    case.rois[0].measurements["feature_settings_sha256"] = doc["feature_settings_sha256"]
    outcome = apply_model_to_case(doc, case, roi_id=4)
    assert 0.0 < outcome.result["probability"] < 1.0 and outcome.result["label"] == doc["label"]


def test_the_detectors_recorded_height_loss_is_used_when_present(synthetic) -> None:
    case = _case(synthetic)
    case.findings.append(Finding(name="vertebral_height_loss", value=55.0, unit="%", level="L1", basis="detector"))
    scores = score_case(case)
    row = next(r for r in scores.find("SINS", "L1").items if r.name == "collapse")
    assert row.choice == "gt50" and "recorded by the lesion detection" in row.basis
