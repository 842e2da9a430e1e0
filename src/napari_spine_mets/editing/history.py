"""One undo/redo history for every label edit of a case, paint strokes included, in the order made.

A reader who paints, then relabels, then paints again expects Undo to walk back through
exactly those steps, whichever label map each touched. Records hold only the changed
voxels (:class:`~.changes.VoxelChange`), and the history drops its oldest records once
they pass ``max_bytes``, so long sessions on large CTs stay within memory.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Mapping

import numpy as np

from .changes import LabelEdit
from .errors import LabelEditError

__all__ = ["EditHistory", "DEFAULT_MAX_BYTES"]

log = logging.getLogger(__name__)

#: Memory the history may hold before it forgets its oldest edits.
DEFAULT_MAX_BYTES = 256 * 1024 * 1024


class EditHistory:
    """Undo and redo stacks of :class:`LabelEdit` records, keyed by their label map (``edit.target``)."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = int(max_bytes)
        self._undo: deque[LabelEdit] = deque()
        self._redo: deque[LabelEdit] = deque()
        #: How many of the oldest records were forgotten to stay under ``max_bytes``.
        self.dropped = 0

    # ----------------------------------------------------------------- state
    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def nbytes(self) -> int:
        return sum(edit.nbytes for edit in (*self._undo, *self._redo))

    def __len__(self) -> int:
        return len(self._undo)

    @property
    def done(self) -> tuple[LabelEdit, ...]:
        """Edits that Undo can revert, oldest first."""
        return tuple(self._undo)

    @property
    def undone(self) -> tuple[LabelEdit, ...]:
        """Edits that Redo can re-apply, the next one last."""
        return tuple(self._redo)

    def next_undo(self) -> LabelEdit | None:
        """The edit Undo would revert (for a button's tooltip)."""
        return self._undo[-1] if self._undo else None

    def next_redo(self) -> LabelEdit | None:
        return self._redo[-1] if self._redo else None

    # ----------------------------------------------------------------- changes
    def push(self, edit: LabelEdit) -> bool:
        """Remember an edit that was just applied; a new edit forgets what could be redone.

        Returns False (and remembers nothing) for an edit that changed nothing.
        """
        if not edit.changed:
            return False
        self._undo.append(edit)
        self._redo.clear()
        self._enforce_cap()
        log.debug("history: %s on %s (%d bytes held)", edit.description, edit.target, self.nbytes)
        return True

    def undo(self, arrays: Mapping[str, np.ndarray]) -> LabelEdit | None:
        """Revert the latest edit in its array (``arrays[edit.target]``, in place); return it.

        The caller sets that label map's names to ``edit.names_before``. Nothing is popped
        when the array is missing or has another shape.
        """
        if not self._undo:
            return None
        edit = self._undo[-1]
        edit.voxels.apply(_array_for(arrays, edit), undo=True)
        self._redo.append(self._undo.pop())
        return edit

    def redo(self, arrays: Mapping[str, np.ndarray]) -> LabelEdit | None:
        """Apply the latest undone edit again; the caller sets names to ``edit.names_after``."""
        if not self._redo:
            return None
        edit = self._redo[-1]
        edit.voxels.apply(_array_for(arrays, edit))
        self._undo.append(self._redo.pop())
        return edit

    def forget(self, target: str | None = None) -> int:
        """Drop every record (of ``target`` only, when given), e.g. when its layer is replaced."""
        before = len(self._undo) + len(self._redo)
        if target is None:
            self._undo.clear()
            self._redo.clear()
        else:
            # later records of other maps never depend on this map's voxels, so they stay valid
            self._undo = deque(e for e in self._undo if e.target != target)
            self._redo = deque(e for e in self._redo if e.target != target)
        return before - len(self._undo) - len(self._redo)

    def rename(self, old: str, new: str) -> None:
        """Follow a label map renamed by the user (records are keyed by name)."""
        for stack in (self._undo, self._redo):
            for i, edit in enumerate(stack):
                if edit.target == old:
                    stack[i] = LabelEdit(new, edit.description, edit.voxels, edit.names_before, edit.names_after, edit.kind)

    def _enforce_cap(self) -> None:
        held = self.nbytes
        while held > self.max_bytes and len(self._undo) > 1:
            # the oldest edit goes first;
            # the newest edit is always kept, so the last change can always be undone
            oldest = self._undo.popleft()
            held -= oldest.nbytes
            self.dropped += 1
            log.info("history over %d MB: forgot %r", self.max_bytes // 2**20, oldest.description)


def _array_for(arrays: Mapping[str, np.ndarray], edit: LabelEdit) -> np.ndarray:
    try:
        return arrays[edit.target]
    except KeyError:
        raise LabelEditError(f"the label map {edit.target!r} of {edit.description!r} is no longer open") from None
