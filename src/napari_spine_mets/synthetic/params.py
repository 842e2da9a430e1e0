"""Parameters of the synthetic spine CT: every knob explicit, with its unit.

The parameters are frozen dataclasses so that a case can be regenerated exactly from
what ``truth.json`` records (same parameters + same seed -> identical voxels).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from ..anatomy import LEVELS

__all__ = [
    "LesionKind",
    "LesionSite",
    "LesionSpec",
    "FractureSpec",
    "SpineParams",
    "SUPPORTED_LEVELS",
    "THORACOLUMBAR_LEVELS",
    "CERVICAL_LEVELS",
    "UPPER_THORACIC_LEVELS",
    "trabecular_hu_for_age",
]

LesionKind = Literal["lytic", "blastic", "mixed"]
LesionSite = Literal["body", "pedicle_left", "pedicle_right", "posterior"]

#: Levels the generator draws: the cervical, thoracic, lumbar and first sacral vertebrae.
SUPPORTED_LEVELS: tuple[str, ...] = LEVELS[: LEVELS.index("S1") + 1]

#: The generator's range before it drew the neck (T1-S1): callers that want the old range
#: (training and benchmark seeds that must keep giving the same cases) pass this.
THORACOLUMBAR_LEVELS: tuple[str, ...] = LEVELS[LEVELS.index("T1") : LEVELS.index("S1") + 1]

#: C1-C7. When any of them is drawn, the neck, shoulders and (with C1) the skull base are
#: painted above the thoracic inlet; cases of T1 and below keep their voxels exactly.
CERVICAL_LEVELS: tuple[str, ...] = LEVELS[: LEVELS.index("T1")]

#: Levels above the original T8-S1 model. When any of them is drawn, the upper-thorax
#: soft tissue (lungs, mediastinum, heart, thoracic aorta, sternum) replaces the lower-thorax
#: one above the diaphragm; cases of T8 and below keep their voxels exactly.
UPPER_THORACIC_LEVELS: tuple[str, ...] = LEVELS[LEVELS.index("T1") : LEVELS.index("T8")]

_LESION_KINDS = ("lytic", "blastic", "mixed")
_LESION_SITES = ("body", "pedicle_left", "pedicle_right", "posterior")


@dataclass(frozen=True)
class LesionSpec:
    """One metastasis to place in a vertebra."""

    #: Vertebral level, e.g. "L2" (must be one of ``SpineParams.levels``).
    level: str
    #: "lytic" (bone destroyed, ~10-60 HU), "blastic" (sclerotic, ~600-1000 HU) or
    #: "mixed" (mottled lytic and blastic parts).
    kind: LesionKind = "lytic"
    #: Nominal radius in mm; the lesion is an irregular ellipsoid of about this size,
    #: clipped to the vertebra.
    radius_mm: float = 8.0
    #: Part of the vertebra holding the lesion centre.
    site: LesionSite = "body"

    def __post_init__(self) -> None:
        if self.kind not in _LESION_KINDS:
            raise ValueError(f"lesion kind must be one of {_LESION_KINDS}, got {self.kind!r}")
        if self.site not in _LESION_SITES:
            raise ValueError(f"lesion site must be one of {_LESION_SITES}, got {self.site!r}")
        if not 1.0 <= self.radius_mm <= 25.0:
            raise ValueError(f"lesion radius must be 1-25 mm, got {self.radius_mm}")


@dataclass(frozen=True)
class FractureSpec:
    """A pathologic compression fracture of one vertebral body."""

    #: Vertebral level of the fractured body.
    level: str
    #: Fraction (0-0.8) of the body height lost where the collapse is greatest
    #: (anterior wall for a wedge, centre for biconcave, everywhere for crush).
    collapse_fraction: float = 0.35
    #: "wedge" (anterior height lost), "biconcave" (middle height lost) or "crush"
    #: (anterior, middle and posterior heights lost alike).
    shape: Literal["wedge", "biconcave", "crush"] = "wedge"

    def __post_init__(self) -> None:
        if not 0.0 <= self.collapse_fraction <= 0.8:
            raise ValueError(f"collapse fraction must be 0-0.8, got {self.collapse_fraction}")
        if self.shape not in ("wedge", "biconcave", "crush"):
            raise ValueError(f"fracture shape must be wedge, biconcave or crush, got {self.shape!r}")


def _default_lesions() -> tuple[LesionSpec, ...]:
    return (
        LesionSpec(level="T12", kind="lytic", radius_mm=9.0, site="body"),
        LesionSpec(level="L2", kind="blastic", radius_mm=8.0, site="body"),
        LesionSpec(level="L4", kind="mixed", radius_mm=10.0, site="body"),
        LesionSpec(level="L3", kind="lytic", radius_mm=5.0, site="pedicle_left"),
        LesionSpec(level="T11", kind="blastic", radius_mm=6.0, site="posterior"),
        # The lytic deposit that caused the pathologic fracture below.
        LesionSpec(level="L1", kind="lytic", radius_mm=10.0, site="body"),
    )


@dataclass(frozen=True)
class SpineParams:
    """Everything that defines a synthetic case; defaults give the project's sample case."""

    #: Seed of every random choice (noise, texture, lesion shape and position, UIDs).
    seed: int = 0
    #: Contiguous levels to draw, cranial to caudal (C1..S1 supported).
    levels: tuple[str, ...] = ("T10", "T11", "T12", "L1", "L2", "L3", "L4", "L5", "S1")
    #: Draw the sacrum below S1 (S2-S5, TotalSegmentator label "sacrum") when S1 is drawn.
    include_sacrum: bool = True
    #: Voxel size (z, y, x) in mm: slice spacing, then row and column spacing.
    spacing_mm: tuple[float, float, float] = (2.0, 0.8, 0.8)
    #: Square in-plane field of view in mm (the axial matrix is fov / spacing).
    fov_mm: float = 320.0
    #: Lumbar lordosis in degrees (angle between the L1 and S1 superior endplates).
    lordosis_deg: float = 50.0
    #: Thoracic kyphosis added per thoracic motion segment, in degrees.
    kyphosis_deg_per_level: float = 4.0
    #: Cervical lordosis in degrees (C2-C7 Cobb angle; normal ~20-40). Only shapes cases
    #: that draw a cervical level.
    cervical_lordosis_deg: float = 30.0
    #: Sacral slope in degrees (S1 superior endplate against the axial plane).
    sacral_slope_deg: float = 35.0
    #: Patient age in years; trabecular bone density falls linearly with age.
    age_years: float = 65.0
    #: Patient sex, "M" or "F" (recorded in the DICOM header; "F" narrows the body).
    sex: Literal["M", "F"] = "F"
    #: Standard deviation of the image noise in HU (measured in uniform tissue).
    noise_hu: float = 12.0
    #: Full width at half maximum of the in-plane point spread function in mm
    #: (sharp bone kernel ~0.6, soft-tissue kernel ~1.2).
    blur_fwhm_mm: float = 0.9
    #: Intravenous contrast (portal venous phase): bright aorta, IVC, kidneys and liver.
    contrast: bool = True
    #: Draw ribs articulating with the thoracic vertebrae.
    ribs: bool = True
    #: Facet joint space in mm: where two vertebrae's articular processes meet, the lower one's
    #: bone stops this far from the upper one's (cartilage and synovial space, shown on CT as a
    #: dark line). Lumbar facet joints measure 1.5-1.9 mm on CT (Simon et al., Spine 2012;
    #: 37:1058-64); subaxial cervical ones 1.3-2.0 mm at the upper limit of normal (Int J Spine
    #: Surg 2018;12:510). 0 draws the joints touching, as every case before session 35 did. Only
    #: joints between two vertebrae: the ribs and the skull base still touch the column.
    joint_space_mm: float = 0.0
    #: Metastases to draw (each in one vertebra).
    lesions: tuple[LesionSpec, ...] = field(default_factory=_default_lesions)
    #: Pathologic compression fracture, or None for an intact spine.
    fracture: FractureSpec | None = FractureSpec(level="L1", collapse_fraction=0.35, shape="wedge")

    def __post_init__(self) -> None:
        levels = tuple(level.upper() for level in self.levels)
        if not levels:
            raise ValueError("at least one level is needed")
        unknown = [lv for lv in levels if lv not in SUPPORTED_LEVELS]
        if unknown:
            raise ValueError(f"levels {unknown} not supported (choose from {SUPPORTED_LEVELS})")
        start = SUPPORTED_LEVELS.index(levels[0])
        if levels != SUPPORTED_LEVELS[start : start + len(levels)]:
            raise ValueError(f"levels must be contiguous and cranial to caudal, got {levels}")
        object.__setattr__(self, "levels", levels)
        for lesion in self.lesions:
            if lesion.level.upper() not in levels:
                raise ValueError(f"lesion level {lesion.level} is not among the drawn levels")
        if self.fracture is not None and self.fracture.level.upper() not in levels:
            raise ValueError(f"fracture level {self.fracture.level} is not among the drawn levels")
        if self.fracture is not None and self.fracture.level.upper() == "S1":
            raise ValueError("a compression fracture of S1 is not modelled")
        _check_craniocervical(self.lesions, self.fracture)
        if not 0.0 <= self.joint_space_mm <= 4.0:
            raise ValueError(f"joint space must be 0-4 mm, got {self.joint_space_mm}")
        if not 0.0 <= self.cervical_lordosis_deg <= 60.0:
            raise ValueError(f"cervical lordosis must be 0-60 deg, got {self.cervical_lordosis_deg}")
        if len(self.spacing_mm) != 3 or min(self.spacing_mm) <= 0 or max(self.spacing_mm) > 5:
            raise ValueError(f"spacing must be three values in (0, 5] mm, got {self.spacing_mm}")
        if not 150.0 <= self.fov_mm <= 500.0:
            raise ValueError(f"field of view must be 150-500 mm, got {self.fov_mm}")
        if not 0.0 <= self.age_years <= 110.0:
            raise ValueError(f"age must be 0-110 years, got {self.age_years}")
        if self.noise_hu < 0 or self.blur_fwhm_mm < 0:
            raise ValueError("noise and blur must not be negative")

    @property
    def trabecular_hu(self) -> float:
        """Mean HU of healthy trabecular bone at this age."""
        return trabecular_hu_for_age(self.age_years)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-able dict (lists for tuples), recorded in truth.json."""
        out = asdict(self)
        out["levels"] = list(self.levels)
        out["spacing_mm"] = list(self.spacing_mm)
        out["lesions"] = [asdict(lesion) for lesion in self.lesions]
        return out


def _check_craniocervical(lesions: tuple[LesionSpec, ...], fracture: FractureSpec | None) -> None:
    """C1 has no body and no pedicles (lesions there only in its arches); C1 and C2 have no
    compression fracture model (their fractures, Jefferson and odontoid, are different)."""
    for lesion in lesions:
        if lesion.level.upper() == "C1" and lesion.site != "posterior":
            raise ValueError(f"C1 (atlas) has no body or pedicles: a lesion there must have site "
                             f"'posterior', got {lesion.site!r}")
    if fracture is not None and fracture.level.upper() in ("C1", "C2"):
        raise ValueError(f"a compression fracture of {fracture.level.upper()} is not modelled "
                         "(the atlas has no body; the axis's dens fractures differently)")


def trabecular_hu_for_age(age_years: float) -> float:
    """Healthy vertebral trabecular HU: ~250 at 20 y falling linearly to ~120 at 80 y.

    Matches the range of opportunistic-CT bone density studies (L1 trabecular HU).
    """
    age = min(max(float(age_years), 20.0), 90.0)
    return 250.0 - (age - 20.0) * (130.0 / 60.0)
