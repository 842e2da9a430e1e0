"""The voxels one edit changed, stored compactly, and the record of one label edit.

Undo must not keep a copy of the volume per edit (a CT label map is 100+ MB): a
:class:`VoxelChange` keeps only the bounding box of the changed voxels, where in the box
they are (flat positions or a packed bit mask, whichever is smaller) and their old and
new values (a single value when they are all the same, as in a relabel).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .errors import LabelEditError

__all__ = ["VoxelChange", "LabelEdit"]


@dataclass(frozen=True, eq=False)
class VoxelChange:
    """Changed voxels of one array: their box, where they are in it, old and new values."""

    shape: tuple[int, ...]
    box: tuple[tuple[int, int], ...]  # (start, stop) per axis
    where: np.ndarray  # ascending positions inside the box, or the box's mask as packed bits
    packed: bool
    old: np.ndarray  # 1-D, or 0-d when every old value is the same
    new: np.ndarray
    count: int

    # ----------------------------------------------------------------- building
    @classmethod
    def empty(cls, shape: Sequence[int], dtype: np.dtype | type = np.uint8) -> VoxelChange:
        """A change of nothing (an edit that found nothing to do)."""
        none = np.zeros(0, dtype=dtype)
        return cls(tuple(int(s) for s in shape), tuple((0, 0) for _ in shape), np.zeros(0, np.uint32), False, none, none, 0)

    @classmethod
    def between(cls, before: np.ndarray, after: np.ndarray) -> VoxelChange:
        """The change that turns ``before`` into ``after`` (same shape)."""
        if before.shape != after.shape:
            raise LabelEditError(f"cannot compare label maps of shapes {before.shape} and {after.shape}")
        changed = before != after
        return cls.from_mask(before, changed, after[changed])

    @classmethod
    def from_mask(cls, array: np.ndarray, mask: np.ndarray, new: np.ndarray | int) -> VoxelChange:
        """The change of writing ``new`` (scalar, or one value per True voxel) where ``mask`` is True."""
        flat = np.flatnonzero(mask)
        old = np.asarray(array)[mask]
        new_values = np.broadcast_to(np.asarray(new, dtype=array.dtype), old.shape)
        keep = old != new_values
        if not keep.all():
            flat, old, new_values = flat[keep], old[keep], new_values[keep]
        return cls._build(array.shape, flat, old, new_values)

    @classmethod
    def from_parts(cls, shape: Sequence[int], dtype: np.dtype | type,
                   parts: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray | int]]) -> VoxelChange:
        """One change from successive (flat indices, old values, new values) writes, in order.

        A voxel written more than once keeps its first old value and its last new one, so
        a whole paint stroke (many dabs, some overlapping) undoes in one step.
        """
        flats, olds, news = [], [], []
        for flat, old, new in parts:
            flat = np.asarray(flat, dtype=np.int64).ravel()
            flats.append(flat)
            olds.append(np.broadcast_to(np.asarray(old, dtype=dtype), flat.shape).ravel())
            news.append(np.broadcast_to(np.asarray(new, dtype=dtype), flat.shape).ravel())
        if not flats or sum(f.size for f in flats) == 0:
            return cls.empty(shape, dtype)
        flat, old, new = np.concatenate(flats), np.concatenate(olds), np.concatenate(news)
        order = np.argsort(flat, kind="stable")  # stable: equal indices stay in write order
        flat, old, new = flat[order], old[order], new[order]
        unique, first = np.unique(flat, return_index=True)
        last = np.append(first[1:], flat.size) - 1
        old, new = old[first], new[last]
        keep = old != new
        return cls._build(shape, unique[keep], old[keep], new[keep])

    @classmethod
    def _build(cls, shape: Sequence[int], flat: np.ndarray, old: np.ndarray, new: np.ndarray) -> VoxelChange:
        shape = tuple(int(s) for s in shape)
        if flat.size == 0:
            return cls.empty(shape, old.dtype)
        coords = np.unravel_index(flat, shape)
        starts = [int(c.min()) for c in coords]
        stops = [int(c.max()) + 1 for c in coords]
        box_shape = tuple(b - a for a, b in zip(starts, stops))
        box_size = int(np.prod(box_shape, dtype=np.int64))
        positions = np.ravel_multi_index(tuple(c - a for c, a in zip(coords, starts)), box_shape)
        index_dtype = np.uint32 if box_size < 2**32 else np.uint64
        if (box_size + 7) // 8 < flat.size * np.dtype(index_dtype).itemsize:
            mask = np.zeros(box_size, dtype=bool)
            mask[positions] = True
            where, packed = np.packbits(mask), True
        else:
            where, packed = positions.astype(index_dtype), False  # flat input is sorted: positions ascend too
        return cls(shape, tuple(zip(starts, stops)), where, packed, _compact(old), _compact(new), int(flat.size))

    # ----------------------------------------------------------------- using
    @property
    def nbytes(self) -> int:
        """Memory this record holds (what the history's cap counts)."""
        return int(self.where.nbytes + self.old.nbytes + self.new.nbytes)

    def slices(self) -> tuple[slice, ...]:
        return tuple(slice(a, b) for a, b in self.box)

    def mask(self) -> np.ndarray:
        """Boolean mask, shaped like the box, of the changed voxels."""
        box_shape = tuple(b - a for a, b in self.box)
        size = int(np.prod(box_shape, dtype=np.int64))
        if self.packed:
            return np.unpackbits(self.where, count=size).astype(bool).reshape(box_shape)
        mask = np.zeros(size, dtype=bool)
        mask[self.where] = True
        return mask.reshape(box_shape)

    def apply(self, array: np.ndarray, *, undo: bool = False) -> None:
        """Write the new values into ``array`` (the old ones when ``undo``), in place."""
        if tuple(array.shape) != self.shape:
            raise LabelEditError(f"this edit was made on a label map of shape {self.shape}, not {tuple(array.shape)}")
        if self.count == 0:
            return
        key = self.slices()
        region = np.asarray(array[key])  # a view for numpy; written back below for other backends
        region[self.mask()] = self.old if undo else self.new
        array[key] = region

    def values(self, *, old: bool) -> np.ndarray:
        """The old (or new) values, one per changed voxel, in C order."""
        values = self.old if old else self.new
        return np.broadcast_to(values, (self.count,)) if values.ndim == 0 else values


def _compact(values: np.ndarray) -> np.ndarray:
    """One 0-d value when all are equal (relabel, paint), else a private 1-D copy."""
    values = np.asarray(values)
    if values.size and np.all(values == values.flat[0]):
        return np.array(values.flat[0], dtype=values.dtype)
    return np.array(values, copy=True).ravel()


@dataclass(frozen=True, eq=False)
class LabelEdit:
    """One undoable edit of one label map: its voxels, its names before and after, and why."""

    target: str  # which label map (the napari layer's name)
    description: str  # e.g. "relabel vertebrae_T12 as L1"
    voxels: VoxelChange
    names_before: Mapping[int, str] = field(default_factory=dict)
    names_after: Mapping[int, str] = field(default_factory=dict)
    kind: str = "edit"  # relabel, merge, split, fill, shift, paint

    @property
    def changed(self) -> bool:
        return self.voxels.count > 0 or dict(self.names_before) != dict(self.names_after)

    @property
    def nbytes(self) -> int:
        text = sum(len(n) + 32 for n in (*self.names_before.values(), *self.names_after.values()))
        return self.voxels.nbytes + text + len(self.description) + 200  # + rough object overhead
