"""What every DICOM export (SEG, SR) does around building its dataset: find the source, write the file.

The exports differ only in the dataset they build; the source series they reference and
the way the file reaches disk (de-identified when asked, written atomically so a crash
never leaves half a file that a PACS would take) must be the same for all of them.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import Any

from .deidentify import DeidProfile, deidentify_dataset
from .source_series import SourceSeries, load_source_series

__all__ = ["source_series_of", "write_dataset", "encode_dataset"]


def source_series_of(source: str | PathLike[str] | SourceSeries, series: str | None = None) -> SourceSeries:
    """``source`` itself when already loaded, else the series ``series`` found under that folder."""
    return source if isinstance(source, SourceSeries) else load_source_series(source, series)


def write_dataset(ds: Any, out_path: str | PathLike[str], deidentify: DeidProfile | None = None) -> Path:
    """De-identify ``ds`` in place (when a profile is given) and write it atomically at ``out_path``."""
    from ..io.atomic import atomic_write_bytes

    if deidentify is not None:
        deidentify_dataset(ds, deidentify)
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out, encode_dataset(ds))
    return out


def encode_dataset(ds: Any) -> bytes:
    """The dataset as the bytes of a DICOM Part 10 file (preamble and file meta included)."""
    from io import BytesIO

    buffer = BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()
