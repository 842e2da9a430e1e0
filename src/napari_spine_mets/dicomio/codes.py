"""Coded concepts for segments and measurements, all taken from pydicom's code dictionaries.

Standard codes are looked up by name in ``pydicom.sr.codedict.codes`` (SNOMED CT, DCM,
UCUM), never typed in by hand, so a typo fails loudly instead of writing a wrong code.
Where no specific standard code exists (vertebra S1, the vertebral body, the disc, the
project's scores) the generic code is used and the structure is named in the segment
label, or - for scores - a *local* code in the private scheme ``99NSM`` is used, as
DICOM PS3.16 allows for concepts without a standard code (``99`` prefix = local).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

__all__ = [
    "LOCAL_SCHEME",
    "SegmentCodes",
    "segment_codes",
    "level_code",
    "local_code",
    "ucum_unit",
]

#: Private coding scheme designator for concepts without a standard code.
LOCAL_SCHEME = "99NSM"

# Label name -> (category attribute in cid7150, type attribute in codes.SCT, laterality)
_PARTS: dict[str, tuple[str, str, str | None]] = {
    "body": ("AnatomicalStructure", "Vertebra", None),
    "posterior_elements": ("AnatomicalStructure", "ArchOfVertebra", None),
    "pedicle_left": ("AnatomicalStructure", "PedicleOfVertebra", "Left"),
    "pedicle_right": ("AnatomicalStructure", "PedicleOfVertebra", "Right"),
    "canal": ("AnatomicalStructure", "VertebralCanal", None),
    "disc": ("AnatomicalStructure", "AnatomicalStructure", None),
    "cord": ("AnatomicalStructure", "SpinalCord", None),
    "spinal_cord": ("AnatomicalStructure", "SpinalCord", None),
    "sacrum": ("AnatomicalStructure", "Sacrum", None),
}

_LEVEL_RE = re.compile(r"(?<![A-Za-z0-9])([CTLS])(\d{1,2})(?![0-9])")


@dataclass(frozen=True)
class SegmentCodes:
    """Category, type, optional laterality modifier and anatomic region of one segment."""

    category: Any
    type: Any
    modifier: Any | None = None
    region: Any | None = None


def level_code(level: str) -> Any | None:
    """SNOMED CT code of a vertebral level ("L1" -> 66794005 L1 vertebra), or None (e.g. S1)."""
    from pydicom.sr.codedict import codes

    name = f"{level.upper()}Vertebra"
    return getattr(codes.SCT, name) if name in codes.SCT.dir() else None


def _level_in(text: str) -> str | None:
    match = _LEVEL_RE.search(text.replace("vertebrae_", " "))
    return f"{match.group(1)}{int(match.group(2))}" if match else None


def segment_codes(map_name: str, label_name: str, level: str | None = None) -> SegmentCodes:
    """Codes for a label of a map: vertebra levels, parts, lesions; generic codes otherwise.

    ``level`` (e.g. "L2") sets the anatomic region of a lesion segment.
    """
    from pydicom.sr.codedict import codes

    structure = codes.cid7150.AnatomicalStructure
    name = label_name.strip().lower()
    if map_name.lower().startswith("lesion") or name.startswith("lesion"):
        found = level or _level_in(label_name)
        region = (level_code(found) or codes.SCT.Vertebra) if found else None
        return SegmentCodes(codes.cid7150.MorphologicallyAbnormalStructure, codes.SCT.Lesion, region=region)
    if name.startswith("vertebrae_") or re.fullmatch(r"[ctls]\d{1,2}", name):
        found = _level_in(label_name.upper())
        specific = level_code(found) if found else None
        # No specific code (e.g. S1): generic "Vertebra"; the level stays in the segment label.
        return SegmentCodes(structure, specific or codes.SCT.Vertebra)
    if name in _PARTS:
        _, type_name, side = _PARTS[name]
        modifier = getattr(codes.SCT, side) if side else None
        return SegmentCodes(structure, getattr(codes.SCT, type_name), modifier)
    return SegmentCodes(structure, codes.SCT.AnatomicalStructure)


def local_code(name: str) -> Any:
    """A stable local code (scheme ``99NSM``) for a measurement without a standard code."""
    from pydicom.sr.coding import Code

    digest = hashlib.sha1(name.encode("utf-8")).hexdigest()[:10].upper()
    return Code(f"NSM{digest}", LOCAL_SCHEME, name[:64] or "unnamed")


_UNITS = {
    "hu": "HounsfieldUnit",
    "mm3": "CubicMillimeter",
    "mm": "Millimeter",
}


def ucum_unit(unit: str) -> Any:
    """UCUM code for a unit string: HU, mm3, mm by name; others as a UCUM annotation ``{unit}``."""
    from pydicom.sr.codedict import codes
    from pydicom.sr.coding import Code

    key = unit.strip().lower().replace("³", "3").replace("^3", "3")
    if key in _UNITS:
        return getattr(codes.UCUM, _UNITS[key])
    if key in ("", "1", "points", "point", "pt", "score"):
        return Code("1", "UCUM", "no units")
    if key == "%":
        return Code("%", "UCUM", "percent")
    clean = re.sub(r"[^A-Za-z0-9 ._/-]", "", unit.strip())[:30] or "unit"
    return Code("{" + clean + "}", "UCUM", clean)
