"""Image volumes and label maps as the whole project passes them around.

A :class:`Volume` is a numpy array indexed (z, y, x) plus the affine that maps voxel
indices to DICOM patient coordinates (LPS, mm); see :mod:`napari_spine_mets.io.geometry`.
Readers return volumes already reoriented so their axes run along (S, P, L).

Patient identifiers (name, ID, birth date) live in :class:`PatientIdentity`, whose
``repr`` hides them, so that logging a volume or its metadata never leaks PHI.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from .io import geometry

__all__ = ["PatientIdentity", "VolumeMetadata", "Volume", "LabelMap"]


@dataclass
class PatientIdentity:
    """Identifying tags, kept in memory for export and never written to logs."""

    name: str = ""
    patient_id: str = ""
    birth_date: str = ""

    def __repr__(self) -> str:  # never show identifiers in logs or tracebacks
        return "PatientIdentity(<redacted>)"

    __str__ = __repr__


@dataclass
class VolumeMetadata:
    """What the acquisition tells us, as far as the file says (empty or None when unknown)."""

    modality: str = ""
    manufacturer: str = ""
    kvp: float | None = None
    contrast_agent: str = ""
    convolution_kernel: str = ""
    series_description: str = ""
    patient_age_years: float | None = None
    patient_sex: str = ""
    study_instance_uid: str = ""
    series_instance_uid: str = ""
    frame_of_reference_uid: str = ""
    #: Where the pixels came from: a folder, file, or "synthetic:<seed>".
    source: str = ""
    #: Notes the reader wants the user to see (resampled slices, uneven spacing, ...).
    warnings: list[str] = field(default_factory=list)
    identity: PatientIdentity = field(default_factory=PatientIdentity)

    @property
    def contrast_applied(self) -> bool | None:
        """True/False when the header says, None when it does not."""
        value = self.contrast_agent.strip().upper()
        if not value:
            return None
        return value not in {"NONE", "NO", "N"}

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-able dict *without* the patient identity."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name == "identity":
                continue
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, list) else value
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "VolumeMetadata":
        known = {f.name for f in fields(cls)} - {"identity"}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class Volume:
    """A 3D image on a known grid: ``array`` (z, y, x) and ``affine`` (index -> LPS mm)."""

    array: np.ndarray
    affine: np.ndarray
    metadata: VolumeMetadata = field(default_factory=VolumeMetadata)
    #: Short name shown to the user and used as the file name in a case folder ("CT", "T2"...).
    name: str = "image"

    def __post_init__(self) -> None:
        if self.array.ndim != 3:
            raise ValueError(f"a Volume needs a 3D array, got shape {self.array.shape}")
        self.affine = np.asarray(self.affine, dtype=float)
        if self.affine.shape != (4, 4):
            raise ValueError(f"a Volume needs a 4x4 affine, got {self.affine.shape}")

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(s) for s in self.array.shape)  # type: ignore[return-value]

    @property
    def spacing(self) -> tuple[float, float, float]:
        """Voxel size in mm along (z, y, x)."""
        return geometry.spacing_of(self.affine)

    @property
    def origin(self) -> tuple[float, float, float]:
        """LPS (x, y, z) of voxel (0, 0, 0) in mm."""
        return geometry.origin_of(self.affine)

    def napari_kwargs(self) -> dict[str, object]:
        """``scale``/``translate`` (or ``affine``) for a napari layer of this grid."""
        return geometry.napari_transform(self.affine)


@dataclass
class LabelMap:
    """Integer labels on a voxel grid, with the name of each label id.

    ``names`` maps label id -> structure name (e.g. 32 -> "vertebrae_T12");
    ``source`` says where the labels came from (a file, a model and version, "manual").
    """

    array: np.ndarray
    affine: np.ndarray
    names: dict[int, str] = field(default_factory=dict)
    name: str = "labels"
    source: str = ""

    def __post_init__(self) -> None:
        if self.array.ndim != 3:
            raise ValueError(f"a LabelMap needs a 3D array, got shape {self.array.shape}")
        if not np.issubdtype(self.array.dtype, np.integer):
            raise ValueError(f"a LabelMap needs integer labels, got {self.array.dtype}")
        self.affine = np.asarray(self.affine, dtype=float)

    @property
    def spacing(self) -> tuple[float, float, float]:
        return geometry.spacing_of(self.affine)

    def napari_kwargs(self) -> dict[str, object]:
        return geometry.napari_transform(self.affine)
