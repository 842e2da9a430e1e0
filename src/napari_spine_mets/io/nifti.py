"""NIfTI reading and writing in the project's convention.

NIfTI stores an (i, j, k) array with an affine to RAS; we hand out (z, y, x) arrays with
an affine to LPS, reoriented so the axes run along (S, P, L) (see ``geometry``). Writing
does the reverse, so a label map written here overlays its source scan in any viewer.
"""

from __future__ import annotations

import logging
import os
import zlib
from os import PathLike
from pathlib import Path

import numpy as np

from ..errors import CorruptFileError, NoImageDataError, SeriesGeometryError
from ..safety.memory import check_volume_memory
from ..volume import LabelMap, Volume, VolumeMetadata
from . import geometry
from .atomic import fsync_directory

__all__ = ["NIFTI_SUFFIXES", "is_nifti_path", "read_nifti", "read_label_nifti", "write_nifti"]

log = logging.getLogger(__name__)

NIFTI_SUFFIXES = (".nii", ".nii.gz")


def is_nifti_path(path: str | PathLike[str]) -> bool:
    """Cheap test on the name only, for readers that must sniff without opening."""
    name = Path(path).name.lower()
    return name.endswith(NIFTI_SUFFIXES)


def _load(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Array as (z, y, x) reoriented to (S, P, L), and its LPS affine."""
    import nibabel as nib

    if not path.is_file():
        raise NoImageDataError(path, "no such file")
    try:
        image = nib.load(str(path))
        check_volume_memory(path, image.shape, _loaded_itemsize(image), copies=3.0)
        data = np.asanyarray(image.dataobj)
    except (OSError, EOFError, ValueError, OverflowError, zlib.error, nib.filebasedimages.ImageFileError,
            nib.spatialimages.HeaderDataError) as exc:
        raise CorruptFileError(path, f"cannot read as NIfTI ({exc})") from exc
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim == 2:
        raise SeriesGeometryError(path, "a single 2D image, not a 3D volume")
    if data.ndim != 3:
        raise SeriesGeometryError(path, f"expected a 3D volume, found {data.ndim} dimensions {data.shape}")
    affine = geometry.affine_from_nifti(image.affine)
    return geometry.reorient_to_lps(data.transpose(2, 1, 0), affine)


def _loaded_itemsize(image: "object") -> int:
    """Bytes per voxel once loaded: the stored type, or float64 when scl_slope/inter apply."""
    header = image.header  # type: ignore[attr-defined]
    slope, inter = header.get_slope_inter()
    scaled = (slope is not None and slope != 1.0) or (inter is not None and inter != 0.0)
    return 8 if scaled else max(1, header.get_data_dtype().itemsize)


def read_nifti(path: str | PathLike[str], name: str | None = None) -> Volume:
    """Read a NIfTI image as a :class:`Volume` (values as stored after scl_slope/inter)."""
    path = Path(path)
    array, affine = _load(path)
    array = np.ascontiguousarray(array)
    metadata = VolumeMetadata(source=str(path))
    return Volume(array=array, affine=affine, metadata=metadata, name=name or _stem(path))


def read_label_nifti(
    path: str | PathLike[str], names: dict[int, str] | None = None, name: str | None = None
) -> LabelMap:
    """Read a NIfTI label map; refuses non-integer values (a scan given by mistake)."""
    path = Path(path)
    array, affine = _load(path)
    if not np.issubdtype(array.dtype, np.integer):
        rounded = np.rint(array)
        if not np.array_equal(rounded, array):
            raise CorruptFileError(path, "holds non-integer values: it is an image, not a label map")
        array = rounded
    if array.size and (array.min() < 0 or array.max() > np.iinfo(np.int32).max):
        raise CorruptFileError(path, "label values out of range (negative or above 2^31)")
    array = np.ascontiguousarray(array).astype(_label_dtype(int(array.max()) if array.size else 0))
    return LabelMap(array=array, affine=affine, names=dict(names or {}), name=name or _stem(path), source=str(path))


def write_nifti(image: Volume | LabelMap, path: str | PathLike[str]) -> Path:
    """Write a volume or label map as NIfTI (gzip when the name ends in .gz).

    The file is written next to its destination and renamed into place, so a crash never
    leaves a half-written file under the final name.
    """
    import nibabel as nib

    path = Path(path)
    data = _storable(np.asarray(image.array)).transpose(2, 1, 0)
    nifti = nib.Nifti1Image(data, geometry.affine_to_nifti(image.affine))
    nifti.header.set_xyzt_units("mm")
    nifti.header.set_qform(nifti.affine, code=1)
    nifti.header.set_sform(nifti.affine, code=1)
    suffix = ".nii.gz" if path.name.lower().endswith(".gz") else ".nii"
    tmp = path.with_name(f".{path.name}.tmp{suffix}")
    nib.save(nifti, str(tmp))
    with open(tmp, "rb+") as handle:
        os.fsync(handle.fileno())
    tmp.replace(path)
    fsync_directory(path.parent)
    log.debug("wrote %s", path.name)
    return path


def _storable(array: np.ndarray) -> np.ndarray:
    """NIfTI has no bool and nibabel refuses int64 without a hint: narrow losslessly where possible."""
    if array.dtype == np.bool_:
        return array.astype(np.uint8)
    if array.dtype in (np.int64, np.uint64):
        low, high = (int(array.min()), int(array.max())) if array.size else (0, 0)
        for candidate in (np.uint8, np.int16, np.uint16, np.int32):
            info = np.iinfo(candidate)
            if info.min <= low and high <= info.max:
                return array.astype(candidate)
        raise ValueError("labels beyond the 32-bit range cannot be stored in NIfTI")
    return array


def _label_dtype(max_label: int) -> type[np.integer]:
    if max_label <= np.iinfo(np.uint8).max:
        return np.uint8
    if max_label <= np.iinfo(np.uint16).max:
        return np.uint16
    return np.int32


def _stem(path: Path) -> str:
    name = path.name
    for suffix in NIFTI_SUFFIXES[::-1]:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem
