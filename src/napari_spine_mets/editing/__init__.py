"""Manual correction of label maps: relabel, shift, merge, split, fill, with one undo history.

The napari dock (``_napari/edit_widget.py``) drives these; they work on plain arrays, so
a notebook or script can make (and undo) the same corrections.
"""

from __future__ import annotations

from .changes import LabelEdit, VoxelChange
from .errors import LabelEditError
from .history import DEFAULT_MAX_BYTES, EditHistory
from .label_edits import (
    display_name,
    fill_holes,
    level_of_name,
    merge_labels,
    narrowest_section,
    present_labels,
    relabel_vertebra,
    shift_all_levels,
    split_at_narrowest,
    split_at_plane,
    split_components,
)

__all__ = [
    "LabelEdit",
    "VoxelChange",
    "LabelEditError",
    "EditHistory",
    "DEFAULT_MAX_BYTES",
    "display_name",
    "fill_holes",
    "level_of_name",
    "merge_labels",
    "narrowest_section",
    "present_labels",
    "relabel_vertebra",
    "shift_all_levels",
    "split_at_narrowest",
    "split_at_plane",
    "split_components",
]
