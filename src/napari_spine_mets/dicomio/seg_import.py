"""DICOM-SEG -> :class:`~napari_spine_mets.volume.LabelMap` on the grid of its source series.

The SEG must reference the source series (same frame of reference, frames referencing its
instances); each segment becomes one label id: the id from TrackingID ``<map>:<id>`` when
the SEG was written by this project, else the segment number. Overlapping segments (allowed
in BINARY SEGs from other tools) cannot be one label map and are refused with the names of
the segments involved.
"""

from __future__ import annotations

import logging
import re
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from ..volume import LabelMap
from .errors import SegImportError
from .seg_export import SERIES_PREFIX
from .source_series import SourceSeries, load_source_series

__all__ = ["import_seg", "seg_label_ids"]

log = logging.getLogger(__name__)


def import_seg(
    seg_path: str | PathLike[str],
    source: str | PathLike[str] | SourceSeries,
    *,
    series: str | None = None,
) -> LabelMap:
    """Read the SEG at ``seg_path`` as a label map on the grid of ``source`` (a folder or SourceSeries)."""
    import highdicom as hd

    path = Path(seg_path)
    try:
        seg = hd.seg.segread(path)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad input file
        raise SegImportError(path, f"not a readable DICOM Segmentation ({type(exc).__name__}: {exc})") from None
    src = source if isinstance(source, SourceSeries) else load_source_series(source, series)
    _check_references(seg, src, path)
    ids = seg_label_ids(seg)
    try:
        stack = seg.get_pixels_by_source_instance(
            source_sop_instance_uids=src.sop_instance_uids,
            combine_segments=True,
            relabel=False,
            dtype=np.uint16,
        )
    except ValueError as exc:
        raise SegImportError(path, f"cannot place the segments on the source slices: {exc}") from None
    lookup = np.zeros(max(ids) + 1, dtype=np.int64)
    for number, label_id in ids.items():
        lookup[number] = label_id
    label_max = max(ids.values(), default=0)
    dtype = np.uint8 if label_max < 256 else np.uint16 if label_max < 65536 else np.int32
    array = src.from_stack(lookup[stack].astype(dtype))
    names = {ids[int(item.SegmentNumber)]: str(item.SegmentLabel) for item in seg.SegmentSequence}
    description = str(seg.get("SeriesDescription", "") or "")
    name = description[len(SERIES_PREFIX):] if description.startswith(SERIES_PREFIX) else "segmentation"
    log.info("imported SEG %s: %d segments", path.name, len(names))
    return LabelMap(
        array=array, affine=src.grid_affine.copy(), names=names, name=name or "segmentation",
        source=str(seg.get("ContentDescription", "") or ""),
    )


def seg_label_ids(seg: Any) -> dict[int, int]:
    """Segment number -> label id (from TrackingID ``<map>:<id>``, else the segment number)."""
    out: dict[int, int] = {}
    for item in seg.SegmentSequence:
        number = int(item.SegmentNumber)
        match = re.fullmatch(r".*:(\d+)", str(item.get("TrackingID", "") or ""))
        out[number] = int(match.group(1)) if match else number
    if len(set(out.values())) != len(out):
        out = {n: n for n in out}  # ambiguous ids: fall back to the segment numbers
    return out


def _check_references(seg: Any, src: SourceSeries, path: Path) -> None:
    frame = str(seg.get("FrameOfReferenceUID", "") or "")
    if frame and src.frame_of_reference_uid and frame != src.frame_of_reference_uid:
        raise SegImportError(path, "the SEG is in another frame of reference than the source series")
    referenced = {str(item.SeriesInstanceUID) for item in seg.get("ReferencedSeriesSequence", [])}
    if referenced and src.series_uid not in referenced:
        raise SegImportError(path, "the SEG references another series than the source given")
    if str(seg.SegmentationType) not in ("BINARY", "FRACTIONAL", "LABELMAP"):
        raise SegImportError(path, f"unsupported SegmentationType {seg.SegmentationType}")
