"""CT display windows and the caveats every HU figure carries (no Qt).

Window presets are the usual radiology defaults (level, width in HU); the viewer turns
them into contrast limits. The caveats follow the clinical reference: HU thresholds
assume 120 kVp, and intravenous contrast raises trabecular HU.
"""

from __future__ import annotations

from .volume import VolumeMetadata

__all__ = ["WINDOW_PRESETS", "contrast_limits", "default_window", "hu_caveats", "DECISION_SUPPORT_NOTICE"]

#: name -> (level, width) in HU.
WINDOW_PRESETS: dict[str, tuple[float, float]] = {
    "bone": (400.0, 1800.0),
    "soft tissue": (40.0, 400.0),
    "spine soft tissue": (50.0, 250.0),
    "lung": (-600.0, 1500.0),
}

DECISION_SUPPORT_NOTICE = (
    "Decision support for clinicians, not a diagnosis: every figure shows where it came from."
)


def contrast_limits(preset: str) -> tuple[float, float]:
    """(low, high) HU of a named window preset."""
    level, width = WINDOW_PRESETS[preset]
    return (level - width / 2.0, level + width / 2.0)


def default_window(metadata: VolumeMetadata) -> str | None:
    """The preset a spine reader starts with: bone for CT, none (auto) for other modalities."""
    return "bone" if metadata.modality.upper() == "CT" else None


def hu_caveats(metadata: VolumeMetadata) -> list[str]:
    """Warnings to show beside any HU figure measured on this volume."""
    notes: list[str] = []
    if metadata.modality and metadata.modality.upper() != "CT":
        notes.append(f"{metadata.modality} series: pixel values are not Hounsfield units.")
        return notes
    if metadata.kvp is None:
        notes.append("Tube voltage (kVp) unknown: HU thresholds assume 120 kVp.")
    elif abs(metadata.kvp - 120.0) > 0.5:
        notes.append(f"Acquired at {metadata.kvp:g} kVp: HU thresholds assume 120 kVp.")
    if metadata.contrast_applied:
        notes.append(
            f"Intravenous contrast ({metadata.contrast_agent}): raises trabecular HU, "
            "bone-quality thresholds are for unenhanced CT."
        )
    elif metadata.contrast_applied is None and metadata.modality.upper() == "CT":
        notes.append("Contrast not recorded in the header: check whether contrast was given.")
    return notes
