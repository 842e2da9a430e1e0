"""Lesions in the :class:`~napari_spine_mets.case.Case`: detection results, the user's review, drawn lesions.

Why a module of its own: the UI, the CLI and cohorts must record a detection the same way,
and a re-run of detection must never lose the user's work. So:

- lesions the user drew (status ``drawn``) keep their id and voxels; new detections are
  numbered around them and never paint over them (a detection lying mostly inside a drawn
  lesion is left out: the user already outlined it);
- a new detection lying mostly on a lesion the user already accepted or rejected keeps that
  review (a rejected lesion is not proposed again);
- the fracture assessment is stored with the provenance step (lesion ids renumbered), and
  the per-vertebra findings (Genant grade, height loss, possibly pathologic) are derived
  from it and the lesions' current status, so rejecting the only lesion in a collapsed body
  clears its "possibly pathologic" flag.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from ..case_parts import Finding, Lesion, LesionStatus
from ..volume import LabelMap, Volume
from .inputs import DetectionError

if TYPE_CHECKING:
    from ..case import Case
    from .pipeline import LesionReport

__all__ = [
    "LESIONS_MAP",
    "DETECTION_STEP",
    "FRACTURE_FINDINGS",
    "record_lesions_in_case",
    "refresh_fracture_findings",
    "set_lesion_status",
    "put_lesion",
    "free_lesion_id",
    "lesion_label_names",
]

log = logging.getLogger(__name__)

#: Name of the case's lesion label map (label value = ``Lesion.id``).
LESIONS_MAP = "lesions"
#: Name of the provenance step that records a detection run.
DETECTION_STEP = "lesion detection"
#: Names of the per-vertebra findings this module owns (replaced on every refresh).
FRACTURE_FINDINGS = ("genant_grade", "vertebral_height_loss", "possibly_pathologic_fracture")
_REVIEWED = (LesionStatus.ACCEPTED, LesionStatus.REJECTED)


def lesion_label_names(lesions: list[Lesion]) -> dict[int, str]:
    """Label id -> name shown in the viewer's status bar, e.g. ``lesion_3_L1_lytic``."""
    return {les.id: f"lesion_{les.id}_{les.level or 'unknown'}_{les.kind.value}" for les in lesions}


def free_lesion_id(case: "Case", *arrays: np.ndarray) -> int:
    """The smallest id above every lesion of the case and every value of ``arrays``."""
    top = max((les.id for les in case.lesions), default=0)
    for a in arrays:
        if a is not None and np.asarray(a).size:
            top = max(top, int(np.asarray(a).max()))
    return top + 1


def _ensure_volume(case: "Case", volume: Volume) -> None:
    from ..io.geometry import same_grid

    if not any(same_grid(v.shape, v.affine, volume.shape, volume.affine) for v in case.volumes.values()):
        case.add_volume(volume)


def record_lesions_in_case(case: "Case", report: "LesionReport", volume: Volume) -> list[Lesion]:
    """Put ``report``'s lesions, label map, fractures and provenance into ``case``; returns the lesions added.

    Replaces the case's earlier *detected* lesions (their review is carried over where a
    new detection lies mostly on them), keeps every drawn lesion, replaces the fracture
    findings. ``volume`` is the CT detection ran on (added to the case if no volume of
    the case has its grid).
    """
    from scipy import ndimage

    from .pipeline import METHOD_VERSION

    if report.labels.array.shape != volume.shape:
        raise DetectionError(f"the detection's labels {report.labels.array.shape} are not on the grid of "
                             f"'{volume.name}' {volume.shape}")
    old_map = case.label_maps.get(LESIONS_MAP)
    old = old_map.array if old_map is not None and old_map.array.shape == volume.shape else None
    drawn = [les for les in case.lesions if les.status == LesionStatus.DRAWN]
    previous = {les.id: les for les in case.lesions if les.status != LesionStatus.DRAWN}
    array = np.zeros(volume.shape, dtype=np.uint16)
    if old is not None:
        for les in drawn:
            array[old == les.id] = les.id
    used = {les.id for les in drawn}
    next_id = 1
    added: list[Lesion] = []
    id_map: dict[int, int] = {}
    boxes = ndimage.find_objects(report.labels.array)
    for rec in report.lesions:
        old_id = rec.lesion.id
        box = boxes[old_id - 1] if old_id - 1 < len(boxes) else None
        if box is None:
            continue
        mask = report.labels.array[box] == old_id
        n = int(mask.sum())
        free = mask & (array[box] == 0)
        if int(free.sum()) < 0.5 * n:
            log.info("detected lesion at %s left out: mostly inside a lesion the user drew", rec.lesion.level)
            continue
        while next_id in used:
            next_id += 1
        new_id, next_id = next_id, next_id + 1
        status, notes = LesionStatus.PROPOSED, [rec.lesion.notes] if rec.lesion.notes else []
        if old is not None and previous:
            under = old[box][mask]
            under = under[np.isin(under, list(previous))]
            if under.size >= 0.5 * n:
                before = previous[int(np.bincount(under.astype(np.int64)).argmax())]
                if before.status in _REVIEWED:
                    status = before.status
                    notes.append(f"review kept from the previous detection ({before.status.value})")
        array[box][free] = new_id
        id_map[old_id] = new_id
        added.append(replace(rec.lesion, id=new_id, status=status, hu=replace(rec.lesion.hu), notes="; ".join(notes)))
    case.lesions = sorted(drawn + added, key=lambda les: les.id)
    labels = LabelMap(array=array, affine=volume.affine.copy(), names=lesion_label_names(case.lesions),
                      name=LESIONS_MAP, source=report.source)
    _ensure_volume(case, volume)
    case.set_label_map(LESIONS_MAP, labels)
    fractures = []
    for v in report.vertebrae:
        data = v.to_json()
        data["lesion_ids"] = [id_map[i] for i in v.lesion_ids if i in id_map]
        fractures.append(data)
    case.record_step(
        DETECTION_STEP, model=report.source, model_version=METHOD_VERSION,
        parameters={"parameters": report.parameters, "timings_s": report.timings_s, "notes": report.notes,
                    "normal_bone": report.normal_bone.to_json(), "volume": volume.name,
                    "lesions_found": len(report.lesions), "lesions_recorded": len(added),
                    "fractures": fractures, "disclaimer": report.disclaimer},
    )
    refresh_fracture_findings(case)
    log.info("recorded %d detected lesion(s) (%d drawn kept)", len(added), len(drawn))
    return added


def _last_fractures(case: "Case") -> list[dict[str, Any]] | None:
    for step in reversed(case.provenance.steps):
        if step.name == DETECTION_STEP:
            return list(step.parameters.get("fractures") or [])
    return None


def refresh_fracture_findings(case: "Case") -> list[Finding]:
    """Rebuild the per-vertebra fracture findings from the last detection and the lesions' status."""
    fractures = _last_fractures(case)
    if fractures is None:
        return []
    case.findings = [f for f in case.findings if f.name not in FRACTURE_FINDINGS]
    status = {les.id: les.status for les in case.lesions}
    out: list[Finding] = []
    for v in fractures:
        level, grade, loss = v["level"], v.get("genant_grade"), v.get("max_height_loss")
        source = v.get("source", "")
        heights = ", ".join(f"{k} {_mm(v.get('heights_mm', {}).get(k))}/{_mm(v.get('expected_mm', {}).get(k))} mm"
                            for k in ("anterior", "middle", "posterior"))
        refs = ", ".join(v.get("reference_levels") or []) or "none"
        basis = (f"vertebral body heights (measured/expected from {refs}): {heights}"
                 + (f"; {v['note']}" if v.get("note") else ""))
        out.append(Finding(name="genant_grade", value=grade, level=level, basis=basis, source=source))
        out.append(Finding(name="vertebral_height_loss", value=None if loss is None else round(100.0 * loss, 1),
                           unit="%", level=level, basis=basis, source=source))
        live = [i for i in v.get("lesion_ids", []) if status.get(i) not in (None, LesionStatus.REJECTED)]
        pathologic = bool(grade) and bool(live)
        out.append(Finding(
            name="possibly_pathologic_fracture", value=pathologic, level=level, source=source,
            basis=(f"Genant grade {grade if grade is not None else 'not graded'}; detected lesion(s) in the body not "
                   f"rejected: {', '.join(map(str, live)) or 'none'} "
                   "(osteoporotic and malignant collapse can coexist)"),
        ))
    case.findings.extend(out)
    return out


def _mm(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def set_lesion_status(case: "Case", lesion_id: int, status: LesionStatus) -> Lesion:
    """Change one lesion's review status (accept / reject / back to proposed) and refresh the fracture flags."""
    lesion = next((les for les in case.lesions if les.id == int(lesion_id)), None)
    if lesion is None:
        raise DetectionError(f"the case has no lesion {lesion_id}")
    lesion.status = LesionStatus(status)
    refresh_fracture_findings(case)
    return lesion


def put_lesion(case: "Case", lesion: Lesion, mask: np.ndarray | None = None) -> Lesion:
    """Add ``lesion`` to the case, or replace the one with its id; ``mask`` (bool) also goes into the label map.

    Without ``mask`` the label map is left as it is (the viewer's labels layer holds the
    voxels and is synchronised into the case on its own).
    """
    case.lesions = sorted([les for les in case.lesions if les.id != lesion.id] + [lesion], key=lambda les: les.id)
    if mask is not None:
        current = case.label_maps.get(LESIONS_MAP)
        if current is None:
            volume = next((v for v in case.volumes.values() if v.shape == mask.shape), None)
            if volume is None:
                raise DetectionError("the case has no volume on the grid of the drawn lesion")
            current = LabelMap(np.zeros(mask.shape, np.uint16), volume.affine.copy(), name=LESIONS_MAP,
                               source="drawn by the user")
        array = np.array(current.array, copy=True)
        array[array == lesion.id] = 0
        array[np.asarray(mask, bool)] = lesion.id
        case.set_label_map(LESIONS_MAP, LabelMap(array, current.affine, names=lesion_label_names(case.lesions),
                                                 name=LESIONS_MAP, source=current.source))
    refresh_fracture_findings(case)
    return lesion
