"""One study end to end: load -> vertebra labels -> lesions -> HU -> radiomics -> scores -> case folder.

:data:`STEPS` is the ordered list of steps (:mod:`.steps`); adding automatic lesion
detection later means replacing the ``lesions`` step, nothing else. :func:`run_study`
runs them, saves a case folder (CT, label maps, one label map of the radiomics ROIs, HU
ROIs, findings, clinical entries, provenance of every step with the settings hash) and
the completion marker (:mod:`.resume`). It raises on failure; :func:`run_study_safe` (what
cohort workers call) turns any failure into a recorded :class:`StudyResult` instead.
"""

from __future__ import annotations

import logging
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from . import steps as _steps
from .manifest import Study
from .resume import clear_marker, finished_rows, write_done
from .settings import PipelineSettings
from .table import is_feature_column

__all__ = ["STEPS", "StudyResult", "PipelineSettings", "run_study", "run_study_safe", "case_id_for"]

log = logging.getLogger(__name__)

#: The steps, in order: (name, function of the state).
STEPS: list[tuple[str, Callable[[_steps.StudyState], None]]] = [
    ("load", _steps.load_image),
    ("vertebrae", _steps.vertebra_labels),
    ("lesions", _steps.lesion_labels),
    ("trabecular_hu", _steps.trabecular_hu),
    ("radiomics", _steps.radiomics),
    ("scores", _steps.scores),
]
_CASE_NAMESPACE = uuid.UUID("5d0c3c3e-2f4b-4d8e-9a57-6a3c2b1e9f10")


@dataclass
class StudyResult:
    """What became of one study: done (computed), skipped (reused) or failed (with the error)."""

    study_id: str
    status: str
    case_dir: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    error_type: str = ""
    error_message: str = ""
    failed_step: str = ""
    seconds: float = 0.0
    worker: str = ""
    device: str = ""
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "rows"} | {"n_rows": len(self.rows)}


def case_id_for(study_id: str) -> str:
    """A case ID derived from the study ID, so a rerun rewrites the same case (not 'another case')."""
    return uuid.uuid5(_CASE_NAMESPACE, study_id).hex


def run_study(study: Study, out_dir: str | PathLike[str], settings: PipelineSettings | None = None, *,
              resume: bool = True, worker: str = "") -> StudyResult:
    """Process one study into the case folder ``out_dir``; reuses a finished result when ``resume``."""
    settings = settings or PipelineSettings()
    out_dir = Path(out_dir)
    start = time.perf_counter()
    digest = settings.settings_hash()
    if resume:
        rows = finished_rows(out_dir, study, digest)
        if rows is not None:
            log.info("study %s: complete with these settings, reused", study.study_id)
            return StudyResult(study.study_id, "skipped", str(out_dir), rows=rows, worker=worker)
    _set_threads(settings.torch_threads)
    state = _steps.StudyState(study=study, settings=settings)
    step_name = ""
    try:
        for step_name, step in STEPS:
            t = time.perf_counter()
            step(state)
            state.steps.setdefault(step_name, {})["seconds"] = round(time.perf_counter() - t, 3)
            log.info("study %s: %s done", study.study_id, step_name)
        step_name = "save"
        for row in state.rows:
            row.update(study_id=study.study_id, label_source=state.label_source, lesion_source=state.lesion_source,
                       device=state.device or settings.device)
        out_dir.mkdir(parents=True, exist_ok=True)
        clear_marker(out_dir)
        case = _save_case(state, out_dir, digest)
        if settings.write_report:
            _write_report(case, out_dir, state)
        write_done(out_dir, study, digest, state.rows, {"steps": sorted(state.steps)})
    except Exception as exc:
        exc.add_note(f"study {study.study_id}, step {step_name}")
        raise
    return StudyResult(study.study_id, "done", str(out_dir), rows=state.rows, seconds=time.perf_counter() - start,
                       worker=worker, device=state.device, notes=state.notes)


def run_study_safe(study: Study, out_dir: str | PathLike[str], settings: PipelineSettings, *,
                   resume: bool = True, worker: str = "") -> StudyResult:
    """:func:`run_study`, with any failure returned as a ``failed`` result (a cohort goes on)."""
    start = time.perf_counter()
    try:
        return run_study(study, out_dir, settings, resume=resume, worker=worker)
    except Exception as exc:  # noqa: BLE001 - every failure of one study is recorded, none stops the cohort
        notes = getattr(exc, "__notes__", [])
        step = notes[-1].rsplit("step ", 1)[-1] if notes else ""
        log.warning("study %s failed at %s: %s: %s", study.study_id, step, type(exc).__name__, exc)
        log.debug("%s", "".join(traceback.format_exception(exc)))
        return StudyResult(study.study_id, "failed", str(out_dir), error_type=type(exc).__name__,
                           error_message=" ".join(str(exc).split()), failed_step=step,
                           seconds=time.perf_counter() - start, worker=worker)


def _set_threads(n: int) -> None:
    import torch

    if torch.get_num_threads() != n:
        torch.set_num_threads(n)


def _save_case(state: _steps.StudyState, out_dir: Path, digest: str) -> Any:
    """The case folder: images, labels, ROIs, findings, clinical entries and each step's provenance."""
    from ..case import Case
    from ..case_parts import Origin, Roi, RoiKind
    from ..case_store import save_case
    from ..measure.hu_roi import record_hu_in_case
    from ..volume import LabelMap

    case = Case(case_id=case_id_for(state.study.study_id))
    case.add_volume(state.volume, "CT")
    case.set_label_map("vertebrae", state.vertebrae, "CT")
    if state.parts is not None:
        case.set_label_map("parts", state.parts, "CT")
    if state.lesion_report is not None:  # lesion records, fractures and provenance, as the Lesions dock keeps them
        from ..detection.record import record_lesions_in_case

        record_lesions_in_case(case, state.lesion_report, state.volume)
    elif state.lesions is not None:
        case.set_label_map("lesions", state.lesions, "CT")
    case.clinical = _clinical_entries(state.study.clinical)
    record_hu_in_case(case, state.hu_report, state.volume)
    if state.masks:
        ids = {roi_id: k for k, roi_id in enumerate(sorted(state.masks), start=1)}
        roi_map = np.zeros(state.volume.shape, dtype=np.uint16)
        for roi_id, mask in state.masks.items():
            roi_map[mask] = ids[roi_id]
        case.set_label_map("radiomics_rois", LabelMap(roi_map, state.volume.affine, names={v: k for k, v in ids.items()},
                                                      name="radiomics_rois", source="cohort pipeline"), "CT")
        next_id = max((r.id for r in case.rois), default=0) + 1
        for row in state.rows:
            if row["roi_id"] not in ids:
                continue
            values = {k: v for k, v in row.items() if is_feature_column(k)}
            case.rois.append(Roi(id=next_id, level=row["level"] or None, kind=RoiKind.RADIOMICS, label_map="radiomics_rois",
                                 label_id=ids[row["roi_id"]], origin=Origin.AUTOMATIC,
                                 measurements={"roi_id": row["roi_id"], "roi_kind": row["roi_kind"], **values}))
            next_id += 1
    for name, params in state.steps.items():
        if name == "trabecular_hu":  # recorded by record_hu_in_case
            continue
        case.record_step(name, model=f"napari_spine_mets.cohort {__version__}",
                         parameters={**params, "pipeline_settings_sha256": digest})
    from ..scores.from_case import record_scores_in_case

    record_scores_in_case(case)  # every score the entries and images allow, as the Scores dock computes them
    case.notes = "; ".join(state.notes)
    save_case(case, out_dir, overwrite=False)
    return case


def _write_report(case: Any, out_dir: Path, state: _steps.StudyState) -> None:
    """The per-study report (PDF + HTML, de-identified) in ``out_dir/report``; a failure is a note, not a lost study."""
    from ..errors import SpineMetsError
    from ..report import write_report

    try:
        write_report(case, out_dir / "report", formats=("pdf", "html"))
    except (SpineMetsError, OSError, ValueError) as exc:
        log.warning("study %s: report not written: %s", state.study.study_id, exc)
        state.notes.append(f"report not written: {exc}")


def _clinical_entries(values: dict[str, Any]) -> Any:
    """Manifest values as ClinicalEntries (known fields) plus extras (everything else); NaN = not entered."""
    import dataclasses

    from ..case_parts import ClinicalEntries

    known = {f.name: f.type for f in dataclasses.fields(ClinicalEntries) if f.name != "extras"}
    entries: dict[str, Any] = {}
    extras: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, float) and value != value:
            continue
        if key in known:
            t = str(known[key])
            entries[key] = int(value) if "int" in t and isinstance(value, float) else (
                bool(value) if "bool" in t and isinstance(value, float) else value)
        else:
            extras[key] = value
    return ClinicalEntries(**entries, extras=extras)
