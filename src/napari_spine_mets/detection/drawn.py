"""Measure a lesion the user drew (or edited) by hand: level, volume, HU, as a case :class:`Lesion`.

A drawn lesion has no detector behind it, so its record is only what the voxels say: the
level is the vertebra label under most of its voxels (None where it lies on no vertebra
label), the volume is its voxel count times the voxel volume, and the HU summary is taken
on the CT. On a volume that is not CT in HU (an MR) the HU summary is left empty, with a
note, rather than reporting MR intensities as Hounsfield units.
"""

from __future__ import annotations

import logging

import numpy as np

from ..case_parts import HuStats, Lesion, LesionKind, LesionStatus
from ..errors import ModalityError
from ..volume import LabelMap, Volume
from .describe import hu_stats
from .inputs import BONE_LABELS, DetectionError, check_labels
from .normal_bone import level_name

__all__ = ["DRAWN_SOURCE", "measure_drawn_lesion", "level_under"]

log = logging.getLogger(__name__)

DRAWN_SOURCE = "drawn by the user"


def level_under(mask: np.ndarray, vertebrae: LabelMap | None) -> str | None:
    """The level (or "sacrum") labelled under most of ``mask``'s voxels; None when on no bone label."""
    if vertebrae is None:
        return None
    under = vertebrae.array[mask]
    under = under[np.isin(under, BONE_LABELS)]
    if under.size == 0:
        return None
    return level_name(int(np.bincount(under.astype(np.int64)).argmax()))


def measure_drawn_lesion(volume: Volume, mask: np.ndarray, lesion_id: int, vertebrae: LabelMap | None = None,
                         kind: LesionKind = LesionKind.UNKNOWN, status: LesionStatus = LesionStatus.DRAWN,
                         source: str = DRAWN_SOURCE) -> Lesion:
    """The case record of the voxels ``mask`` (bool, on ``volume``'s grid) as lesion ``lesion_id``.

    Raises :class:`.inputs.DetectionError` for an empty mask or one on another grid.
    """
    from ..hounsfield import require_ct_hu

    mask = np.asarray(mask, dtype=bool)
    if mask.shape != volume.shape:
        raise DetectionError(f"the drawn lesion {mask.shape} is not on the grid of '{volume.name}' {volume.shape}")
    if vertebrae is not None:
        check_labels(volume, vertebrae)
    n = int(mask.sum())
    if n == 0:
        raise DetectionError(f"lesion {lesion_id} has no voxels: paint it in the lesions layer first")
    spacing = volume.spacing
    notes = []
    try:
        require_ct_hu(volume, task="no HU summary is given for the drawn lesion")
        hu = hu_stats(volume.array[mask])
    except ModalityError as exc:
        hu = HuStats(n_voxels=n)
        notes.append(str(exc))
    level = level_under(mask, vertebrae)
    if level is None:
        notes.append("not on a labelled vertebra: level unknown")
    log.info("drawn lesion %d: %d voxels at %s", lesion_id, n, level)
    return Lesion(id=int(lesion_id), level=level, kind=LesionKind(kind), volume_mm3=float(n * np.prod(spacing)), hu=hu,
                  status=LesionStatus(status), confidence=None, source=source, notes="; ".join(notes))
