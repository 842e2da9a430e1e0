"""One patient-study and everything computed for it: the :class:`Case`.

A Case holds the volumes (a CT, or MR sequences), label maps on their grids, lesions,
ROIs, clinical entries, findings and the provenance of it all (software version, each
automatic step with its model and weights, each user edit). It is plain data (no Qt, no
napari), saved and loaded by :mod:`napari_spine_mets.case_store`. The parts live in
:mod:`napari_spine_mets.case_parts` and are re-exported here.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from . import __version__
from .case_parts import (
    DISCLAIMER,
    ClinicalEntries,
    Edit,
    Finding,
    HuStats,
    Lesion,
    LesionKind,
    LesionStatus,
    Origin,
    Polygon,
    Provenance,
    ProvenanceStep,
    Roi,
    RoiKind,
    utc_now,
)
from .errors import GridMismatchError
from .io import geometry
from .volume import LabelMap, Volume

__all__ = [
    "Case",
    "GridMismatchError",
    "case_differences",
    "DISCLAIMER",
    "ClinicalEntries",
    "Edit",
    "Finding",
    "HuStats",
    "Lesion",
    "LesionKind",
    "LesionStatus",
    "Origin",
    "Polygon",
    "Provenance",
    "ProvenanceStep",
    "Roi",
    "RoiKind",
]

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Case:
    """One patient-study. Equality compares every field, arrays by value and dtype."""

    volumes: dict[str, Volume] = field(default_factory=dict)
    label_maps: dict[str, LabelMap] = field(default_factory=dict)
    lesions: list[Lesion] = field(default_factory=list)
    rois: list[Roi] = field(default_factory=list)
    clinical: ClinicalEntries = field(default_factory=ClinicalEntries)
    findings: list[Finding] = field(default_factory=list)
    provenance: Provenance = field(default_factory=lambda: Provenance(software_version=__version__))
    #: Stable identifier of the case (not a patient identifier): a random UUID.
    case_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    notes: str = ""

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Case):
            return NotImplemented
        return not case_differences(self, other)

    def add_volume(self, volume: Volume, name: str | None = None) -> None:
        """Add (or replace) a volume under ``name`` (default: ``volume.name``)."""
        key = name or volume.name
        if key in self.volumes:
            log.info("replacing volume '%s'", key)
        self.volumes[key] = volume
        self.touch()

    def set_label_map(self, name: str, labels: LabelMap, volume: str | None = None) -> None:
        """Store ``labels`` under ``name`` after checking it lies on a volume's voxel grid.

        ``volume`` names the volume it must match; by default any volume of the case will
        do. Raises :class:`GridMismatchError` otherwise (resample first with
        :func:`napari_spine_mets.io.resample.labels_onto_grid`).
        """
        candidates = [volume] if volume is not None else list(self.volumes)
        if volume is not None and volume not in self.volumes:
            raise GridMismatchError(None, f"label map '{name}': the case has no volume '{volume}'")
        shape = labels.array.shape
        for key in candidates:
            v = self.volumes[key]
            if geometry.same_grid(shape, labels.affine, v.shape, v.affine):
                self.label_maps[name] = labels
                self.touch()
                return
        grids = ", ".join(f"'{k}' {self.volumes[k].shape}" for k in candidates) or "none"
        raise GridMismatchError(
            None,
            f"label map '{name}' (shape {tuple(shape)}, spacing "
            f"{tuple(round(s, 4) for s in labels.spacing)}) does not lie on the grid of any "
            f"volume (volumes: {grids}); resample it with io.resample.labels_onto_grid",
        )

    def record_edit(self, who: str, what: str, target: str = "") -> Edit:
        """Log a user's change (who, what, on which object) with the current time."""
        edit = Edit(who=who, when=utc_now(), what=what, target=target)
        self.provenance.edits.append(edit)
        self.touch(edit.when)
        return edit

    def record_step(
        self,
        name: str,
        model: str = "",
        model_version: str = "",
        weights_sha256: str = "",
        parameters: dict[str, Any] | None = None,
        started: datetime | None = None,
        finished: datetime | None = None,
    ) -> ProvenanceStep:
        """Log an automatic step (segmentation, detection...) with its model and settings."""
        step = ProvenanceStep(
            name=name,
            model=model,
            model_version=model_version,
            weights_sha256=weights_sha256,
            parameters=dict(parameters or {}),
            started=started,
            finished=finished if finished is not None else utc_now(),
        )
        self.provenance.steps.append(step)
        self.touch()
        return step

    def touch(self, when: datetime | None = None) -> None:
        """Mark the case as modified now."""
        self.provenance.modified = when or utc_now()


def case_differences(a: Case, b: Case) -> list[str]:
    """Human-readable list of what differs between two cases (empty when equal).

    Arrays are compared by dtype, shape and value; affines exactly. Used by ``__eq__``
    and by tests, where the list says what a round trip lost.
    """
    out: list[str] = []
    for kind in ("volumes", "label_maps"):
        da, db = getattr(a, kind), getattr(b, kind)
        if set(da) != set(db):
            out.append(f"{kind}: keys {sorted(da)} != {sorted(db)}")
            continue
        for key in da:
            out.extend(f"{kind}[{key!r}].{d}" for d in _image_differences(da[key], db[key]))
    for name in ("lesions", "rois", "clinical", "findings", "provenance", "case_id", "notes"):
        if getattr(a, name) != getattr(b, name):
            out.append(name)
    return out


def _image_differences(a: Volume | LabelMap, b: Volume | LabelMap) -> list[str]:
    out = []
    if type(a) is not type(b):
        return [f"type {type(a).__name__} != {type(b).__name__}"]
    if a.array.dtype != b.array.dtype:
        out.append(f"dtype {a.array.dtype} != {b.array.dtype}")
    if a.array.shape != b.array.shape:
        out.append(f"shape {a.array.shape} != {b.array.shape}")
    elif not np.array_equal(a.array, b.array, equal_nan=a.array.dtype.kind in "fc"):
        out.append("array values")
    if not np.array_equal(a.affine, b.affine):
        out.append("affine")
    others = ("metadata", "name") if isinstance(a, Volume) else ("names", "name", "source")
    out.extend(name for name in others if getattr(a, name) != getattr(b, name))
    return out

