"""napari reader contribution: DICOM files and folders, NIfTI, NRRD and case folders.

``get_reader`` sniffs cheaply (file names, a 132-byte DICOM preamble check) and never
raises: it returns None for what it cannot read, so napari can try other plugins. Once
it has accepted a path, a problem while reading is shown as a notification naming the
file and the problem (never a traceback), and nothing already in the viewer is touched.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import SpineMetsError
from .layers import METADATA_KEY, LayerData, image_layer_data, labels_layer_data

if TYPE_CHECKING:
    import numpy as np

__all__ = ["get_reader", "sniff_kind", "read_path", "looks_like_labels"]

log = logging.getLogger(__name__)

ReaderFunction = Callable[[str | list[str]], list[LayerData]]

_NIFTI = (".nii", ".nii.gz")
_NRRD = (".nrrd", ".nhdr")
_SNIFF_FILES = 64  # files looked at, at most, to decide whether a folder holds DICOM
#: A folder with more series than this opens only the largest ones; the Case dock lists all.
MAX_SERIES_OPENED = 6


def get_reader(path: str | list[str]) -> ReaderFunction | None:
    """npe2 ``get_reader`` hook: a reader function for ``path``, or None."""
    if isinstance(path, list):
        if len(path) != 1:
            return None
        path = path[0]
    try:
        kind = sniff_kind(Path(path))
    except OSError:
        return None
    if kind is None:
        return None
    return _reader_function


def sniff_kind(path: Path) -> str | None:
    """"case", "dicom", "nifti", "nrrd" or None, from names and at most a few small reads."""
    name = path.name.lower()
    if path.is_dir():
        if (path / "case.json").is_file():
            return "case"
        return "dicom" if any(_looks_like_dicom(p) for p in _first_files(path)) else None
    if not path.is_file():
        return None
    if name.endswith(_NIFTI):
        return "nifti"
    if name.endswith(_NRRD):
        return "nrrd"
    return "dicom" if _looks_like_dicom(path) else None


def _first_files(folder: Path) -> Iterator[Path]:
    count = 0
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for file_name in sorted(files):
            yield Path(root) / file_name
            count += 1
            if count >= _SNIFF_FILES:
                return


def _looks_like_dicom(path: Path) -> bool:
    if path.name.lower().endswith(".dcm"):
        return True
    try:
        with open(path, "rb") as handle:
            head = handle.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:132] == b"DICM"


def _reader_function(path: str | list[str]) -> list[LayerData]:
    target = Path(path[0] if isinstance(path, list) else path)
    try:
        return read_path(target)
    except SpineMetsError as exc:
        _notify_error(str(exc))
    except MemoryError:
        _notify_error(f"{target}: not enough memory to load this volume")
    # napari's "accepted but no layers" sentinel: no traceback, nothing else touched.
    return [(None,)]  # type: ignore[list-item]


def _notify_error(message: str) -> None:
    log.warning("could not open: %s", message)
    from napari.utils.notifications import show_error

    show_error(message)


def read_path(path: Path) -> list[LayerData]:
    """Layer data for a path of any supported kind; raises the project's errors."""
    kind = sniff_kind(path)
    if kind == "case":
        return _read_case(path)
    if kind == "nifti":
        return [_read_nifti(path)]
    if kind == "nrrd":
        from ..io.nrrd import read_nrrd

        return [image_layer_data(read_nrrd(path))]
    if kind == "dicom":
        return _read_dicom(path)
    from ..errors import InputError

    raise InputError(path, "not a DICOM, NIfTI, NRRD file or case folder")


def _read_nifti(path: Path) -> LayerData:
    """An image layer, or a labels layer when the file holds a label map (few integer values).

    TotalSegmentator files (they embed their label table) get its structure names.
    """
    from ..io.nifti import read_nifti
    from ..io.totalsegmentator import names_from_header, read_totalsegmentator

    volume = read_nifti(path)
    if not looks_like_labels(volume.array):
        return image_layer_data(volume)
    if names_from_header(path):
        labels = read_totalsegmentator(path, name=volume.name)
    else:
        from ..volume import LabelMap

        labels = LabelMap(volume.array, volume.affine, name=volume.name, source=str(path))
    return labels_layer_data(labels)


def looks_like_labels(array: "np.ndarray", max_labels: int = 512) -> bool:
    """Integer data with few distinct values (checked on a sample first, then in full)."""
    import numpy as np

    if not np.issubdtype(array.dtype, np.integer) or array.size == 0:
        return False
    if array.min() < 0:
        return False
    sample = array.reshape(-1)[:: max(1, array.size // 200_000)]
    if len(np.unique(sample)) > max_labels:
        return False
    return len(np.unique(array)) <= max_labels


def _read_case(folder: Path) -> list[LayerData]:
    from ..case_store import load_case

    case = load_case(folder)
    layers = [image_layer_data(v, visible=i == 0) for i, v in enumerate(case.volumes.values())]
    layers += [labels_layer_data(lm) for lm in case.label_maps.values()]
    for _, kwargs, _ in layers:  # so that saving again keeps the case's id, records and folder
        kwargs["metadata"][METADATA_KEY].update(case=case, case_folder=str(folder))
    return layers


def _read_dicom(path: Path) -> list[LayerData]:
    from ..io.dicom import read_dicom_series
    from ..io.dicom_scan import scan_dicom

    if path.is_file():
        return [image_layer_data(read_dicom_series(path))]
    scan = scan_dicom(path)
    series = sorted(scan.series, key=lambda s: s.n_slices, reverse=True)
    if not series:
        from ..errors import NoImageDataError

        raise NoImageDataError(path, f"no readable DICOM series ({len(scan.skipped)} files skipped)")
    opened = series[:MAX_SERIES_OPENED]
    if len(series) > len(opened):
        log.info("%d series found, opening the %d largest", len(series), len(opened))
    layers: list[LayerData] = []
    errors: list[str] = []
    for index, info in enumerate(opened):
        try:
            volume = read_dicom_series(path, series=info.key)
        except SpineMetsError as exc:  # one bad series must not hide the others
            errors.append(str(exc))
            continue
        layers.append(image_layer_data(volume, visible=index == 0))
    if errors and layers:
        from napari.utils.notifications import show_warning

        show_warning("Some series could not be opened:\n" + "\n".join(errors))
    elif errors:
        raise errors_to_exception(path, errors)
    return layers


def errors_to_exception(path: Path, errors: list[str]) -> SpineMetsError:
    from ..errors import InputError

    return InputError(path, "no series could be opened: " + "; ".join(errors))
