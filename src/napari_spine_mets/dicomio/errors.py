"""Errors of DICOM export/import and PACS work, each with a message a user can act on.

Messages never contain patient identifiers: they name files, AE titles, hosts and ports.
"""

from __future__ import annotations

from ..errors import InputError, SpineMetsError

__all__ = [
    "DicomExportError",
    "SegImportError",
    "PacsConfigError",
    "PacsError",
    "PacsUnreachableError",
    "PacsTimeoutError",
    "AssociationRejectedError",
    "PacsOperationError",
    "RetrievalIncompleteError",
    "NoMatchingSeriesError",
]


class DicomExportError(InputError):
    """A SEG/SR/CSV export cannot be made from these inputs (e.g. labels off the source grid)."""


class SegImportError(InputError):
    """A DICOM-SEG cannot be turned back into a label map on its source series."""


class PacsConfigError(InputError):
    """The PACS settings are missing or invalid; the message names the config file and the field."""


class PacsError(SpineMetsError):
    """A PACS operation failed; the message says what, where (host:port, AE titles) and what to check."""


class PacsUnreachableError(PacsError):
    """No TCP connection to the PACS (refused, host unknown, network down)."""


class PacsTimeoutError(PacsError):
    """The PACS did not answer in time."""


class AssociationRejectedError(PacsError):
    """The PACS refused the DICOM association (unknown AE title, no accepted service...)."""


class PacsOperationError(PacsError):
    """The association worked but the PACS reported a failure for the request."""


class RetrievalIncompleteError(PacsError):
    """Fewer instances arrived than the PACS announced; nothing was kept."""


class NoMatchingSeriesError(PacsError):
    """The study holds no series of the requested modality (e.g. no CT)."""
