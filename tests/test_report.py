"""The case report (issue 7 "Report", issue 8's per-study report): PDF, HTML, CSV, CLI, partial cases.

The full case is a small synthetic spine CT (T11-L4, six lesions) with its ground-truth
labels, lesion records (one rejected), automatic trabecular HU ROIs and score findings
computed by the project's own calculators; the expectations are derived from that case,
not typed in.
"""

from __future__ import annotations

import copy
import csv
import functools
import io
import json
import math
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from napari_spine_mets.case import Case, ClinicalEntries, Finding, HuStats, Lesion, LesionKind, LesionStatus, RoiKind
from napari_spine_mets.report import NOT_COMPUTED, build_report, write_report

HOSTILE_NAME = '<script>alert("x")</script> $\\frac{a}{b}$ Doe^Jane'
PATIENT_ID = "PID-98765"
PRIVATE_PATH = "/data/Doe_Jane_1960/vertebrae.nii.gz"
LEVELS = ("T11", "T12", "L1", "L2", "L3", "L4")
REJECTED = 5


@functools.lru_cache(maxsize=1)
def _generated():
    from napari_spine_mets.synthetic import SpineParams, generate_spine_ct

    return generate_spine_ct(SpineParams(levels=LEVELS, spacing_mm=(2.5, 1.0, 1.0), fov_mm=200))


def _synthetic():
    """A fresh copy of the (once generated) synthetic case: tests may change it."""
    return copy.deepcopy(_generated())


def _full_case() -> Case:
    from napari_spine_mets import scores
    from napari_spine_mets.measure.hu_flags import evaluate_flags
    from napari_spine_mets.measure.hu_roi import measure_trabecular_hu, record_hu_in_case
    from napari_spine_mets.models.demo import DEMO_FEATURE_SETTINGS, load_demo
    from napari_spine_mets.models.from_case import ModelOutcome, record_model_in_case
    from napari_spine_mets.models.nomogram import apply_nomogram

    syn = _synthetic()
    ident = syn.ct.metadata.identity
    ident.name, ident.patient_id, ident.birth_date = HOSTILE_NAME, PATIENT_ID, "19600101"
    case = Case()
    case.add_volume(syn.ct, "CT")
    for name in ("vertebrae", "parts", "lesions"):
        case.set_label_map(name, getattr(syn, name), "CT")
    for t in syn.lesion_truth:
        case.lesions.append(Lesion(id=t.id, level=t.level, kind=LesionKind(t.kind), volume_mm3=t.volume_mm3,
                                   hu=HuStats(mean=t.mean_hu), confidence=0.8, source="synthetic ground truth",
                                   status=LesionStatus.REJECTED if t.id == REJECTED else LesionStatus.ACCEPTED))
    hu = evaluate_flags(measure_trabecular_hu(syn.ct, syn.vertebrae, parts=syn.parts, lesions=syn.lesions))
    record_hu_in_case(case, hu, syn.ct)
    case.clinical = ClinicalEntries(age_years=71, sex="M", pain="mechanical", primary_site="breast",
                                    extras={"comment": '=HYPERLINK("http://x")'})
    sins = scores.sins(location="T12", pain="mechanical", bone_lesion="lytic", alignment="normal", collapse="lt50",
                       posterolateral="unilateral")
    sins.level = "T12"
    case.findings += sins.to_findings()
    case.findings += scores.bilsky_grade("1c", level="T12").to_findings()
    case.findings += scores.tomita(visceral_metastases="none", bone_metastases="multiple", growth="slow").to_findings()
    case.findings += scores.pni(albumin_g_per_dl=3.9, lymphocytes_per_mm3=1500).to_findings()
    model = load_demo("nomogram")
    values = {f: 0.2 for f in model["model"]["radiomics"]["features"]} | {"age_years": 71, "alp_u_per_l": 150}
    outcome = ModelOutcome(name=model["name"], kind=model["kind"], demonstration=True, label=model["label"],
                           disclaimer=model["disclaimer"],
                           result=apply_nomogram(model, values, settings=DEMO_FEATURE_SETTINGS))
    record_model_in_case(case, outcome)
    case.findings.append(Finding(name="revised Tokuhashi", level=None, basis="not computed: Karnofsky not entered; "
                                 "Frankel grade not entered"))
    case.record_step("vertebrae", model="vertebrae-ct", model_version="2.1", weights_sha256="c0ffee" * 10 + "beef",
                     parameters={"overlap": 0.5, "labels": PRIVATE_PATH})
    case.record_edit("dr.reviewer", "rejected lesion 5", f"lesion:{REJECTED}")
    return case


@pytest.fixture(scope="module")
def full_case() -> Case:
    return _full_case()


@pytest.fixture(scope="module")
def written(full_case: Case, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_report(full_case, tmp_path_factory.mktemp("report"))


def _pdf_pages(path: Path) -> int:
    return len(re.findall(rb"/Type\s*/Page\b", path.read_bytes()))


def _pdf_text(path: Path, page: int | None = None) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) not installed")
    pages = ["-f", str(page), "-l", str(page)] if page else []
    return subprocess.run(["pdftotext", "-layout", *pages, str(path), "-"], capture_output=True, text=True,
                          check=True, timeout=60).stdout


def _csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


# ----------------------------------------------------------------------------- PDF
def test_pdf_has_its_pages_with_footer_disclaimer_and_sections(written: dict[str, Path], full_case: Case) -> None:
    pdf = written["pdf"]
    n = _pdf_pages(pdf)
    drawn = [les for les in full_case.lesions if les.status != LesionStatus.REJECTED]
    hu_levels = {r.level for r in full_case.rois if r.kind == RoiKind.TRABECULAR_HU}
    # page 1 (overview) + lesion pages (6 a page) + HU ROI pages (3 a page) + at least one page of tables
    assert n >= 1 + math.ceil(len(drawn) / 6) + math.ceil(len(hu_levels) / 3) + 1
    for page in range(1, n + 1):
        text = _pdf_text(pdf, page)
        assert f"page {page} of {n}" in text
        assert "not a diagnosis" in text.lower()
    first = _pdf_text(pdf, 1)
    assert "DECISION SUPPORT, NOT A DIAGNOSIS" in first and "Sagittal overview" in first
    assert "De-identified report" in first
    assert "Lesions: axial images" in _pdf_text(pdf, 2)
    assert "Trabecular HU ROIs on their slices" in _pdf_text(pdf, 2 + math.ceil(len(drawn) / 6))


def test_pdf_text_holds_tables_and_no_identifiers(written: dict[str, Path], full_case: Case) -> None:
    text = _pdf_text(written["pdf"])
    for title in ("Trabecular bone HU per level", "Lesions", "Scores", "Provenance: automatic steps",
                  "Provenance: edits by users"):
        assert title in text
    for level in {r.level for r in full_case.rois if r.kind == RoiKind.TRABECULAR_HU}:
        assert re.search(rf"^\s*{level}\s", text, flags=re.MULTILINE), level
    for score in ("SINS", "Bilsky", "Tomita", "PNI", "Nomogram"):
        assert score in text
    assert re.search(r"Tokuhashi.*\n?.*not computed", text) and re.search(r"Bauer.*\n?.*not computed", text)
    assert "vertebrae-ct" in text and "dr.reviewer" in text
    sha = "c0ffee" * 10 + "beef"  # the SHA-256 in full, wrapped over lines of its column
    assert "".join(chunk for chunk in re.findall(r"[0-9a-f]{4,}", text) if chunk in sha) == sha
    for secret in ("Doe", PATIENT_ID, "19600101", "Doe_Jane_1960"):
        assert secret not in text


# ----------------------------------------------------------------------------- HTML
def test_html_has_tables_images_and_escapes_a_hostile_name(full_case: Case, tmp_path: Path) -> None:
    html = write_report(full_case, tmp_path, formats="html", identified=True)["html"].read_text(encoding="utf-8")
    report = build_report(full_case, identified=True, images=False)
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert PATIENT_ID in html and "IDENTIFIED REPORT" in html
    assert "Content-Security-Policy" in html and "default-src &#x27;none&#x27;" in html
    for table in report.tables:
        assert f'<section id="{table.key}">' in html
        assert html.split(f'<section id="{table.key}">')[1].split("</section>")[0].count("<tr>") == len(table.rows) + 1
    n_images = html.count('src="data:image/png;base64,')
    lesions_drawn = sum(les.status != LesionStatus.REJECTED for les in full_case.lesions)
    hu_levels = len({r.level for r in full_case.rois if r.kind == RoiKind.TRABECULAR_HU})
    assert n_images == 1 + lesions_drawn + hu_levels
    assert PRIVATE_PATH in html  # identified: settings shown in full


def test_deidentified_html_holds_no_identifier(written: dict[str, Path]) -> None:
    html = re.sub(r"base64,[A-Za-z0-9+/=]+", "", written["html"].read_text(encoding="utf-8"))  # text only
    for secret in ("Doe", "script", PATIENT_ID, "19600101", "Doe_Jane_1960"):
        assert secret not in html
    assert "&lt;path withheld&gt;" in html and "De-identified report" in html


# ----------------------------------------------------------------------------- CSV
def test_csv_tables_have_the_case_rows(written: dict[str, Path], full_case: Case) -> None:
    lesions = _csv(written["csv:lesions"])
    assert sorted(int(r["ID"]) for r in lesions) == sorted(les.id for les in full_case.lesions)
    assert {r["Status"] for r in lesions if int(r["ID"]) == REJECTED} == {"rejected"}
    truth = {les.id: les for les in full_case.lesions}
    for row in lesions:
        assert float(row["Volume mm³"]) == pytest.approx(truth[int(row["ID"])].volume_mm3, abs=0.5)
    levels = _csv(written["csv:per_level_hu"])
    findings = {f.level: f.value for f in full_case.findings if f.name == "trabecular_hu"}
    assert [r["Level"] for r in levels] == [lv for lv in LEVELS if lv in findings]
    for row in levels:  # pooled from the stored slice figures: equal to the measured combined mean
        if findings[row["Level"]] is not None:
            assert float(row["Mean HU"]) == pytest.approx(findings[row["Level"]], abs=0.2)
    scores = _csv(written["csv:scores"])
    by_score = {r["Score"]: r for r in scores}
    assert by_score["Tokuhashi (revised)"]["Result"] == NOT_COMPUTED  # recorded with what stopped it
    assert "Karnofsky not entered" in by_score["Tokuhashi (revised)"]["Components and basis"]
    assert by_score["Bauer (modified)"]["Result"] == NOT_COMPUTED
    assert by_score["SINS"]["Level"] == "T12" and by_score["SINS"]["Result"].startswith("11 points")
    assert "alp_u_per_l>120" in by_score["Nomogram"]["Components and basis"]
    assert "demonstration" in by_score["Nomogram"]["Source"].lower()
    provenance = _csv(written["csv:provenance"])
    steps = [r for r in provenance if r["table"] == "Provenance: automatic steps"]
    assert [s["Step"] for s in steps] == [s.name for s in full_case.provenance.steps]
    assert any(r["Weights SHA-256"] == "c0ffee" * 10 + "beef" for r in steps)
    clinical = {r["Entry"]: r["Value"] for r in _csv(written["csv:clinical"])}
    assert clinical["comment"].startswith("'=")  # not run as a spreadsheet formula


def test_pooling_slice_statistics_equals_pooling_voxels() -> None:
    from napari_spine_mets.report.hu_table import pool_slices

    rng = np.random.default_rng(3)
    parts = [rng.normal(150 + 20 * k, 10 + 5 * k, size=40 + 17 * k) for k in range(3)]
    pooled = pool_slices([(float(p.mean()), float(p.std(ddof=1)), p.size) for p in parts])
    every = np.concatenate(parts)
    assert pooled is not None and pooled.n_voxels == every.size
    assert pooled.mean == pytest.approx(every.mean()) and pooled.sd == pytest.approx(every.std(ddof=1))
    assert pool_slices([]) is None


# ----------------------------------------------------------------------------- partial cases
def _partial(kind: str) -> Case:
    syn = _synthetic()
    case = Case()
    if kind == "empty":
        return case
    case.add_volume(syn.ct, "CT")
    if kind in ("vertebrae", "labels only"):
        case.set_label_map("vertebrae", syn.vertebrae, "CT")
    if kind == "labels only":
        case.set_label_map("lesions (ground truth)", syn.lesions, "CT")
    return case


@pytest.mark.parametrize("kind", ["empty", "ct", "vertebrae", "labels only"])
def test_partial_case_gives_a_report_that_says_what_is_missing(kind: str, tmp_path: Path) -> None:
    case = _partial(kind)
    written = write_report(case, tmp_path)
    assert written["pdf"].stat().st_size > 1000 and _pdf_pages(written["pdf"]) >= 2
    html = written["html"].read_text(encoding="utf-8")
    assert "Not in this case:" in html
    assert ("no vertebra labels" in html) == (kind in ("ct",))
    assert ("no image volume in the case" in html) == (kind == "empty")
    hu = _csv(written["csv:per_level_hu"])
    assert len(hu) == 1 and hu[0]["ROIs"] == NOT_COMPUTED and hu[0]["Mean HU"] == ""
    scores = _csv(written["csv:scores"])
    assert {r["Result"] for r in scores} == {NOT_COMPUTED}
    lesions = _csv(written["csv:lesions"])
    if kind == "labels only":  # labels without records are listed, measured from the map, kind from the names
        present = sorted(int(v) for v in np.unique(case.label_maps["lesions (ground truth)"].array) if v > 0)
        assert [int(r["ID"]) for r in sorted(lesions, key=lambda r: int(r["ID"]))] == present
        assert {r["Status"] for r in lesions} == {"label only (no record)"}
        assert {r["Type"] for r in lesions} == {"lytic", "blastic", "mixed"}
        assert html.count('src="data:image/png;base64,') == 1 + len(present)
    else:
        assert len(lesions) == 1 and lesions[0]["Status"] == NOT_COMPUTED and lesions[0]["ID"] == ""


# ----------------------------------------------------------------------------- images
def _decode(png: bytes) -> np.ndarray:
    from matplotlib.image import imread

    return imread(io.BytesIO(png), format="png")[..., :3]


def test_sagittal_overview_draws_level_text_at_each_vertebra(monkeypatch: pytest.MonkeyPatch) -> None:
    from scipy import ndimage

    from napari_spine_mets.report import images
    from napari_spine_mets.report.inputs import find_inputs

    case = _partial("vertebrae")
    inputs = find_inputs(case)
    with_levels = _decode(images.sagittal_overview(inputs, []).png)
    monkeypatch.setattr(images, "_centroids", lambda vertebrae: {})
    without = _decode(images.sagittal_overview(inputs, []).png)
    assert with_levels.shape == without.shape
    changed = np.abs(with_levels - without).max(axis=2) > 0.2
    blobs, n = ndimage.label(ndimage.binary_dilation(changed, iterations=3))
    assert n == len(LEVELS)  # one text per vertebra, nothing else changed
    heights = sorted(ndimage.center_of_mass(changed, blobs, range(1, n + 1)))
    assert np.all(np.diff([h for h, _ in heights]) > 5)  # stacked from head to feet, not on top of each other


def test_images_are_oriented_as_radiologists_view_them() -> None:
    """Sagittal: head up, anterior left. Axial: anterior up, the patient's left on the right."""
    from napari_spine_mets.io.geometry import affine_from_napari
    from napari_spine_mets.report.images import lesion_images, sagittal_overview
    from napari_spine_mets.report.inputs import find_inputs
    from napari_spine_mets.report.lesion_list import lesion_entries
    from napari_spine_mets.volume import LabelMap, Volume, VolumeMetadata

    shape = (40, 60, 60)  # (S, P, L) indices: z up = superior, y up = posterior, x up = patient's left
    array = np.full(shape, -1000, dtype=np.int16)
    array[30:, :20, :] = 900  # superior and anterior: a block, grey 0.78 in the bone window (-500..1300 HU)
    array[5:15, 40:, 40:] = 400  # inferior, posterior, left: grey 0.5
    affine = affine_from_napari((2.0, 1.0, 1.0), (0.0, 0.0, 0.0))
    lesions = np.zeros(shape, dtype=np.uint8)
    lesions[20, 5:10, 45:55] = 1  # anterior, patient's left
    case = Case()
    case.add_volume(Volume(array, affine, VolumeMetadata(modality="CT"), "CT"))
    case.set_label_map("lesions", LabelMap(lesions, affine, names={1: "lesion_1_lytic"}), "CT")
    inputs = find_inputs(case)
    sag = _decode(sagittal_overview(inputs, lesion_entries(case, inputs)).png)
    grey = np.ptp(sag, axis=2) < 0.02  # the image, not the coloured outlines and letters
    image_rows, image_cols = np.nonzero(grey & (sag[..., 0] < 0.95))  # the image's extent (black air included)
    rows, cols = np.nonzero(grey & (np.abs(sag[..., 0] - 0.78) < 0.05))
    assert rows.size > 100
    assert rows.mean() < image_rows.mean() and cols.mean() < image_cols.mean()  # top (superior), left (anterior)
    entry = lesion_entries(case, inputs)
    (axial,) = lesion_images(inputs, entry)
    img = _decode(axial.png)
    orange = (img[..., 0] > 0.8) & (img[..., 1] > 0.35) & (img[..., 1] < 0.65) & (img[..., 2] < 0.3)
    rows, cols = np.nonzero(orange)
    assert rows.size and rows.mean() < img.shape[0] / 2 and cols.mean() > img.shape[1] / 2


# ----------------------------------------------------------------------------- scores
def test_scores_table_shows_model_breakdown_and_flags(full_case: Case) -> None:
    table = build_report(full_case, images=False).table("scores")
    rows = {r[0]: r for r in table.rows}
    prediction = next(f for f in full_case.findings if f.name == "model prediction")
    assert rows["Nomogram"][2] == f"probability {prediction.value:.3g}\n(of outcome = 1)"
    assert "points" in rows["Nomogram"][3] and "radscore" in rows["Nomogram"][3]
    sins_flags = [f.value for f in full_case.findings if f.name == "SINS: flag"]
    assert sins_flags and all(f"! {flag}" in rows["SINS"][3] for flag in sins_flags)
    assert rows["SINS"][4].startswith("Fisher")
    assert [r[2] for r in table.rows if r[0] == "Bauer (modified)"] == [NOT_COMPUTED]  # no finding: a row says so


# ----------------------------------------------------------------------------- CLI
def test_cli_writes_the_report_of_a_case_folder(full_case: Case, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    from napari_spine_mets.case_store import save_case
    from napari_spine_mets.cli import main

    save_case(full_case, tmp_path / "case")
    assert main(["report", str(tmp_path / "case"), "--out", str(tmp_path / "out"), "--format", "csv,html",
                 "--identified", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["identified"] is True and set(payload["written"]) >= {"html", "csv:lesions", "csv:scores"}
    assert "pdf" not in payload["written"] and not (tmp_path / "out" / "report.pdf").exists()
    assert PATIENT_ID in (tmp_path / "out" / "report.html").read_text(encoding="utf-8")  # identity.json was read
    assert main(["report", str(tmp_path / "case"), "--out", str(tmp_path / "x"), "--format", "docx"]) == 2
    assert "unknown report format 'docx'" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "nothing"), "--out", str(tmp_path / "x")]) == 2


# ----------------------------------------------------------------------------- cohort
def test_run_study_writes_the_per_study_report(tmp_path: Path) -> None:
    from test_cohort_helpers import ensure_cohort, fast_settings

    from napari_spine_mets.cohort.manifest import load_manifest
    from napari_spine_mets.cohort.pipeline import run_study

    study = load_manifest(ensure_cohort(tmp_path / "inputs", n=1)).studies[0]
    result = run_study(study, tmp_path / "case", fast_settings())
    assert result.status == "done"
    pdf, html = tmp_path / "case" / "report" / "report.pdf", tmp_path / "case" / "report" / "report.html"
    assert _pdf_pages(pdf) >= 2
    text = html.read_text(encoding="utf-8")
    assert all(f"<td>{level}</td>" in text for level in ("L1", "L2"))  # the study's two levels, measured
    off = fast_settings(write_report=False)
    assert off.settings_hash() == fast_settings().settings_hash()  # where the report goes changes no number
    run_study(study, tmp_path / "case2", off)
    assert (tmp_path / "case2" / "case.json").is_file() and not (tmp_path / "case2" / "report").exists()
