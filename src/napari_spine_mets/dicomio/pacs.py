"""Talking to a PACS with pynetdicom: C-ECHO, C-FIND, C-STORE (retrieval: :mod:`.pacs_retrieve`).

Every failure becomes a :class:`~.errors.PacsError` subclass whose message says what
happened and what to check: PACS down (connection refused), unknown host, timeout,
association rejected (with DICOM's reason: unknown called or calling AE title...), or a
failure status from the PACS. Patient identifiers found by C-FIND are returned to the
caller (in :class:`~napari_spine_mets.volume.PatientIdentity`, whose repr is redacted) and
never logged.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

from ..volume import PatientIdentity
from .errors import (
    AssociationRejectedError,
    PacsOperationError,
    PacsTimeoutError,
    PacsUnreachableError,
)
from .pacs_config import PacsConfig

__all__ = ["StudyMatch", "SeriesMatch", "SendResult", "associate", "echo", "find_studies", "find_series", "send_files"]

log = logging.getLogger(__name__)

_REJECT_REASONS = {
    (1, 2): "the PACS does not support the DICOM application context",
    (1, 3): "the PACS does not know our (calling) AE title '{calling}': ask its administrator to register it",
    (1, 7): "the PACS does not answer to the called AE title '{called}': check the PACS's AE title",
    (2, 2): "the PACS does not support the protocol version",
    (3, 1): "the PACS is congested (temporary): try again later",
    (3, 2): "the PACS's local limit of associations is exceeded (temporary): try again later",
}


@dataclass
class StudyMatch:
    """One study a C-FIND returned (identifiers kept apart, redacted in repr)."""

    study_uid: str
    study_date: str = ""
    study_description: str = ""
    modalities: list[str] = field(default_factory=list)
    accession_number: str = field(default="", repr=False)
    n_series: int | None = None
    n_instances: int | None = None
    identity: PatientIdentity = field(default_factory=PatientIdentity)

    def to_json(self, identifiers: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "study_uid": self.study_uid, "study_date": self.study_date, "study_description": self.study_description,
            "modalities": self.modalities, "n_series": self.n_series, "n_instances": self.n_instances,
        }
        if identifiers:
            out.update(patient_name=self.identity.name, patient_id=self.identity.patient_id,
                       accession_number=self.accession_number)
        return out


@dataclass
class SeriesMatch:
    """One series of a study."""

    series_uid: str
    modality: str = ""
    series_description: str = ""
    series_number: str = ""
    n_instances: int | None = None


@dataclass
class SendResult:
    """Outcome of a C-STORE of several files."""

    sent: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)


def _check_reachable(config: PacsConfig) -> None:
    """Open and close a TCP connection, to tell 'down' from 'unknown host' from 'slow' after a failed association.

    Run only once an association has failed: a probe before every association would cost a
    DICOM server an extra connection each time, and servers that accept associations one at a
    time (Orthanc, other DCMTK-based ones) would answer us later.
    """
    try:
        with socket.create_connection((config.host, config.port), timeout=config.timeout_s):
            pass
    except ConnectionRefusedError:
        raise PacsUnreachableError(
            f"{config.describe()}: connection refused: the PACS is not running or does not listen on "
            f"port {config.port}; check the host and port"
        ) from None
    except socket.gaierror:
        raise PacsUnreachableError(f"{config.describe()}: unknown host '{config.host}'; check the host name") from None
    except (socket.timeout, TimeoutError):
        raise PacsTimeoutError(
            f"{config.describe()}: no answer within {config.timeout_s:g} s (firewall, wrong address, or network down)"
        ) from None
    except OSError as exc:
        raise PacsUnreachableError(f"{config.describe()}: cannot connect ({exc.strerror or exc})") from None


def make_ae(config: PacsConfig) -> Any:
    """A pynetdicom AE with our title and the configured timeouts."""
    from pynetdicom import AE

    # pynetdicom logs whole C-FIND identifiers (patient names, IDs) at INFO and DEBUG:
    # keep its logger at WARNING unless someone configured it on purpose.
    pn_log = logging.getLogger("pynetdicom")
    if pn_log.level == logging.NOTSET:
        pn_log.setLevel(logging.WARNING)
    ae = AE(ae_title=config.calling_aet)
    for name in ("acse_timeout", "dimse_timeout", "network_timeout", "connection_timeout"):
        setattr(ae, name, float(config.timeout_s))
    return ae


# A failed association that took at least this share of the timeout ran out of time.
_TIMED_OUT_SHARE = 0.9


def associate(config: PacsConfig, ae: Any, **kwargs: Any) -> Any:
    """An established association with the PACS, or a PacsError explaining why not."""
    started = time.monotonic()
    assoc = ae.associate(config.host, config.port, ae_title=config.called_aet, **kwargs)
    if assoc.is_established:
        return assoc
    if assoc.is_rejected:
        rsp = getattr(assoc.acceptor, "primitive", None)
        key = (int(getattr(rsp, "result_source", 0) or 0), int(getattr(rsp, "diagnostic", 0) or 0))
        reason = _REJECT_REASONS.get(key, f"reason: {getattr(rsp, 'reason_str', 'not given')}")
        raise AssociationRejectedError(
            f"{config.describe()}: association rejected; "
            + reason.format(calling=config.calling_aet, called=config.called_aet)
        )
    answered = getattr(assoc.acceptor, "primitive", None) is not None
    if assoc.is_aborted and answered:
        raise AssociationRejectedError(
            f"{config.describe()}: the PACS aborted the association: it accepted none of the requested "
            "services, or it does not accept our AE title or address"
        )
    if time.monotonic() - started >= _TIMED_OUT_SHARE * config.timeout_s:
        raise PacsTimeoutError(
            f"{config.describe()}: no answer to the association request within {config.timeout_s:g} s "
            "(is it a DICOM port? is the PACS overloaded?)"
        )
    _check_reachable(config)  # raises when the PACS cannot be reached at all
    raise AssociationRejectedError(
        f"{config.describe()}: the PACS closed the connection without answering the association request "
        "(is it a DICOM port? does it accept our address?)"
    )


def echo(config: PacsConfig) -> float:
    """C-ECHO ("DICOM ping"); returns the round trip in seconds."""
    from pynetdicom.sop_class import Verification

    ae = make_ae(config)
    ae.add_requested_context(Verification)
    started = time.perf_counter()
    assoc = associate(config, ae)
    try:
        status = assoc.send_c_echo()
    finally:
        assoc.release()
    _check_status(config, "C-ECHO", status, assoc, started)
    return time.perf_counter() - started


def _check_status(config: PacsConfig, what: str, status: Any, assoc: Any = None, started: float | None = None) -> int:
    if status is None or "Status" not in status:
        quick = started is not None and time.perf_counter() - started < 0.9 * float(config.timeout_s)
        if assoc is not None and (assoc.is_aborted or not assoc.is_established or quick):
            raise AssociationRejectedError(
                f"{config.describe()}: the PACS closed the association without answering the {what}: it does not allow this "
                f"service for our AE title '{config.calling_aet}' from this address (ask its administrator "
                "to register it)"
            )
        raise PacsTimeoutError(f"{config.describe()}: {what}: no response (timeout or connection lost)")
    code = int(status.Status)
    if code not in (0x0000, 0xFF00, 0xFF01, 0xB000):
        comment = str(status.get("ErrorComment", "") or "")
        raise PacsOperationError(f"{config.describe()}: {what} failed with status 0x{code:04X}" + (f" ({comment})" if comment else ""))
    return code


def _query(config: PacsConfig, identifier: Any) -> list[Any]:
    from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind

    ae = make_ae(config)
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
    assoc = associate(config, ae)
    found = []
    started = time.perf_counter()
    try:
        for status, ds in assoc.send_c_find(identifier, StudyRootQueryRetrieveInformationModelFind):
            code = _check_status(config, "C-FIND", status, assoc, started)
            if code in (0xFF00, 0xFF01) and ds is not None:
                found.append(ds)
    finally:
        if assoc.is_established:
            assoc.release()
    return found


def find_studies(
    config: PacsConfig,
    *,
    patient_id: str = "",
    patient_name: str = "",
    study_date: str = "",
    modality: str = "",
) -> list[StudyMatch]:
    """C-FIND studies by patient ID/name (``*`` wildcards), date (``YYYYMMDD`` or ``A-B``) and modality."""
    from pydicom.dataset import Dataset

    q = Dataset()
    q.QueryRetrieveLevel = "STUDY"
    q.PatientName, q.PatientID, q.StudyDate = patient_name, patient_id, study_date
    q.ModalitiesInStudy = modality
    for keyword in ("StudyInstanceUID", "StudyDescription", "StudyTime", "AccessionNumber", "PatientBirthDate",
                    "NumberOfStudyRelatedSeries", "NumberOfStudyRelatedInstances"):
        setattr(q, keyword, "")
    out = []
    for ds in _query(config, q):
        mods = ds.get("ModalitiesInStudy", "") or ""
        out.append(StudyMatch(
            study_uid=str(ds.get("StudyInstanceUID", "")),
            study_date=str(ds.get("StudyDate", "") or ""),
            study_description=str(ds.get("StudyDescription", "") or ""),
            modalities=[str(m) for m in mods] if not isinstance(mods, str) else [m for m in mods.split("\\") if m],
            accession_number=str(ds.get("AccessionNumber", "") or ""),
            n_series=_int(ds.get("NumberOfStudyRelatedSeries")),
            n_instances=_int(ds.get("NumberOfStudyRelatedInstances")),
            identity=PatientIdentity(name=str(ds.get("PatientName", "") or ""), patient_id=str(ds.get("PatientID", "") or ""),
                                     birth_date=str(ds.get("PatientBirthDate", "") or "")),
        ))
    log.info("C-FIND: %d study(ies) found", len(out))
    return out


def find_series(config: PacsConfig, study_uid: str, modality: str = "") -> list[SeriesMatch]:
    """C-FIND the series of one study (optionally of one modality)."""
    from pydicom.dataset import Dataset

    q = Dataset()
    q.QueryRetrieveLevel = "SERIES"
    q.StudyInstanceUID, q.Modality = study_uid, modality
    for keyword in ("SeriesInstanceUID", "SeriesDescription", "SeriesNumber", "NumberOfSeriesRelatedInstances"):
        setattr(q, keyword, "")
    return [
        SeriesMatch(series_uid=str(ds.get("SeriesInstanceUID", "")), modality=str(ds.get("Modality", "") or ""),
                    series_description=str(ds.get("SeriesDescription", "") or ""),
                    series_number=str(ds.get("SeriesNumber", "") or ""),
                    n_instances=_int(ds.get("NumberOfSeriesRelatedInstances")))
        for ds in _query(config, q)
    ]


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def send_files(config: PacsConfig, paths: Iterable[str | PathLike[str]]) -> SendResult:
    """C-STORE DICOM files (e.g. an exported SEG and SR) to the PACS; failures are listed, not hidden."""
    from pydicom import dcmread
    from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

    files = [Path(p) for p in paths]
    headers = []
    for path in files:
        try:
            ds = dcmread(path, stop_before_pixels=True)
            headers.append((path, str(ds.SOPClassUID), str(ds.file_meta.TransferSyntaxUID)))
        except Exception as exc:  # noqa: BLE001 - reported per file
            raise PacsOperationError(f"{path}: not a DICOM file that can be sent ({type(exc).__name__})") from None
    ae = make_ae(config)
    contexts: dict[str, set[str]] = {}
    for _, sop_class, syntax in headers:
        contexts.setdefault(sop_class, {str(ExplicitVRLittleEndian), str(ImplicitVRLittleEndian)}).add(syntax)
    if len(contexts) > 120:
        raise PacsOperationError(f"{len(contexts)} different SOP classes: send them in smaller batches")
    for sop_class, syntaxes in contexts.items():
        ae.add_requested_context(sop_class, sorted(syntaxes))
    result = SendResult()
    assoc = associate(config, ae)
    try:
        for path, _, _ in headers:
            status = assoc.send_c_store(dcmread(path))
            if status is None or "Status" not in status:
                result.failed.append((path, "no response (timeout or connection lost)"))
                if not assoc.is_established:
                    break
                continue
            code = int(status.Status)
            if code in (0x0000, 0xB000, 0xB007, 0xB006):
                result.sent.append(path)
            else:
                result.failed.append((path, f"status 0x{code:04X}"))
    finally:
        if assoc.is_established:
            assoc.release()
    done = {p for p in result.sent} | {p for p, _ in result.failed}
    result.failed.extend((p, "not sent: the association ended") for p, _, _ in headers if p not in done)
    log.info("C-STORE: %d sent, %d failed", len(result.sent), len(result.failed))
    return result


def storage_requests() -> list[tuple[str, list[str]]]:
    """Presentation contexts to propose for C-GET: one per (SOP class, compressed syntax) for images.

    A PACS acting as C-GET SCP picks one transfer syntax per context; offering each
    compressed syntax in a context of its own lets it send compressed images as stored
    instead of transcoding them (which Orthanc cannot do for JPEG 2000 without a plugin).
    """
    from pydicom import uid as u
    from pynetdicom import sop_class as sc

    plain = [str(u.ExplicitVRLittleEndian), str(u.ImplicitVRLittleEndian)]
    compressed = [u.JPEG2000Lossless, u.JPEG2000, u.JPEGLosslessSV1, u.JPEGLossless, u.JPEGBaseline8Bit,
                  u.JPEGLSLossless, u.RLELossless, u.DeflatedExplicitVRLittleEndian]
    out = [(str(c), plain) for c in storage_contexts()]
    for image in (sc.CTImageStorage, sc.MRImageStorage, sc.EnhancedCTImageStorage):
        out.extend((str(image), [str(ts)]) for ts in compressed)
    return out


def storage_contexts() -> Sequence[str]:
    """SOP classes we accept when the PACS sends us images (C-GET sub-operations, C-MOVE)."""
    from pynetdicom import sop_class as sc

    return [
        sc.CTImageStorage, sc.EnhancedCTImageStorage, sc.MRImageStorage, sc.EnhancedMRImageStorage,
        sc.SegmentationStorage, sc.Comprehensive3DSRStorage, sc.ComprehensiveSRStorage, sc.EnhancedSRStorage,
        sc.SecondaryCaptureImageStorage, sc.PositronEmissionTomographyImageStorage, sc.XRayRadiationDoseSRStorage,
        sc.RTStructureSetStorage, sc.EncapsulatedPDFStorage,
    ]
