"""Import TotalSegmentator output as a named :class:`LabelMap` in the project's ids.

Two shapes of output are read:

* the multilabel NIfTI (``--ml``). TotalSegmentator embeds its id -> name table in a
  NIfTI header extension (a Caret-style XML ``<LabelTable>``, see its
  ``nifti_ext_header.add_label_map_to_nifti``). When present it is used to move every
  structure onto the v2 ``total`` ids the project uses (so a file numbered by another
  TotalSegmentator version still puts T12 at 32); names not in that table get new ids
  from 201 up. Without the table, ids are taken as v2 ``total`` ids.
* the folder with one binary mask per structure (``vertebrae_T12.nii.gz``,
  ``sacrum.nii.gz``...): each gets its v2 ``total`` id, unknown names ids from 201 up.
  Where masks overlap the earlier structure (lower id) keeps the voxel and the overlap
  is logged.

Either can be placed onto a target volume's grid (:func:`io.resample.labels_onto_grid`).
"""

from __future__ import annotations

import logging
import re
from os import PathLike
from pathlib import Path

import numpy as np

from ..errors import NoImageDataError, SeriesGeometryError
from ..volume import LabelMap, Volume
from . import geometry
from .nifti import is_nifti_path, read_label_nifti
from .resample import labels_onto_grid
from .totalseg_classes import TOTAL_V2_IDS, TOTAL_V2_NAMES

__all__ = ["FIRST_EXTRA_ID", "read_totalsegmentator", "read_multilabel", "read_structure_folder", "names_from_header"]

log = logging.getLogger(__name__)

#: Structures that are not in the v2 ``total`` table get ids from here up.
FIRST_EXTRA_ID = 201

_LABEL_RE = re.compile(r'<Label\s+Key="(\d+)"[^>]*>\s*(?:<!\[CDATA\[(.*?)\]\]>|([^<]*?))\s*</Label>', re.S)


def read_totalsegmentator(
    path: str | PathLike[str], target: Volume | None = None, name: str = "totalsegmentator"
) -> LabelMap:
    """A multilabel NIfTI file or a folder of per-structure masks, whichever ``path`` is."""
    path = Path(path)
    if path.is_dir():
        return read_structure_folder(path, target=target, name=name)
    return read_multilabel(path, target=target, name=name)


def read_multilabel(
    path: str | PathLike[str], target: Volume | None = None, name: str = "totalsegmentator"
) -> LabelMap:
    """TotalSegmentator's multilabel NIfTI, ids in the v2 ``total`` numbering, with names."""
    path = Path(path)
    labels = read_label_nifti(path, name=name)
    present = _present_ids(labels.array)
    embedded = names_from_header(path)
    if embedded:
        mapping, names = _remap_by_name(present, embedded)
        if any(old != new for old, new in mapping.items()):
            log.info("renumbered %d structures to TotalSegmentator v2 'total' ids", sum(o != n for o, n in mapping.items()))
            labels.array = _apply(labels.array, mapping)
    else:
        log.info("no label table in the file: ids taken as TotalSegmentator v2 'total' ids")
        names = {i: TOTAL_V2_NAMES.get(i, f"label_{i}") for i in present}
    labels.names = names
    labels.source = f"TotalSegmentator: {path}"
    return _onto(labels, target)


def read_structure_folder(
    folder: str | PathLike[str], target: Volume | None = None, name: str = "totalsegmentator"
) -> LabelMap:
    """Combine TotalSegmentator's one-mask-per-structure folder into one label map."""
    folder = Path(folder)
    files = [p for p in folder.iterdir() if p.is_file() and is_nifti_path(p) and not p.name.startswith(".")]
    if not files:
        raise NoImageDataError(folder, "no NIfTI mask files (*.nii.gz) in this folder")
    known = sorted((TOTAL_V2_IDS[_stem(p)], p) for p in files if _stem(p) in TOTAL_V2_IDS)
    unknown = sorted((_stem(p), p) for p in files if _stem(p) not in TOTAL_V2_IDS)
    ordered = known + [(FIRST_EXTRA_ID + i, p) for i, (_, p) in enumerate(unknown)]
    dtype = np.uint8 if ordered[-1][0] <= 255 else np.uint16
    out: np.ndarray | None = None
    affine: np.ndarray | None = None
    first: Path | None = None
    names: dict[int, str] = {}
    for label, path in ordered:
        mask = read_label_nifti(path)
        if out is None or affine is None:
            out, affine, first = np.zeros(mask.array.shape, dtype=dtype), mask.affine, path
        elif not geometry.same_grid(mask.array.shape, mask.affine, out.shape, affine):
            raise SeriesGeometryError(path, f"not on the same voxel grid as {first.name if first else 'the others'}")
        inside = mask.array != 0
        if not inside.any():
            log.debug("%s is empty, skipped", path.name)
            continue
        taken = inside & (out != 0)
        n_overlap = int(np.count_nonzero(taken))
        if n_overlap:
            earlier = sorted(names[int(i)] for i in np.unique(out[taken]))
            log.warning("%s overlaps %d voxels already labelled %s; kept the earlier labels there",
                        _stem(path), n_overlap, ", ".join(earlier))
        out[inside & ~taken] = label
        names[label] = _stem(path)
    assert out is not None and affine is not None
    labels = LabelMap(array=out, affine=affine, names=names, name=name, source=f"TotalSegmentator: {folder}")
    return _onto(labels, target)


def names_from_header(path: str | PathLike[str]) -> dict[int, str]:
    """The id -> name table TotalSegmentator embeds in a NIfTI header extension ({} if none)."""
    import nibabel as nib

    try:
        header = nib.load(str(path)).header
        extensions = list(getattr(header, "extensions", []))
    except Exception as exc:  # noqa: BLE001 - an unreadable header just means "no names"
        log.debug("no header extension readable: %s", exc)
        return {}
    names: dict[int, str] = {}
    for extension in extensions:
        try:
            text = extension.get_content()
            text = text.decode("utf-8", errors="replace") if isinstance(text, bytes) else str(text)
        except Exception:  # noqa: BLE001
            continue
        if "LabelTable" not in text:
            continue
        for key, cdata, plain in _LABEL_RE.findall(text):
            label, label_name = int(key), (cdata or plain).strip()
            if label > 0 and label_name:
                names[label] = label_name
    return names


def _remap_by_name(present: list[int], embedded: dict[int, str]) -> tuple[dict[int, int], dict[int, str]]:
    """Old id -> v2 id (or a new id >= 201) by name, and the names of the new ids."""
    mapping = {old: TOTAL_V2_IDS[embedded[old]] for old in present if embedded.get(old) in TOTAL_V2_IDS}
    names = {new: embedded[old] for old, new in mapping.items()}
    taken = set(mapping.values())
    for old in present:  # ids without a name keep their number when it is free
        if old not in mapping and old not in embedded and old not in taken:
            mapping[old], names[old] = old, f"label_{old}"
            taken.add(old)
    next_id = FIRST_EXTRA_ID
    for old in present:  # names outside v2 'total', and ids whose number is now taken
        if old in mapping:
            continue
        while next_id in taken:
            next_id += 1
        mapping[old], names[next_id] = next_id, embedded.get(old, f"label_{old}")
        taken.add(next_id)
    return mapping, names


def _apply(array: np.ndarray, mapping: dict[int, int]) -> np.ndarray:
    """Relabel through a lookup table; the dtype grows if a new id needs it."""
    top = max(max(mapping.values(), default=0), int(array.max()) if array.size else 0)
    dtype = np.uint8 if top <= 255 else np.uint16 if top <= 65535 else np.int32
    lut = np.arange(int(array.max()) + 1 if array.size else 1, dtype=dtype)
    for old, new in mapping.items():
        lut[old] = new
    return lut[array]


def _present_ids(array: np.ndarray) -> list[int]:
    """Non-zero ids in the array (bincount: far faster than unique for small ids)."""
    if array.size == 0:
        return []
    top = int(array.max())
    if top < 1 << 20:
        counts = np.bincount(array.ravel(), minlength=top + 1)
        return [int(i) for i in np.flatnonzero(counts) if i != 0]
    return [int(i) for i in np.unique(array) if i != 0]


def _onto(labels: LabelMap, target: Volume | None) -> LabelMap:
    if target is None:
        return labels
    return labels_onto_grid(labels, target.shape, target.affine)


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".nii.gz", ".nii"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem
