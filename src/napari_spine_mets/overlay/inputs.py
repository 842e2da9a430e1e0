"""Which of a case's label maps hold the vertebrae, the vertebra parts and the lesions.

Label maps are keyed by the name the user sees (a layer name such as "vertebrae" or
"vertebrae (ground truth)"), so the overlay finds each role by name: the exact role name
first, then a name containing the role's word and none of the other roles' words. A
caller (a dock's combo box) can always name the map itself instead.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..volume import LabelMap

__all__ = ["Role", "ROLES", "choose_label_map", "OverlayInputs", "overlay_inputs"]

log = logging.getLogger(__name__)

Role = Literal["vertebrae", "parts", "lesions"]

#: role -> (exact names, words a name may contain, words it must not contain).
ROLES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "vertebrae": (("vertebrae", "totalsegmentator", "levels"), ("vertebra", "totalseg", "level"),
                  ("part", "lesion", "tissue", "roi")),
    "parts": (("parts",), ("part",), ("lesion", "tissue", "roi")),
    "lesions": (("lesions",), ("lesion", "metast"), ("part", "tissue", "roi")),
}


def choose_label_map(names: Iterable[str], role: Role) -> str | None:
    """The name among ``names`` that most likely holds ``role``, or None when none fits."""
    exact, words, avoid = ROLES[role]
    names = list(names)
    for wanted in exact:
        for name in names:
            if name.strip().lower() == wanted:
                return name
    for name in names:
        low = name.lower()
        if any(w in low for w in words) and not any(a in low for a in avoid):
            return name
    return None


@dataclass
class OverlayInputs:
    """The label maps an overlay is drawn from (any may be missing)."""

    vertebrae: LabelMap | None = None
    parts: LabelMap | None = None
    lesions: LabelMap | None = None


def overlay_inputs(label_maps: dict[str, LabelMap], *, vertebrae: str | None = None, parts: str | None = None,
                   lesions: str | None = None) -> OverlayInputs:
    """Pick the vertebrae, parts and lesion maps from ``label_maps`` (named, else by :func:`choose_label_map`).

    A map not on the vertebrae's grid is dropped (it could not be compared voxel by voxel).
    """
    def pick(name: str | None, role: Role) -> LabelMap | None:
        key = name if name is not None else choose_label_map(label_maps, role)
        return label_maps.get(key) if key is not None else None

    out = OverlayInputs(pick(vertebrae, "vertebrae"), pick(parts, "parts"), pick(lesions, "lesions"))
    if out.vertebrae is not None:
        for attr in ("parts", "lesions"):
            other = getattr(out, attr)
            if other is not None and (other.array.shape != out.vertebrae.array.shape
                                      or not np.allclose(other.affine, out.vertebrae.affine, atol=1e-2)):
                log.warning("overlay: the %s map '%s' is not on the grid of the vertebrae '%s'; not used",
                            attr, other.name, out.vertebrae.name)
                setattr(out, attr, None)
    return out
