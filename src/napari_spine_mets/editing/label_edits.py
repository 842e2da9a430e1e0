"""Corrections a reader makes to vertebra and lesion label maps: relabel, shift, merge, split, fill.

Each function changes ``array`` in place and returns a :class:`LabelEdit` holding only the
voxels it changed and the label names before and after, so the caller can undo it and
set the map's names to ``edit.names_after``. A refused edit raises
:class:`LabelEditError` and changes nothing. Arrays are (z, y, x); axis 0 is the axial
(cranio-caudal) axis, and ``caudal_is_low`` says which end of it is caudal (true for the
project's LPS grids, where the z index grows towards the head).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np

from ..anatomy import LEVELS, label_of_level
from ..segmentation.labelling import FIRST_UNNAMED_ID, shift_levels
from .changes import LabelEdit, VoxelChange
from .errors import LabelEditError

__all__ = [
    "level_of_name",
    "display_name",
    "present_labels",
    "relabel_vertebra",
    "shift_all_levels",
    "merge_labels",
    "split_at_plane",
    "narrowest_section",
    "split_at_narrowest",
    "split_components",
    "fill_holes",
]

log = logging.getLogger(__name__)

_VERTEBRA_PREFIX = "vertebrae_"


# ----------------------------------------------------------------- names
def level_of_name(name: str | None) -> str | None:
    """"T12" for "vertebrae_T12"; None for anything that is not a named level."""
    if not name or not name.startswith(_VERTEBRA_PREFIX):
        return None
    level = name.removeprefix(_VERTEBRA_PREFIX)
    return level if level in LEVELS else None


def display_name(names: Mapping[int, str], label: int) -> str:
    """What the user sees for a label id: its structure name, else "label_<id>"."""
    if label in names:
        return names[label]
    return "background" if label == 0 else f"label_{label}"


def present_labels(array: np.ndarray) -> list[int]:
    """Label ids present in ``array`` (0 included when present), ascending; fast for uint8/uint16."""
    values = np.asarray(array)
    if values.dtype.kind == "u" and values.dtype.itemsize <= 2:
        return [int(i) for i in np.flatnonzero(np.bincount(values.ravel(), minlength=1))]
    return [int(v) for v in np.unique(values)]


# ----------------------------------------------------------------- edits
def relabel_vertebra(array: np.ndarray, names: Mapping[int, str], label: int, level: str, *,
                     swap: bool = False, target: str = "labels") -> LabelEdit:
    """Give vertebra ``label`` the level ``level`` (its TotalSegmentator id and name).

    A level already used by another vertebra is refused unless ``swap``: then the two
    vertebrae exchange levels, which is how a reader fixes two levels named the wrong
    way round.
    """
    mask = _mask_of(array, names, label)
    try:
        new_label = label_of_level(level)
    except KeyError:
        raise LabelEditError(f"{level!r} is not a vertebral level (C1–S1)") from None
    level = level.upper()
    new_name = f"{_VERTEBRA_PREFIX}{level}"
    if new_label == label:
        raise LabelEditError(f"{display_name(names, label)} is already {level}")
    _check_fits(array, new_label)
    before = dict(names)
    after = dict(names)
    other = array == new_label
    if other.any():
        if not swap:
            raise LabelEditError(f"{level} is already used by {display_name(names, new_label)}: "
                                 "relabel that vertebra first, or ask to swap the two")
        changed = mask | other
        values = np.where(mask[changed], new_label, label).astype(array.dtype)
        voxels = VoxelChange.from_mask(array, changed, values)
        after[new_label] = new_name  # the other vertebra takes over ``label`` and its name
        description = f"swap levels: {display_name(names, label)} ↔ {display_name(names, new_label)}"
    else:
        voxels = VoxelChange.from_mask(array, mask, new_label)
        after.pop(label, None)
        after[new_label] = new_name
        description = f"relabel {display_name(names, label)} as {level}"
    return _done(array, target, description, voxels, before, after, "relabel")


def shift_all_levels(array: np.ndarray, names: Mapping[int, str], steps: int, *, target: str = "labels") -> LabelEdit:
    """Rename every named vertebra ``steps`` levels caudally (negative: cranially), in one edit."""
    if steps == 0:
        raise LabelEditError("shift by 0 levels changes nothing")
    try:
        shifted, new_names = shift_levels(np.asarray(array), dict(names), steps)
    except ValueError as exc:
        raise LabelEditError(str(exc)) from None
    voxels = VoxelChange.between(np.asarray(array), shifted)
    direction = "down (caudally)" if steps > 0 else "up (cranially)"
    return _done(array, target, f"shift all levels {direction} by {abs(steps)}", voxels, dict(names), new_names, "shift")


def merge_labels(array: np.ndarray, names: Mapping[int, str], keep: int, absorb: int, *,
                 target: str = "labels") -> LabelEdit:
    """Give label ``absorb``'s voxels to ``keep`` (one structure drawn as two); ``absorb``'s name goes."""
    if keep == absorb:
        raise LabelEditError(f"cannot merge {display_name(names, keep)} with itself")
    _mask_of(array, names, keep)
    mask = _mask_of(array, names, absorb)
    after = dict(names)
    after.pop(absorb, None)
    voxels = VoxelChange.from_mask(array, mask, keep)
    description = f"merge {display_name(names, absorb)} into {display_name(names, keep)}"
    return _done(array, target, description, voxels, dict(names), after, "merge")


def split_at_plane(array: np.ndarray, names: Mapping[int, str], label: int, z: int, *,
                   new_label: int | None = None, new_name: str | None = None,
                   caudal_is_low: bool = True, target: str = "labels") -> LabelEdit:
    """Cut ``label`` by the axial plane before slice ``z``; the caudal part becomes a new label.

    The new label is the next level caudally when ``label`` is a named vertebra and that
    level is free (two vertebrae wrongly drawn as one are usually named by the upper
    one), else an unnamed id for the user to relabel.
    """
    mask = _mask_of(array, names, label)
    z = int(z)
    index = np.arange(array.shape[0]).reshape((-1,) + (1,) * (array.ndim - 1))
    caudal = mask & ((index < z) if caudal_is_low else (index >= z))
    cranial_count = int(mask.sum() - caudal.sum())
    if not caudal.any() or cranial_count == 0:
        raise LabelEditError(f"the plane at slice {z} does not cut {display_name(names, label)} "
                             f"(it spans slices {_z_span(mask)})")
    new_label, new_name = _new_label_for(array, names, label, new_label, new_name)
    after = dict(names)
    after[new_label] = new_name
    voxels = VoxelChange.from_mask(array, caudal, new_label)
    description = (f"split {display_name(names, label)} at slice {z}: "
                   f"the caudal part ({voxels.count} voxels) is now {new_name}")
    return _done(array, target, description, voxels, dict(names), after, "split")


def narrowest_section(array: np.ndarray, label: int, *, min_fraction: float = 0.2) -> int:
    """The axial slice where ``label`` is thinnest, among cuts leaving ``min_fraction`` on each side.

    Two vertebrae drawn as one touch through the disc space: the thinnest cross-section
    between their bodies is where they meet. The returned ``z`` is for
    :func:`split_at_plane` (slices below ``z`` on one side, ``z`` and above on the other).
    """
    mask = np.asarray(array) == label
    areas = np.count_nonzero(mask.reshape(mask.shape[0], -1), axis=1)
    total = int(areas.sum())
    if total == 0:
        raise LabelEditError(f"label {label} is not in this label map")
    below = np.cumsum(areas) - areas  # voxels in the slices before z
    least = min_fraction * total
    candidates = np.flatnonzero((below >= least) & (total - below >= least) & (areas > 0))
    if candidates.size == 0:
        raise LabelEditError(f"label {label} is too thin along z to split into two parts")
    # thinnest first; among equals the most balanced cut
    order = np.lexsort((np.abs(below[candidates] - total / 2), areas[candidates]))
    return int(candidates[order[0]])


def split_at_narrowest(array: np.ndarray, names: Mapping[int, str], label: int, *, min_fraction: float = 0.2,
                       new_label: int | None = None, new_name: str | None = None,
                       caudal_is_low: bool = True, target: str = "labels") -> LabelEdit:
    """Split ``label`` at its narrowest axial cross-section (see :func:`narrowest_section`)."""
    _mask_of(array, names, label)
    z = narrowest_section(array, label, min_fraction=min_fraction)
    area = int(np.count_nonzero(np.asarray(array[z]) == label))
    edit = split_at_plane(array, names, label, z, new_label=new_label, new_name=new_name,
                          caudal_is_low=caudal_is_low, target=target)
    description = edit.description.replace(f"at slice {z}", f"at its narrowest section (slice {z}, {area} voxels)")
    return LabelEdit(edit.target, description, edit.voxels, edit.names_before, edit.names_after, edit.kind)


def split_components(array: np.ndarray, names: Mapping[int, str], label: int, *,
                     target: str = "labels") -> LabelEdit:
    """Give each disconnected piece of ``label`` but the largest a new label of its own."""
    from scipy import ndimage

    mask = _mask_of(array, names, label)
    pieces, n = ndimage.label(mask)
    if n < 2:
        raise LabelEditError(f"{display_name(names, label)} is one connected piece: nothing to split")
    sizes = np.bincount(pieces.ravel())[1:]
    largest = int(np.argmax(sizes)) + 1
    after = dict(names)
    values = np.zeros(pieces.shape, dtype=array.dtype)
    taken: list[str] = []
    for piece in range(1, n + 1):
        if piece == largest:
            continue
        new_label, new_name = _new_label_for(array, after, label, None, None)  # `after` reserves earlier ids
        after[new_label] = new_name
        values[pieces == piece] = new_label
        taken.append(new_name)
    moved = (pieces > 0) & (pieces != largest)
    voxels = VoxelChange.from_mask(array, moved, values[moved])
    description = f"split {display_name(names, label)} into {n} connected pieces: new {', '.join(taken)}"
    return _done(array, target, description, voxels, dict(names), after, "split")


def fill_holes(array: np.ndarray, names: Mapping[int, str], label: int, *, overwrite: bool = False,
               target: str = "labels") -> LabelEdit:
    """Fill the enclosed holes of ``label`` (background only, unless ``overwrite``).

    Holes are cavities closed in 3D; the spinal canal is a tunnel, not a hole, so it
    stays empty.
    """
    from scipy import ndimage

    mask = _mask_of(array, names, label)
    box = tuple(slice(max(int(c.min()) - 1, 0), int(c.max()) + 2) for c in np.nonzero(mask))
    inside = mask[box]
    holes = ndimage.binary_fill_holes(inside) & ~inside
    region = np.asarray(array[box])
    if not overwrite:
        holes &= region == 0
    coords = np.nonzero(holes)
    flat = np.ravel_multi_index(tuple(c + s.start for c, s in zip(coords, box)), array.shape)
    voxels = VoxelChange.from_parts(array.shape, array.dtype, [(flat, region[holes], label)])
    description = f"fill holes in {display_name(names, label)} ({voxels.count} voxels)"
    return _done(array, target, description, voxels, dict(names), dict(names), "fill")


# ----------------------------------------------------------------- helpers
def _mask_of(array: np.ndarray, names: Mapping[int, str], label: int) -> np.ndarray:
    if int(label) == 0:
        raise LabelEditError("background (label 0) cannot be edited this way: pick a structure")
    mask = np.asarray(array) == label
    if not mask.any():
        raise LabelEditError(f"{display_name(names, label)} (label {label}) is not in this label map")
    return mask


def _check_fits(array: np.ndarray, label: int) -> None:
    info = np.iinfo(array.dtype)
    if not info.min <= label <= info.max:
        raise LabelEditError(f"label {label} does not fit this label map's {array.dtype} voxels")


def _new_label_for(array: np.ndarray, names: Mapping[int, str], label: int, new_label: int | None,
                   new_name: str | None) -> tuple[int, str]:
    """The id and name for a part split off ``label`` (the next caudal level when free)."""
    used = set(present_labels(array)) | set(names)
    if new_label is not None:
        if new_label == 0 or np.any(np.asarray(array) == new_label):
            raise LabelEditError(f"label {new_label} ({display_name(names, new_label)}) is already in use")
        _check_fits(array, new_label)
        return int(new_label), new_name or display_name(names, new_label)
    level = level_of_name(names.get(label))
    vertebra_map = any(n.startswith(_VERTEBRA_PREFIX) for n in names.values())
    if level is not None and LEVELS.index(level) + 1 < len(LEVELS):
        next_level = LEVELS[LEVELS.index(level) + 1]
        candidate = label_of_level(next_level)
        if candidate not in used:
            return candidate, f"{_VERTEBRA_PREFIX}{next_level}"
    if vertebra_map or level is not None:
        candidate = FIRST_UNNAMED_ID
        while candidate in used:
            candidate += 1
        _check_fits(array, candidate)
        return candidate, f"vertebra_unnamed_{candidate}"
    candidate = max(used | {0}) + 1
    _check_fits(array, candidate)
    base = names.get(label, f"label_{label}")
    return candidate, new_name or f"{base}_part{candidate}"


def _z_span(mask: np.ndarray) -> str:
    z = np.flatnonzero(mask.reshape(mask.shape[0], -1).any(axis=1))
    return f"{z.min()}–{z.max()}" if z.size else "none"


def _done(array: np.ndarray, target: str, description: str, voxels: VoxelChange,
          before: dict[int, str], after: dict[int, str], kind: str) -> LabelEdit:
    voxels.apply(array)
    log.info("label edit on %s: %s (%d voxels)", target, description, voxels.count)
    return LabelEdit(target, description, voxels, before, after, kind)
