"""Vertebral levels and the label ids used for them everywhere in the project.

Vertebra labels use TotalSegmentator's ``total`` task ids and names (v2 class map:
``totalsegmentator/map_to_binary.py``, ``class_map["total"]``), so label maps drop into
the tools people already use. Sub-parts of a vertebra (body, posterior elements,
pedicles, canal) have no TotalSegmentator id; the project's own small code is
:class:`VertebraPart`, stored in a separate label map.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = [
    "LEVELS",
    "TOTALSEG_VERTEBRA_IDS",
    "TOTALSEG_NAMES",
    "TOTALSEG_SACRUM",
    "TOTALSEG_SPINAL_CORD",
    "level_of_label",
    "label_of_level",
    "VertebraPart",
]

#: Cranial to caudal. "S1" is TotalSegmentator's vertebrae_S1; the rest of the sacrum is "sacrum".
LEVELS: tuple[str, ...] = (
    *(f"C{i}" for i in range(1, 8)),
    *(f"T{i}" for i in range(1, 13)),
    *(f"L{i}" for i in range(1, 6)),
    "S1",
)

# TotalSegmentator v2 "total": 26 vertebrae_S1, 27 L5 ... 31 L1, 32 T12 ... 43 T1, 44 C7 ... 50 C1.
TOTALSEG_VERTEBRA_IDS: dict[str, int] = {level: 50 - i for i, level in enumerate(LEVELS[:7])}
TOTALSEG_VERTEBRA_IDS.update({f"T{i}": 44 - i for i in range(1, 13)})
TOTALSEG_VERTEBRA_IDS.update({f"L{i}": 32 - i for i in range(1, 6)})
TOTALSEG_VERTEBRA_IDS["S1"] = 26

TOTALSEG_SACRUM = 25
TOTALSEG_SPINAL_CORD = 79

#: id -> TotalSegmentator structure name, for the structures this project writes.
TOTALSEG_NAMES: dict[int, str] = {
    **{label: f"vertebrae_{level}" for level, label in TOTALSEG_VERTEBRA_IDS.items()},
    TOTALSEG_SACRUM: "sacrum",
    TOTALSEG_SPINAL_CORD: "spinal_cord",
}

_LEVEL_OF_LABEL = {label: level for level, label in TOTALSEG_VERTEBRA_IDS.items()}


def level_of_label(label: int) -> str | None:
    """Level name ("T12") of a TotalSegmentator vertebra id, or None for anything else."""
    return _LEVEL_OF_LABEL.get(int(label))


def label_of_level(level: str) -> int:
    """TotalSegmentator id of a level name; raises KeyError for an unknown level."""
    return TOTALSEG_VERTEBRA_IDS[level.upper()]


class VertebraPart(IntEnum):
    """The project's sub-part codes, stored in the "parts" label map beside the levels."""

    BODY = 1
    POSTERIOR_ELEMENTS = 2  # laminae, spinous and transverse processes, facets
    PEDICLE_LEFT = 3
    PEDICLE_RIGHT = 4
    CANAL = 5
    DISC = 6
    CORD = 7
