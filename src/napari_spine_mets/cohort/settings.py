"""Settings of the study pipeline, with one hash over everything that changes a result.

The hash decides whether a finished study may be reused (:mod:`.resume`) and is written
in every row of the cohort table, so two tables are comparable only when it matches.
Fields that change *where* or *how fast* a study runs but not its numbers (device,
threads) are kept out of the hash, as in the radiomics settings.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from os import PathLike
from typing import Any

__all__ = ["PIPELINE_VERSION", "LABEL_SOURCES", "PipelineSettings"]

#: Version of the pipeline's own logic (ROIs, row layout); part of the hash.
PIPELINE_VERSION = "1"
#: "auto": labels given with the study, else the segmentation model; "given"/"model": only that.
LABEL_SOURCES = ("auto", "given", "model")


def _default_radiomics() -> dict[str, Any]:
    from ..radiomics.settings import RadiomicsSettings

    return RadiomicsSettings().to_dict()


def _default_hu() -> dict[str, float]:
    from ..measure.hu_roi import HuParams

    return HuParams().to_json()


@dataclass(frozen=True)
class PipelineSettings:
    """What the pipeline does to every study of a cohort."""

    #: Radiomics settings as a dict (``RadiomicsSettings.to_dict()``); default: pyradiomics defaults.
    radiomics: dict[str, Any] = field(default_factory=_default_radiomics)
    #: Trabecular HU ROI parameters (``HuParams`` fields).
    hu: dict[str, float] = field(default_factory=_default_hu)
    #: Where vertebra labels come from (see :data:`LABEL_SOURCES`).
    label_source: str = "auto"
    #: Lesions with fewer voxels are listed but get no radiomics (too small for texture).
    min_lesion_voxels: int = 27
    #: Run automatic lesion detection when a study gives no lesion file.
    detect_lesions: bool = True
    #: Torch device for segmentation and radiomics ("auto": the worker's GPU if it has one). Not hashed.
    device: str = "auto"
    #: The segmentation network's arithmetic ("float32", "bfloat16", "auto": see
    #: ``devices.resolve_precision``). float32 by default, so that a study's labels do not
    #: depend on which worker's CPU ran it; hashed when it is anything else.
    precision: str = "float32"
    #: Torch CPU threads per study. Not hashed; fixed (not the machine's count) so that
    #: results do not depend on how many workers share a machine.
    torch_threads: int = 1
    #: Write the per-study report (report/report.pdf and .html) into each case folder. Not hashed.
    write_report: bool = True

    def __post_init__(self) -> None:
        from ..radiomics.settings import RadiomicsSettings

        if self.label_source not in LABEL_SOURCES:
            raise ValueError(f"label_source must be one of {LABEL_SOURCES}, got {self.label_source!r}")
        RadiomicsSettings.from_dict(self.radiomics)  # validates (raises RadiomicsSettingsError)
        if self.torch_threads < 1:
            raise ValueError("torch_threads must be >= 1")
        from ..devices import PRECISION_CHOICES

        if self.precision not in PRECISION_CHOICES:
            raise ValueError(f"precision must be one of {PRECISION_CHOICES}, got {self.precision!r}")

    @classmethod
    def with_radiomics_file(cls, path: str | PathLike[str] | None, **kwargs: Any) -> "PipelineSettings":
        """Settings using a radiomics settings file (YAML/JSON) when given."""
        if path is not None:
            from ..radiomics.settings import load_settings

            kwargs["radiomics"] = load_settings(path).to_dict()
        return cls(**kwargs)

    def radiomics_settings(self) -> Any:
        from ..radiomics.settings import RadiomicsSettings

        return RadiomicsSettings.from_dict(self.radiomics)

    def value_dict(self) -> dict[str, Any]:
        """Everything that changes a number in the output (what the hash covers).

        ``precision`` joins only when it is not float32, what every study before it ran
        (on CPUs), so that the hashes of finished studies stay valid.
        """
        values = {"pipeline_version": PIPELINE_VERSION, "radiomics": self.radiomics, "hu": self.hu,
                  "label_source": self.label_source, "min_lesion_voxels": self.min_lesion_voxels}
        if self.precision != "float32":
            values["precision"] = self.precision
        return values

    def settings_hash(self) -> str:
        text = json.dumps(self.value_dict(), sort_keys=True, separators=(",", ":"), default=float)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def feature_settings_hash(self) -> str:
        """Hash of the radiomics settings as the nomogram commands compute it (models.model_file)."""
        from ..models.model_file import settings_hash

        return str(settings_hash(self.radiomics))

    def to_json(self) -> dict[str, Any]:
        return {**self.value_dict(), "device": self.device, "torch_threads": self.torch_threads,
                "write_report": self.write_report, "settings_sha256": self.settings_hash()}
