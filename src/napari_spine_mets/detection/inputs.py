"""Checks of what detection is given: CT in HU, labels on the CT's grid, vertebrae present.

Each refusal is a project error whose message says what is wrong and what to do, so the
UI shows a notification and the CLI one line (never a traceback).
"""

from __future__ import annotations

import numpy as np

from ..anatomy import TOTALSEG_SACRUM, TOTALSEG_VERTEBRA_IDS
from ..errors import GridMismatchError, SpineMetsError
from ..volume import LabelMap, Volume

__all__ = ["DetectionError", "NoVertebraError", "DetectionCancelled", "BONE_LABELS", "check_inputs"]

#: Labels searched for lesions: every TotalSegmentator vertebra id, and the sacrum.
BONE_LABELS: tuple[int, ...] = (*sorted(TOTALSEG_VERTEBRA_IDS.values()), TOTALSEG_SACRUM)


class DetectionError(SpineMetsError):
    """Lesion detection cannot run on this input."""


class NoVertebraError(DetectionError):
    """The label map holds no vertebra (segmentation not run, or the wrong label map)."""


class DetectionCancelled(SpineMetsError):
    """The user cancelled detection; nothing was changed."""


def check_ct(volume: Volume) -> None:
    """Refuse anything that is not CT in Hounsfield units (MR above all)."""
    from ..hounsfield import require_ct_hu

    require_ct_hu(
        volume,
        task="automatic lesion detection, which compares HU with the patient's normal bone and exists for CT only, "
        "cannot run",
        hint="The manual tools (drawing a lesion) still work.",
    )


def check_labels(volume: Volume, labels: LabelMap, what: str = "vertebra labels") -> None:
    """Labels must lie on the CT's voxel grid (same shape and affine)."""
    if labels.array.shape != volume.array.shape or not np.allclose(labels.affine, volume.affine, atol=1e-3):
        raise GridMismatchError(
            labels.source or None,
            f"the {what} '{labels.name}' {labels.array.shape} are not on the grid of '{volume.name}' "
            f"{volume.array.shape}: resample them onto the CT first (reading TotalSegmentator output with "
            "target=CT does this)",
        )


def check_inputs(volume: Volume, vertebrae: LabelMap | None, parts: LabelMap | None = None) -> list[int]:
    """All checks; returns the bone label ids present (vertebrae and sacrum)."""
    check_ct(volume)
    if vertebrae is None:
        raise NoVertebraError("no vertebra labels: run the vertebra segmentation first (or give TotalSegmentator "
                              "labels); lesions are only searched inside labelled vertebrae")
    check_labels(volume, vertebrae)
    if parts is not None:
        check_labels(volume, parts, "vertebra parts")
    present = [int(v) for v in np.unique(vertebrae.array) if int(v) in BONE_LABELS]
    if not present:
        raise NoVertebraError(
            f"'{vertebrae.name}' holds no vertebra or sacrum label (TotalSegmentator ids 25-50): run the vertebra "
            "segmentation first; lesions are only searched inside labelled vertebrae"
        )
    return present
