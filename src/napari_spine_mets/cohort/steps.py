"""The steps of the study pipeline, one small function each, acting on a :class:`StudyState`.

Every step reads what earlier steps put in the state and adds its own results; a step
that cannot apply says so in ``state.notes`` (e.g. lesion detection not installed)
instead of failing the study. Steps raise :class:`~napari_spine_mets.errors.SpineMetsError`
(or anything else) for a study that cannot be processed; the runner records it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from .manifest import Study
from .settings import PipelineSettings

__all__ = ["StudyState", "load_image", "vertebra_labels", "lesion_labels", "trabecular_hu", "radiomics", "scores"]

log = logging.getLogger(__name__)


@dataclass
class StudyState:
    """What the steps of one study share."""

    study: Study
    settings: PipelineSettings
    volume: Any = None
    vertebrae: Any = None
    parts: Any = None
    lesions: Any = None
    #: The detector's full report when lesions were detected (records, fractures, evidence).
    lesion_report: Any = None
    label_source: str = ""
    lesion_source: str = ""
    hu_report: Any = None
    #: One dict per ROI: its identity, HU, scores and features (clinical columns are joined later).
    rows: list[dict[str, Any]] = field(default_factory=list)
    #: ROI masks by row's roi_id (saved in the case as one label map).
    masks: dict[str, np.ndarray] = field(default_factory=dict)
    findings: list[Any] = field(default_factory=list)
    #: Provenance of each step: name -> parameters (what ran, with which source/model).
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    device: str = ""


def load_image(state: StudyState) -> None:
    """The CT (DICOM folder or NIfTI file); HU tools need CT, so anything else stops here."""
    from ..io.nifti import is_nifti_path, read_nifti
    from ..measure.hu_roi import check_hu_volume

    path = state.study.path
    if is_nifti_path(path):
        volume = read_nifti(path, name="CT")
    else:
        from ..io.dicom import read_dicom_series

        volume = read_dicom_series(path)
        volume.name = "CT"
    check_hu_volume(volume)
    state.volume = volume
    state.steps["load"] = {"source": str(path), "shape": list(volume.shape),
                           "spacing_mm": [round(float(s), 4) for s in volume.spacing]}


def vertebra_labels(state: StudyState) -> None:
    """Vertebra (and parts) labels given with the study, else from the segmentation model; records which."""
    from ..io.nifti import read_label_nifti
    from ..io.resample import labels_onto_grid
    from ..measure.vertebral_body import vertebra_levels_present

    study, policy = state.study, state.settings.label_source
    if study.labels is not None and policy in ("auto", "given"):
        from ..io.totalsegmentator import read_totalsegmentator

        state.vertebrae = read_totalsegmentator(study.labels, target=state.volume, name="vertebrae")
        state.label_source = f"given:{study.labels.name}"
        if study.parts is not None:
            parts = read_label_nifti(study.parts, name="parts")
            state.parts = labels_onto_grid(parts, state.volume.shape, state.volume.affine)
        state.steps["vertebrae"] = {"source": "given", "labels": str(study.labels),
                                    "parts": str(study.parts) if study.parts else None}
    elif policy == "given":
        raise InputError(study.path, "no vertebra labels given with this study (label source 'given')")
    else:
        _segment(state)
    levels = vertebra_levels_present(state.vertebrae)
    if not levels:
        raise InputError(study.labels or study.path, "no vertebra is labelled: no spine to measure")
    state.steps["vertebrae"]["levels"] = levels


def _segment(state: StudyState) -> None:
    from ..segmentation.inference import segment_vertebrae
    from ..segmentation.weights import WeightsError

    try:
        result = segment_vertebrae(state.volume, device=state.settings.device,
                                   precision=state.settings.precision)
    except WeightsError as exc:
        raise InputError(state.study.path, "no vertebra labels were given with this study and the segmentation "
                         f"model is not available ({exc}); give a 'labels' file (e.g. TotalSegmentator output)") from exc
    state.vertebrae, state.parts = result.vertebrae, result.parts
    state.label_source = "model:" + str(result.provenance.get("weights", "vertebrae-ct"))
    state.steps["vertebrae"] = {"source": "model", **{k: v for k, v in result.provenance.items()
                                                     if isinstance(v, (str, int, float, bool, type(None)))}}
    state.notes.extend(result.notes)


def lesion_labels(state: StudyState) -> None:
    """Lesions given with the study, else detected automatically (or skipped, and recorded why)."""
    from ..io.nifti import read_label_nifti
    from ..io.resample import labels_onto_grid

    if state.study.lesions is not None:
        lesions = read_label_nifti(state.study.lesions, name="lesions")
        state.lesions = labels_onto_grid(lesions, state.volume.shape, state.volume.affine)
        state.lesion_source = f"given:{state.study.lesions.name}"
        state.steps["lesions"] = {"source": "given", "file": str(state.study.lesions)}
        return
    if not state.settings.detect_lesions:
        why = "automatic lesion detection switched off in the settings; no lesion file given"
    else:
        from ..detection import detect_lesions
        from ..errors import SpineMetsError

        try:
            report = detect_lesions(state.volume, state.vertebrae, parts=state.parts)
        except SpineMetsError as exc:  # a study without detectable bone still gets its HU and features
            why = f"automatic lesion detection not possible: {exc}"
        else:
            state.lesions = report.labels
            state.lesion_report = report
            state.lesion_source = "detected"
            state.steps["lesions"] = {"source": "detected", "count": len(report.lesions)}
            return
    state.lesion_source = "none"
    state.steps["lesions"] = {"source": "none", "skipped": why}
    state.notes.append(why)


def trabecular_hu(state: StudyState) -> None:
    """Trabecular HU per level with the project's automatic ROIs (lesion voxels excluded)."""
    from ..measure.hu_flags import evaluate_flags
    from ..measure.hu_roi import HuParams, measure_trabecular_hu

    params = HuParams(**state.settings.hu)
    report = measure_trabecular_hu(state.volume, state.vertebrae, parts=state.parts, lesions=state.lesions,
                                   params=params)
    state.hu_report = evaluate_flags(report)
    state.steps["trabecular_hu"] = {"method": report.method, "parameters": params.to_json()}


def radiomics(state: StudyState) -> None:
    """Features of each vertebral body and each lesion; a ROI that cannot be measured keeps its row with the reason."""
    from ..measure.vertebral_body import NoBodyError, find_vertebral_body

    shape = state.volume.shape
    for level, level_hu in state.hu_report.levels.items():
        row = _base_row("vertebral_body", f"body-{level}", level, None)
        _hu_columns(row, level_hu)
        try:
            body = find_vertebral_body(state.vertebrae, level, state.parts)
        except NoBodyError as exc:
            row["roi_problem"] = str(exc)
            state.rows.append(row)
            continue
        mask = np.zeros(shape, dtype=bool)
        for z in range(body.z_first, body.z_last + 1):
            mask[z] = body.full_slice_mask(z, shape[1:])
        _features(state, row, mask)
    if state.lesions is not None:
        for lesion_id in (int(v) for v in np.unique(state.lesions.array) if v > 0):
            mask = np.asarray(state.lesions.array) == lesion_id
            row = _base_row("lesion", f"lesion-{lesion_id}", _level_of(state.vertebrae, mask), lesion_id)
            if int(mask.sum()) < state.settings.min_lesion_voxels:
                row["roi_problem"] = f"{int(mask.sum())} voxels: fewer than {state.settings.min_lesion_voxels}"
                row["roi_voxels"] = int(mask.sum())
                state.rows.append(row)
                continue
            _features(state, row, mask)
    state.steps["radiomics"] = {"feature_settings": state.settings.radiomics,
                                "feature_settings_sha256": state.settings.feature_settings_hash(),
                                "device": state.device}


def _base_row(kind: str, roi_id: str, level: str | None, lesion_id: int | None) -> dict[str, Any]:
    return {"roi_id": roi_id, "roi_kind": kind, "level": level or "", "lesion_id": lesion_id, "roi_problem": ""}


def _hu_columns(row: dict[str, Any], level_hu: Any) -> None:
    c = level_hu.combined
    row.update(hu_mean=c.mean, hu_median=c.median, hu_sd=c.sd, hu_voxels=c.n_voxels, hu_usable=bool(level_hu.usable),
               hu_problem=level_hu.problem or "")


def _level_of(vertebrae: Any, mask: np.ndarray) -> str | None:
    """The level whose label overlaps the lesion most (None when it lies outside every vertebra)."""
    from ..anatomy import level_of_label

    labels, counts = np.unique(np.asarray(vertebrae.array)[mask], return_counts=True)
    ranked = sorted(((int(n), int(lab)) for lab, n in zip(labels, counts) if lab > 0 and level_of_label(int(lab))),
                    reverse=True)
    return level_of_label(ranked[0][1]) if ranked else None


def _features(state: StudyState, row: dict[str, Any], mask: np.ndarray) -> None:
    from ..radiomics.engine import extract
    from ..radiomics.errors import RadiomicsError

    row["roi_voxels"] = int(mask.sum())
    state.masks[row["roi_id"]] = mask
    try:
        result = extract(np.asarray(state.volume.array), mask.astype(np.uint8), state.volume.spacing,
                         state.settings.radiomics_settings(), device=state.settings.device, workers=1)
    except RadiomicsError as exc:
        row["roi_problem"] = f"radiomics: {exc}"
    else:
        row.update(result.features)
        state.device = str(result.device.get("device", state.device))
    state.rows.append(row)


def scores(state: StudyState) -> None:
    """The scores the data allow: HU bone quality per level, Bilsky CT estimate at lesion levels, PNI.

    HU bands and PNI come from the same functions as the case's scores (:mod:`..scores.from_case`),
    so a table row and the study's case folder agree.
    """
    from ..case_parts import ClinicalEntries
    from ..scores import ScoreInputError, bilsky_ct_estimate_from_labels, pni_from_entries
    from ..scores.from_case import hu_quality_on_scan

    done: list[str] = []
    for row in state.rows:
        if row["roi_kind"] == "vertebral_body" and row.get("hu_usable"):
            row["hu_band"] = hu_quality_on_scan(row["hu_mean"], row["level"], state.volume.metadata).band
            done.append("hu_bone_quality")
        if row["roi_kind"] == "lesion" and row["level"] and state.parts is not None:
            try:
                r = bilsky_ct_estimate_from_labels(state.parts, state.vertebrae, row["level"])
                row.update(bilsky_ct_ratio=float(r.total), bilsky_ct_band=r.band)  # type: ignore[arg-type]
                done.append("bilsky_ct_estimate")
            except ScoreInputError as exc:
                row["bilsky_ct_problem"] = str(exc)
    albumin = state.study.clinical.get("albumin_g_per_l")
    lymph = state.study.clinical.get("lymphocytes_1e9_per_l")
    if _present(albumin) and _present(lymph):
        try:
            entries = ClinicalEntries(albumin_g_per_l=float(albumin), lymphocytes_1e9_per_l=float(lymph))
            value = pni_from_entries(entries).total
            for row in state.rows:
                row["pni"] = value
            done.append("pni")
        except ScoreInputError as exc:
            state.notes.append(f"PNI not computed: {exc}")
    state.steps["scores"] = {"computed": sorted(set(done)), "not_computed": {
        "sins, tokuhashi, tomita, bauer": "need clinical entries (pain, neurology, primary site...) the cohort "
                                          "pipeline does not infer"}}


def _present(value: Any) -> bool:
    try:
        return value is not None and float(value) == float(value)
    except (TypeError, ValueError):
        return False


def input_files(study: Study) -> list[Path]:
    """Every file the study reads (folders walked), for the resume fingerprint."""
    out: list[Path] = []
    for p in study.files().values():
        out.extend(sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p])
    return out
