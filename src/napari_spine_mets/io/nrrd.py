"""NRRD reading (3D Slicer's native format) in the project's convention.

NRRD gives ``space directions`` (one vector per axis, in the file's ``space``) and a
``space origin``. Both are converted to LPS, the array is transposed to (z, y, x) and
reoriented with :func:`geometry.reorient_to_lps`, exactly as NIfTI and DICOM readers do.
"""

from __future__ import annotations

import logging
import zlib
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CorruptFileError, NoImageDataError, SeriesGeometryError
from ..safety.memory import check_volume_memory
from ..volume import Volume, VolumeMetadata
from . import geometry

__all__ = ["NRRD_SUFFIXES", "is_nrrd_path", "read_nrrd"]

log = logging.getLogger(__name__)

NRRD_SUFFIXES = (".nrrd", ".nhdr")

#: Sign flips taking each supported NRRD space to LPS (x, y, z).
_TO_LPS = {
    "left-posterior-superior": (1.0, 1.0, 1.0),
    "right-anterior-superior": (-1.0, -1.0, 1.0),
    "left-anterior-superior": (1.0, -1.0, 1.0),
}
_ALIASES = {"lps": "left-posterior-superior", "ras": "right-anterior-superior", "las": "left-anterior-superior"}
_NON_SPATIAL_KINDS = {"vector", "list", "scalar", "covariant-vector", "rgb-color", "rgba-color", "complex", "time"}


def is_nrrd_path(path: str | PathLike[str]) -> bool:
    """Cheap test on the name only."""
    return Path(path).name.lower().endswith(NRRD_SUFFIXES)


def read_nrrd(path: str | PathLike[str], name: str | None = None) -> Volume:
    """Read a 3D NRRD as a :class:`Volume` reoriented so its axes run along (S, P, L)."""
    import nrrd

    path = Path(path)
    if not path.is_file():
        raise NoImageDataError(path, "no such file")
    try:
        claimed = nrrd.read_header(str(path))
        _check_data_file(path, claimed)
        check_volume_memory(path, [int(v) for v in np.atleast_1d(claimed.get("sizes", []))], _itemsize(claimed))
        data, header = nrrd.read(str(path), index_order="F")
    except (nrrd.NRRDError, OSError, EOFError, ValueError, KeyError, IndexError, OverflowError, zlib.error) as exc:
        raise CorruptFileError(path, f"cannot read as NRRD ({exc})") from exc
    warnings: list[str] = []
    data, directions = _spatial_axes(path, np.asarray(data), header)
    origin = np.asarray(header.get("space origin", np.zeros(3)), dtype=float)
    if origin.shape != (3,) or not np.all(np.isfinite(origin)):
        raise CorruptFileError(path, f"invalid space origin {origin.tolist()}")
    space = str(header.get("space", "")).strip().lower()
    if space.endswith("-time"):
        space = space[: -len("-time")]
    elif space in ("rast", "last", "lpst"):
        space = space[:-1]
    space = _ALIASES.get(space, space)
    if directions is None:
        spacings = np.asarray(header.get("spacings", np.ones(3)), dtype=float)[:3]
        directions = np.diag(np.where(np.isfinite(spacings), spacings, 1.0))
        warnings.append("the file gives no orientation: axes assumed to run along L, P, S")
        log.warning("%s: no orientation in the NRRD header; axes assumed L, P, S", path.name)
    elif space in _TO_LPS:
        flips = np.asarray(_TO_LPS[space])
        directions = directions * flips[None, :]
        origin = origin * flips
    else:
        raise SeriesGeometryError(path, f"space '{space or 'none'}' is not a patient space (LPS, RAS or LAS)")
    if origin.shape != (3,) or not np.all(np.isfinite(origin)):
        raise CorruptFileError(path, f"invalid space origin {origin.tolist()}")
    units = [str(u).strip().lower() for u in header.get("space units", [])]
    if any(u not in ("mm", "") for u in units):
        raise SeriesGeometryError(path, f"space units {units} are not millimetres")
    affine = np.eye(4)
    # NRRD rows are the (i, j, k) axis vectors; our array is (k, j, i)
    affine[:3, 0], affine[:3, 1], affine[:3, 2] = directions[2], directions[1], directions[0]
    affine[:3, 3] = origin
    if abs(np.linalg.det(affine[:3, :3])) < 1e-12:
        raise SeriesGeometryError(path, "space directions are degenerate (zero or parallel axes)")
    array, affine = geometry.reorient_to_lps(data.transpose(2, 1, 0), affine)
    metadata = VolumeMetadata(source=str(path), warnings=warnings)
    return Volume(array=np.ascontiguousarray(array), affine=affine, metadata=metadata, name=name or _stem(path))


def _check_data_file(path: Path, header: dict[str, Any]) -> None:
    """A detached header may only point at a regular file in its own folder; skips must lie within the data.

    Otherwise a crafted .nhdr could make the reader read ``/dev/stdin`` (the application
    hangs), ``/dev/zero`` or any file the user can read, e.g. another patient's data.
    """
    name = header.get("data file", header.get("datafile"))
    target = path
    if name is not None:
        target = (path.parent / str(name)).resolve()
        if target.parent != path.parent.resolve() or not target.is_file():
            raise CorruptFileError(path, f"its 'data file' {str(name)[:80]!r} is not a file next to the header")
    # pynrrd skips lines one readline() at a time: a huge 'line skip' would stall the reader for seconds
    size = target.stat().st_size
    for key in ("line skip", "byte skip"):
        skip = header.get(key, header.get(key.replace(" ", "")))
        if skip is not None and not -1 <= int(skip) <= size:
            raise CorruptFileError(path, f"'{key}: {skip}' is beyond the data ({size} bytes)")


def _itemsize(header: dict[str, Any]) -> int:
    """Bytes per voxel of the NRRD 'type' field (8 when unknown: the estimate errs high)."""
    kind = str(header.get("type", "")).lower()
    for names, size in ((("char", "int8", "uint8"), 1), (("short", "int16"), 2), (("longlong", "int64", "double"), 8),
                        (("int", "float"), 4)):
        if any(name in kind for name in names):
            return size
    return 8


def _spatial_axes(path: Path, data: np.ndarray, header: dict[str, Any]) -> tuple[np.ndarray, np.ndarray | None]:
    """The 3D array (single-sample non-spatial axes dropped) and its 3x3 direction rows, if given."""
    raw = header.get("space directions")
    kinds = [str(k).lower() for k in header.get("kinds", [])] or ["domain"] * data.ndim
    if len(kinds) != data.ndim:
        raise CorruptFileError(path, f"'kinds' names {len(kinds)} axes but the data has {data.ndim}")
    rows = None if raw is None else np.asarray(raw, dtype=float).reshape(data.ndim, -1)
    spatial = [i for i in range(data.ndim) if kinds[i] not in _NON_SPATIAL_KINDS and (rows is None or np.all(np.isfinite(rows[i])))]
    extra = [i for i in range(data.ndim) if i not in spatial]
    if any(data.shape[i] != 1 for i in extra):
        raise SeriesGeometryError(path, f"has non-spatial axes {[data.shape[i] for i in extra]}: not a scalar 3D image")
    if len(spatial) == 2:
        raise SeriesGeometryError(path, "a single 2D image, not a 3D volume")
    if len(spatial) != 3:
        raise SeriesGeometryError(path, f"expected a 3D volume, found {len(spatial)} spatial dimensions {data.shape}")
    data = data.reshape([data.shape[i] for i in spatial])
    if rows is None:
        return data, None
    directions = rows[spatial]
    if directions.shape != (3, 3):
        raise CorruptFileError(path, f"space directions are not 3D vectors: {directions.tolist()}")
    return data, directions


def _stem(path: Path) -> str:
    name = path.name
    for suffix in NRRD_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem
