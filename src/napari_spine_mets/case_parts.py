"""The plain-data parts of a :class:`~napari_spine_mets.case.Case` (no arrays, no Qt).

Each part is a dataclass whose fields are JSON-able (str, numbers, enums, datetimes,
lists, dicts of those), so :mod:`napari_spine_mets.case_codec` can write and read them
exactly. Free-form fields (``extras``, ``parameters``, ``measurements``) are normalised
to JSON types when the object is made, so a bad value fails at once, not at save time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import Any

__all__ = [
    "LesionKind",
    "LesionStatus",
    "RoiKind",
    "Origin",
    "HuStats",
    "Lesion",
    "Polygon",
    "Roi",
    "ClinicalEntries",
    "Finding",
    "ProvenanceStep",
    "Edit",
    "Provenance",
    "DISCLAIMER",
    "utc_now",
    "jsonable",
]

#: Shown with every finding: the tool supports a clinician's decision, it does not make it.
DISCLAIMER = "decision support, not a diagnosis"


def utc_now() -> datetime:
    """Timezone-aware UTC now, the one clock every timestamp in a case uses."""
    return datetime.now(timezone.utc)


def jsonable(value: Any) -> Any:
    """``value`` converted to plain JSON types (numpy scalars/arrays, tuples -> lists).

    Raises TypeError for anything JSON cannot hold, so the error appears where the value
    is recorded rather than when the case is saved.
    """

    def default(obj: Any) -> Any:
        if hasattr(obj, "tolist"):  # numpy scalars and arrays
            return obj.tolist()
        if isinstance(obj, (set, frozenset)):
            return sorted(obj)
        if isinstance(obj, datetime):
            return obj.isoformat()
        if isinstance(obj, Enum):
            return obj.value
        raise TypeError(f"{type(obj).__name__} is not JSON-serialisable")

    return json.loads(json.dumps(value, default=default))


class LesionKind(str, Enum):
    LYTIC = "lytic"
    BLASTIC = "blastic"
    MIXED = "mixed"
    UNKNOWN = "unknown"


class LesionStatus(str, Enum):
    PROPOSED = "proposed"  # found by the software, not yet reviewed
    ACCEPTED = "accepted"  # reviewed and confirmed by a user
    REJECTED = "rejected"  # reviewed and dismissed (kept, so it is not proposed again)
    DRAWN = "drawn"  # drawn by a user


class RoiKind(str, Enum):
    TRABECULAR_HU = "trabecular_hu"
    RADIOMICS = "radiomics"
    MANUAL = "manual"


class Origin(str, Enum):
    AUTOMATIC = "automatic"
    MANUAL = "manual"


@dataclass
class HuStats:
    """Summary of the voxel values inside a region (HU for CT)."""

    mean: float | None = None
    sd: float | None = None
    median: float | None = None
    minimum: float | None = None
    maximum: float | None = None
    n_voxels: int = 0


@dataclass
class Lesion:
    """One lesion; ``id`` is its label value in the case's "lesions" label map."""

    id: int
    level: str | None = None
    kind: LesionKind = LesionKind.UNKNOWN
    volume_mm3: float | None = None
    hu: HuStats = field(default_factory=HuStats)
    status: LesionStatus = LesionStatus.PROPOSED
    confidence: float | None = None
    #: What produced it: a model name and version, or "manual".
    source: str = ""
    notes: str = ""


@dataclass
class Polygon:
    """A closed outline on one slice: LPS (x, y, z) vertices in mm, and the slice's position."""

    slice_position_mm: float
    vertices_mm: list[tuple[float, float, float]] = field(default_factory=list)


@dataclass
class Roi:
    """A measurement region: a label in one of the case's label maps, or drawn polygons."""

    id: int
    level: str | None = None
    kind: RoiKind = RoiKind.MANUAL
    #: Mask geometry: the label map's name in the case and the label id within it.
    label_map: str | None = None
    label_id: int | None = None
    #: Polygon geometry (used when there is no mask), one per slice.
    polygons: list[Polygon] = field(default_factory=list)
    origin: Origin = Origin.AUTOMATIC
    #: Values measured in it, e.g. {"hu_mean": 160.2}.
    measurements: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.measurements = jsonable(self.measurements)


@dataclass
class ClinicalEntries:
    """What the clinician enters; every field optional (None = not entered). Units in the names."""

    age_years: float | None = None
    sex: str | None = None
    #: SINS pain: "mechanical", "occasional_non_mechanical" or "none".
    pain: str | None = None
    karnofsky: int | None = None
    ecog: int | None = None
    primary_site: str | None = None
    alp_u_per_l: float | None = None
    albumin_g_per_l: float | None = None
    lymphocytes_1e9_per_l: float | None = None
    ca125_u_per_ml: float | None = None
    #: Neurological status, "A" (complete) to "E" (normal).
    frankel_grade: str | None = None
    visceral_metastases: bool | None = None
    extraspinal_bone_metastases: int | None = None
    vertebral_metastases: int | None = None
    #: Anything else, by name (JSON values only).
    extras: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.extras = jsonable(self.extras)


@dataclass
class Finding:
    """A computed result shown to the user, with how it was obtained and where the rule comes from."""

    name: str
    value: Any = None
    unit: str = ""
    level: str | None = None
    #: How the value was obtained, in words (inputs, thresholds).
    basis: str = ""
    #: Citation of the rule or model (paper, guideline).
    source: str = ""
    disclaimer: str = DISCLAIMER

    def __post_init__(self) -> None:
        self.value = jsonable(self.value)


@dataclass
class ProvenanceStep:
    """One automatic step run on the case: which model, which weights, which settings."""

    name: str
    model: str = ""
    model_version: str = ""
    weights_sha256: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    started: datetime | None = None
    finished: datetime | None = None

    def __post_init__(self) -> None:
        self.parameters = jsonable(self.parameters)


@dataclass
class Edit:
    """One change a user made: who, when, what, and to which object (e.g. "lesion:3")."""

    who: str
    when: datetime
    what: str
    target: str = ""


@dataclass
class Provenance:
    """Where everything in the case came from."""

    software_version: str = ""
    created: datetime = field(default_factory=utc_now)
    modified: datetime = field(default_factory=utc_now)
    steps: list[ProvenanceStep] = field(default_factory=list)
    edits: list[Edit] = field(default_factory=list)
