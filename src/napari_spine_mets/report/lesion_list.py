"""The lesions a report lists and draws: the case's lesion records, plus labels without a record.

A lesion drawn or detected in a label map but not yet written into ``case.lesions`` (e.g.
a label map opened in napari) is still listed, measured from the map (volume, mean HU,
level by overlap with the vertebra labels), its type read from its label name when the
name says it, and its status shown as "label only (no record)", so nothing visible on
the images is missing from the table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..anatomy import level_of_label
from ..case import Case
from ..case_parts import LesionKind, LesionStatus
from .inputs import ReportInputs

__all__ = ["LesionEntry", "lesion_entries", "LABEL_ONLY"]

#: Status shown for a label of the lesion map that has no Lesion record.
LABEL_ONLY = "label only (no record)"


@dataclass
class LesionEntry:
    """One row of the lesion table (and one outline on the images)."""

    id: int
    level: str | None
    kind: str
    volume_mm3: float | None
    hu_mean: float | None
    hu_sd: float | None
    status: str
    confidence: float | None
    source: str
    #: True when the lesion has a voxel in the lesion label map (it can be drawn).
    in_map: bool = False

    @property
    def rejected(self) -> bool:
        return self.status == LesionStatus.REJECTED.value


def lesion_entries(case: Case, inputs: ReportInputs) -> list[LesionEntry]:
    """Every lesion record of the case, then every unrecorded label of its lesion map, by id."""
    present = _present_ids(inputs)
    out = [LesionEntry(id=les.id, level=les.level, kind=les.kind.value, volume_mm3=les.volume_mm3,
                       hu_mean=les.hu.mean, hu_sd=les.hu.sd, status=les.status.value, confidence=les.confidence,
                       source=les.source or "not recorded", in_map=les.id in present)
           for les in case.lesions]
    recorded = {e.id for e in out}
    unrecorded = sorted(present - recorded)
    if unrecorded and inputs.lesions is not None:
        out.extend(_from_map(inputs, unrecorded))
    return sorted(out, key=lambda e: e.id)


def _present_ids(inputs: ReportInputs) -> set[int]:
    if inputs.lesions is None:
        return set()
    return {int(v) for v in np.unique(inputs.lesions.array) if v > 0}


def _from_map(inputs: ReportInputs, ids: list[int]) -> list[LesionEntry]:
    from scipy import ndimage

    lesions = inputs.lesions
    assert lesions is not None
    array = np.asarray(lesions.array)
    voxel_mm3 = float(np.prod(lesions.spacing))
    boxes = ndimage.find_objects(array)
    out = []
    for lesion_id in ids:
        box = boxes[lesion_id - 1] if lesion_id - 1 < len(boxes) else None
        if box is None:
            continue
        mask = array[box] == lesion_id
        values = np.asarray(inputs.volume.array)[box][mask].astype(float) if inputs.volume is not None else np.zeros(0)
        level = _level(inputs, box, mask)
        name = lesions.names.get(lesion_id, "")
        out.append(LesionEntry(
            id=lesion_id, level=level, kind=_kind_from_name(name), volume_mm3=float(mask.sum()) * voxel_mm3,
            hu_mean=float(values.mean()) if values.size else None,
            hu_sd=float(values.std(ddof=1)) if values.size > 1 else None,
            status=LABEL_ONLY, confidence=None,
            source=f"label map '{inputs.lesions_key}' (measured for this report)", in_map=True))
    return out


def _level(inputs: ReportInputs, box: tuple[slice, ...], mask: np.ndarray) -> str | None:
    if inputs.vertebrae is None:
        return None
    labels, counts = np.unique(np.asarray(inputs.vertebrae.array)[box][mask], return_counts=True)
    ranked = sorted(((int(n), int(lab)) for lab, n in zip(labels, counts) if level_of_label(int(lab))), reverse=True)
    return level_of_label(ranked[0][1]) if ranked else None


def _kind_from_name(name: str) -> str:
    words = set(name.lower().replace("-", "_").split("_"))
    for kind in (LesionKind.LYTIC, LesionKind.BLASTIC, LesionKind.MIXED):
        if kind.value in words:
            return kind.value
    return LesionKind.UNKNOWN.value
