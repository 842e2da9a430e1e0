"""Radiomics settings: one dataclass, saved as YAML or JSON, with a hash of every value-changing field.

Field names follow pyradiomics' parameter names where one exists (``binWidth`` ->
``bin_width``) so a study's parameter file can be transcribed one to one. The hash
covers everything that changes a feature value and nothing else (not the device), so
two runs with the same hash are comparable.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import RadiomicsSettingsError

__all__ = ["RadiomicsSettings", "FEATURE_CLASSES", "NORMALIZATIONS", "load_settings", "save_settings"]

logger = logging.getLogger(__name__)

FEATURE_CLASSES = ("firstorder", "shape", "glcm", "glrlm", "glszm", "gldm", "ngtdm")
NORMALIZATIONS = (None, "zscore_image", "zscore_roi", "percentile")
INTERPOLATORS = ("bspline", "linear", "nearest")
SCHEMA = "napari-spine-mets/radiomics-settings/1"


@dataclass
class RadiomicsSettings:
    """Everything that changes a feature value. Defaults are pyradiomics' defaults (bin width 25)."""

    bin_width: float | None = 25.0
    bin_count: int | None = None
    label: int = 1
    # image types
    original: bool = True
    log_sigma: list[float] = field(default_factory=list)
    wavelet: bool = False
    wavelet_name: str = "coif1"
    # per-class enabled features: class -> None (all) or a list of feature names
    features: dict[str, list[str] | None] = field(default_factory=lambda: {c: None for c in FEATURE_CLASSES})
    # preprocessing
    resampled_spacing: list[float] | None = None  # (z, y, x) mm; None = no resampling
    interpolator: str = "bspline"
    pad_distance: int = 5
    normalize: str | None = None
    normalize_scale: float = 1.0
    normalize_percentiles: list[float] = field(default_factory=lambda: [1.0, 99.0])
    remove_outliers: float | None = None
    # texture parameters (pyradiomics names in comments)
    distances: list[int] = field(default_factory=lambda: [1])  # distances
    symmetrical_glcm: bool = True  # symmetricalGLCM
    weighting_norm: str | None = None  # weightingNorm
    gldm_a: float = 0.0  # gldm_a
    voxel_array_shift: float = 0.0  # voxelArrayShift
    # geometry
    geometry_tolerance: float = 1e-4  # mm, for "same grid" checks
    correct_mask: bool = False  # resample the mask onto the image grid when geometries differ
    # IBSI options (off = pyradiomics behaviour); see docs/radiomics.md
    ibsi_discretization: bool = False
    ibsi_excess_kurtosis: bool = False

    def __post_init__(self) -> None:
        self.validate()

    # ------------------------------------------------------------------ checks
    def validate(self) -> None:
        """Raise :class:`RadiomicsSettingsError` for any value the engine cannot honour."""
        if self.bin_count is not None:
            if int(self.bin_count) != self.bin_count or self.bin_count < 1:
                raise RadiomicsSettingsError(f"bin_count must be a positive integer, got {self.bin_count!r}")
        elif self.bin_width is None or not self.bin_width > 0:
            raise RadiomicsSettingsError(f"bin_width must be > 0 (or set bin_count), got {self.bin_width!r}")
        if any(not float(s) > 0 for s in self.log_sigma):
            raise RadiomicsSettingsError(f"log_sigma values must be > 0 mm, got {self.log_sigma!r}")
        unknown = set(self.features) - set(FEATURE_CLASSES)
        if unknown:
            raise RadiomicsSettingsError(f"unknown feature classes {sorted(unknown)}; known: {FEATURE_CLASSES}")
        if self.normalize not in NORMALIZATIONS:
            raise RadiomicsSettingsError(f"normalize must be one of {NORMALIZATIONS}, got {self.normalize!r}")
        if self.interpolator not in INTERPOLATORS:
            raise RadiomicsSettingsError(f"interpolator must be one of {INTERPOLATORS}, got {self.interpolator!r}")
        if self.resampled_spacing is not None and (
            len(self.resampled_spacing) != 3 or any(float(s) < 0 for s in self.resampled_spacing)
        ):
            raise RadiomicsSettingsError("resampled_spacing must be 3 values >= 0 mm (z, y, x); 0 keeps that axis")
        if self.weighting_norm not in (None, "infinity", "euclidean", "manhattan", "no_weighting"):
            raise RadiomicsSettingsError(f"unknown weighting_norm {self.weighting_norm!r}")
        if not self.distances or any(int(d) < 1 for d in self.distances):
            raise RadiomicsSettingsError("distances must be integers >= 1")
        lo, hi = self.normalize_percentiles
        if not 0 <= lo < hi <= 100:
            raise RadiomicsSettingsError("normalize_percentiles must satisfy 0 <= low < high <= 100")

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["log_sigma"] = [float(s) for s in self.log_sigma]
        return {"schema": SCHEMA, **data}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RadiomicsSettings":
        data = dict(data)
        schema = data.pop("schema", SCHEMA)
        data.pop("value_hash", None)  # written by save_settings for the reader; recomputed on demand
        if schema != SCHEMA:
            raise RadiomicsSettingsError(f"unknown settings schema {schema!r} (expected {SCHEMA!r})")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise RadiomicsSettingsError(f"unknown settings keys {sorted(unknown)}")
        if "features" in data and data["features"] is not None:
            data["features"] = {k: (None if v is None else list(v)) for k, v in data["features"].items()}
        return cls(**data)

    def value_hash(self) -> str:
        """SHA-256 over the canonical JSON of every field (all of them change values)."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), default=float)
        return hashlib.sha256(canonical.encode()).hexdigest()

    def enabled(self, feature_class: str) -> bool:
        return feature_class in self.features


def load_settings(path: str | Path) -> RadiomicsSettings:
    """Read settings from a ``.yaml``/``.yml`` or ``.json`` file."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise RadiomicsSettingsError(f"cannot read settings: {exc}", str(path)) from exc
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as exc:  # noqa: BLE001 - any parse error is the file's problem
        raise RadiomicsSettingsError(f"cannot parse settings: {exc}", str(path)) from exc
    if not isinstance(data, dict):
        raise RadiomicsSettingsError("settings file must hold a mapping", str(path))
    try:
        return RadiomicsSettings.from_dict(data)
    except TypeError as exc:
        raise RadiomicsSettingsError(str(exc), str(path)) from exc


def save_settings(settings: RadiomicsSettings, path: str | Path) -> None:
    """Write settings as YAML (``.yaml``/``.yml``) or JSON (anything else), hash included."""
    path = Path(path)
    data = settings.to_dict()
    data_out = {**data, "value_hash": settings.value_hash()}
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        path.write_text(yaml.safe_dump(data_out, sort_keys=False))
    else:
        path.write_text(json.dumps(data_out, indent=2))
