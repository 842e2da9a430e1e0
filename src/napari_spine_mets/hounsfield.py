"""One check, used by every tool that needs CT Hounsfield units (HU ROIs, lesions, segmentation).

An MR, or a CT stored without its rescale, must be refused with a message that says what
the tool needed and what still works, never measured as if its values were HU.
"""

from __future__ import annotations

from .errors import ModalityError
from .volume import Volume

__all__ = ["require_ct_hu"]


def require_ct_hu(volume: Volume, *, task: str, hint: str = "") -> None:
    """Raise ModalityError unless ``volume`` is CT in HU.

    ``task`` completes "…so <task>" (what cannot be done); ``hint`` says what still works.
    A volume of unknown modality passes only if it holds negative values (air, fat).
    """
    modality = (volume.metadata.modality or "").strip().upper()
    where = volume.metadata.source or None
    tail = f" {hint}" if hint else ""
    if modality and modality != "CT":
        raise ModalityError(
            where, f"'{volume.name}' is {modality}, not CT: its pixel values are not Hounsfield units, so {task}.{tail}"
        )
    if not modality and volume.array.size and float(volume.array.min()) >= 0.0:
        raise ModalityError(
            where,
            f"'{volume.name}': modality unknown and no value below 0: these are not Hounsfield units "
            f"(an MR, or a CT stored without its rescale), so {task}.{tail}",
        )
