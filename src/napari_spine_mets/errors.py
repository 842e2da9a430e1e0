"""The project's own error types.

Every error raised by the core for bad input is a :class:`SpineMetsError`, and the
message names the file (or folder) and the problem, so the UI can show it as a
notification and the CLI as one line, without a traceback.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path

__all__ = [
    "SpineMetsError",
    "OperationCancelled",
    "InputError",
    "NoImageDataError",
    "NotDicomError",
    "CorruptFileError",
    "UnsupportedTransferSyntaxError",
    "SeriesGeometryError",
    "AmbiguousSeriesError",
    "ModalityError",
    "GridMismatchError",
    "CaseFormatError",
]


class SpineMetsError(Exception):
    """Base class of every error the project raises on purpose."""


class OperationCancelled(SpineMetsError):
    """The user cancelled a long step: not a failure, and nothing was changed."""


class InputError(SpineMetsError):
    """A file or folder could not be used; the message starts with its path."""

    def __init__(self, path: str | PathLike[str] | None, problem: str) -> None:
        self.path = Path(path) if path is not None else None
        self.problem = problem
        super().__init__(f"{self.path}: {problem}" if self.path is not None else problem)


class NoImageDataError(InputError):
    """The path exists but holds nothing we can read as an image (e.g. an empty folder)."""


class NotDicomError(InputError):
    """The file is not a DICOM file."""


class CorruptFileError(InputError):
    """The file is of a known format but damaged or truncated."""


class UnsupportedTransferSyntaxError(InputError):
    """The pixel data is compressed with a codec for which no decoder is installed."""


class SeriesGeometryError(InputError):
    """The slices do not make one regular volume (mixed orientations, 2D only, ...)."""


class AmbiguousSeriesError(InputError):
    """Several series were found where one was expected; the message lists them."""


class GridMismatchError(SeriesGeometryError):
    """A label map does not lie on the voxel grid of the volume it belongs to."""


class ModalityError(InputError):
    """The series has the wrong modality for the operation (e.g. MR where CT HU are needed)."""


class CaseFormatError(InputError):
    """A case folder is missing files, has an unknown schema version, or is damaged."""
