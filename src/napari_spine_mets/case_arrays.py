"""Array files of a case folder: content hashes, NIfTI-safe dtypes, exact restore on load.

Used by :mod:`napari_spine_mets.case_store`. A volume or label map is stored as NIfTI
(so any viewer opens it) under a content-addressed name; case.json keeps what NIfTI
cannot hold exactly (the float64 affine, the original dtype and axis order), and loading
puts the array back bit for bit, then checks its content hash.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import numpy as np

from .errors import CaseFormatError, InputError
from .io import geometry
from .io.resample import exact_onto_grid
from .volume import LabelMap, Volume

__all__ = ["array_sha256", "storable", "file_stem", "describe", "restore", "as_case_error", "FILE_PATTERN"]

#: Names of array files the store writes (and may garbage-collect): "<stem>-<16 hex>.nii.gz".
FILE_PATTERN = re.compile(r"^[A-Za-z0-9_.-]+-[0-9a-f]{16}\.nii\.gz$")

_SLAB_BYTES = 64 << 20


def array_sha256(array: np.ndarray, affine: np.ndarray) -> str:
    """SHA-256 of dtype, shape, affine and voxel values: what makes two images the same file.

    Hashed slab by slab so a non-contiguous array is never copied whole.
    """
    digest = hashlib.sha256()
    digest.update(f"{array.dtype.str}|{tuple(array.shape)}|".encode())
    digest.update(np.ascontiguousarray(affine, dtype="<f8").tobytes())
    if array.ndim and array.shape[0]:
        per = max(1, _SLAB_BYTES // max(1, array[0].nbytes))
        for start in range(0, array.shape[0], per):
            digest.update(np.ascontiguousarray(array[start : start + per]).tobytes())
    return digest.hexdigest()


def storable(array: np.ndarray, what: str) -> np.ndarray:
    """``array`` in a dtype NIfTI holds exactly (bool, int64, float16 are converted losslessly)."""
    kind, size = array.dtype.kind, array.dtype.itemsize
    if kind == "b":
        return array.astype(np.uint8)
    if kind == "f" and size < 4:
        return array.astype(np.float32)
    if kind in "iu" and size == 8:
        target = np.int32 if kind == "i" else np.uint32
        info = np.iinfo(target)
        if array.size and (array.min() < info.min or array.max() > info.max):
            raise ValueError(f"{what}: 64-bit values out of the 32-bit range cannot be saved as NIfTI")
        return array.astype(target)
    return array


def file_stem(key: str) -> str:
    """A file-system-safe stem for a volume or label-map name (the real name stays in case.json)."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", key).lstrip(".")[:64]
    return stem or "image"


def describe(dtype: np.dtype, shape: tuple[int, ...], affine: np.ndarray, array_hash: str) -> dict[str, Any]:
    """The grid facts case.json keeps for an array file."""
    return {
        "array_sha256": array_hash,
        "dtype": np.dtype(dtype).str,
        "shape": [int(s) for s in shape],
        "affine": np.asarray(affine, dtype=float).tolist(),
    }


def restore(loaded: Volume | LabelMap, record: dict[str, Any], path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Array and affine exactly as saved, from what ``read_nifti`` gave back.

    Raises CaseFormatError when the file does not hold what case.json says it should.
    """
    try:
        shape = tuple(int(s) for s in record["shape"])
        affine = np.asarray(record["affine"], dtype=float)
        dtype = np.dtype(record["dtype"])
        expected = str(record["array_sha256"])
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise CaseFormatError(path, f"case.json entry for this file is malformed ({exc})") from exc
    if affine.shape != (4, 4):
        raise CaseFormatError(path, "case.json entry for this file has no 4x4 affine")
    if len(shape) != 3 or min(shape) < 1:
        raise CaseFormatError(path, f"case.json entry for this file has an invalid shape {list(shape)}")
    if int(np.prod(shape, dtype=object)) != loaded.array.size:
        raise CaseFormatError(path, "its voxel count differs from the shape recorded in case.json")
    array = loaded.array
    if not geometry.same_grid(array.shape, loaded.affine, shape, affine):
        moved = exact_onto_grid(array, loaded.affine, shape, affine)
        if moved is None:
            raise CaseFormatError(path, "its voxel grid does not match the one recorded in case.json")
        array = moved
    array = np.ascontiguousarray(array.astype(dtype, copy=False))
    if array_sha256(array, affine) != expected:
        raise CaseFormatError(path, "its voxel values differ from what was saved (content hash mismatch)")
    return array, affine


def as_case_error(path: Path, exc: InputError) -> CaseFormatError:
    """A reader's error re-raised as a case error naming the array file."""
    return CaseFormatError(path, f"cannot read this array file of the case: {exc.problem}")
