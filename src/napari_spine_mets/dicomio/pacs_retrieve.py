"""Retrieve a study (or its CT series) from the PACS into a folder, all or nothing.

Instances arrive in a hidden temporary folder beside the destination
(``.<name>.partial-*``); only when every announced instance has arrived and the PACS
reported success is it renamed to the destination. Anything else (association aborted,
failed sub-operations, fewer files than announced, cancel) removes the temporary folder
and raises, so a half-retrieved study never looks like a complete one.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

from ..errors import SpineMetsError
from .errors import NoMatchingSeriesError, PacsError, RetrievalIncompleteError
from .pacs import SeriesMatch, associate, find_series, make_ae, storage_contexts, storage_requests
from .pacs_config import PacsConfig

__all__ = ["RetrieveResult", "RetrieveCancelled", "retrieve_study"]

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
Cancel = Callable[[], bool]


class RetrieveCancelled(SpineMetsError):
    """The user cancelled a retrieval; nothing was kept."""


@dataclass
class RetrieveResult:
    """A complete retrieval: the folder and what is in it."""

    folder: Path
    n_instances: int
    series: list[SeriesMatch] = field(default_factory=list)


class _Receiver:
    """C-STORE handler writing each instance into the temporary folder."""

    def __init__(self, folder: Path, cancel: Cancel | None) -> None:
        self.folder, self.cancel = folder, cancel
        self.count = 0
        self.lock = threading.Lock()

    def __call__(self, event: Any) -> int:
        if self.cancel is not None and self.cancel():
            event.assoc.abort()
            return 0xA700
        ds = event.dataset
        ds.file_meta = event.file_meta
        name = "".join(c for c in str(ds.SOPInstanceUID) if c.isdigit() or c == ".") or f"instance{self.count}"
        ds.save_as(self.folder / f"{name}.dcm", enforce_file_format=True)
        with self.lock:
            self.count += 1
        return 0x0000


def retrieve_study(
    config: PacsConfig,
    study_uid: str,
    destination: str | PathLike[str],
    *,
    modality: str | None = "CT",
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> RetrieveResult:
    """Retrieve the ``modality`` series of a study (all series when None) into ``destination``.

    Uses C-GET or C-MOVE as configured. ``destination`` must not exist yet.
    """
    dest = Path(destination)
    if dest.exists():
        raise PacsError(f"{dest}: already exists: choose a new folder for the retrieved study")
    all_series = find_series(config, study_uid)
    if not all_series:
        raise PacsError(f"{config.describe()}: no series found for this study (wrong study UID, or no access)")
    wanted = [s for s in all_series if modality is None or s.modality.upper() == modality.upper()]
    if not wanted:
        found = sorted({s.modality or "?" for s in all_series})
        raise NoMatchingSeriesError(
            f"{config.describe()}: the study has no {modality} series (it holds: {', '.join(found)}); nothing retrieved"
        )
    expected = sum(s.n_instances or 0 for s in wanted)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.partial-", dir=dest.parent))
    receiver = _Receiver(tmp, cancel)
    try:
        announced = 0
        for done, series in enumerate(wanted, start=1):
            if cancel is not None and cancel():
                raise RetrieveCancelled("retrieval cancelled; nothing was kept")
            run = _get_series if config.retrieve == "get" else _move_series
            announced += run(config, study_uid, series, receiver)
            if progress is not None:
                progress(done, len(wanted))
        if cancel is not None and cancel():
            raise RetrieveCancelled("retrieval cancelled; nothing was kept")
        total = max(expected, announced)
        if receiver.count < total or receiver.count == 0:
            raise RetrievalIncompleteError(
                f"{config.describe()}: only {receiver.count} of {total} instance(s) arrived; "
                "the partial retrieval was discarded (nothing kept): try again"
            )
        tmp.rename(dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("retrieved %d instance(s) in %d series into %s", receiver.count, len(wanted), dest.name)
    return RetrieveResult(folder=dest, n_instances=receiver.count, series=wanted)


def _identifier(study_uid: str, series: SeriesMatch) -> Any:
    from pydicom.dataset import Dataset

    q = Dataset()
    q.QueryRetrieveLevel = "SERIES"
    q.StudyInstanceUID, q.SeriesInstanceUID = study_uid, series.series_uid
    return q


def _follow(config: PacsConfig, what: str, responses: Any, assoc: Any) -> int:
    """Walk C-GET/C-MOVE responses; returns the number of sub-operations announced."""
    final, announced = None, 0
    for status, _ in responses:
        if status is None or "Status" not in status:
            break
        code = int(status.Status)
        counts = [int(status.get(k, 0) or 0) for k in ("NumberOfRemainingSuboperations", "NumberOfCompletedSuboperations",
                                                         "NumberOfFailedSuboperations", "NumberOfWarningSuboperations")]
        announced = max(announced, sum(counts))
        if code not in (0xFF00, 0xFF01):
            final = code
            failed = counts[2]
            if code == 0xFE00:
                raise RetrievalIncompleteError(f"{config.describe()}: {what} cancelled by the PACS; nothing kept")
            if code == 0xA801:
                raise RetrievalIncompleteError(
                    f"{config.describe()}: the PACS does not know the move destination '{config.calling_aet}': "
                    "ask its administrator to register that AE title with this computer's address and store port, "
                    "or use C-GET; nothing kept"
                )
            if code not in (0x0000, 0xB000) or failed:
                raise RetrievalIncompleteError(
                    f"{config.describe()}: {what} ended with status 0x{code:04X} ({failed} sub-operation(s) failed); "
                    "the partial retrieval was discarded (nothing kept)"
                )
    if final is None:
        raise RetrievalIncompleteError(
            f"{config.describe()}: {what} interrupted (association aborted or timed out before the PACS finished); "
            "the partial retrieval was discarded (nothing kept)"
        )
    return announced


def _get_series(config: PacsConfig, study_uid: str, series: SeriesMatch, receiver: _Receiver) -> int:
    from pynetdicom import build_role, evt
    from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelGet

    ae = make_ae(config)
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelGet)
    for uid, syntaxes in storage_requests():
        ae.add_requested_context(uid, syntaxes)
    roles = [build_role(uid, scp_role=True) for uid in storage_contexts()]
    assoc = associate(config, ae, ext_neg=roles, evt_handlers=[(evt.EVT_C_STORE, receiver)])
    try:
        responses = assoc.send_c_get(_identifier(study_uid, series), StudyRootQueryRetrieveInformationModelGet)
        return _follow(config, "C-GET", responses, assoc)
    finally:
        if assoc.is_established:
            assoc.release()


def _move_series(config: PacsConfig, study_uid: str, series: SeriesMatch, receiver: _Receiver) -> int:
    from pynetdicom import ALL_TRANSFER_SYNTAXES, evt
    from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelMove

    scp = make_ae(config)
    for uid in storage_contexts():
        scp.add_supported_context(uid, ALL_TRANSFER_SYNTAXES)
    try:
        server = scp.start_server((config.store_host, config.store_port), block=False,
                                  evt_handlers=[(evt.EVT_C_STORE, receiver)])
    except OSError as exc:
        raise PacsError(
            f"cannot listen on port {config.store_port} for C-MOVE ({exc.strerror or exc}); "
            "choose another store_port or use C-GET"
        ) from None
    try:
        ae = make_ae(config)
        ae.add_requested_context(StudyRootQueryRetrieveInformationModelMove)
        assoc = associate(config, ae)
        try:
            responses = assoc.send_c_move(_identifier(study_uid, series), config.calling_aet,
                                          StudyRootQueryRetrieveInformationModelMove)
            return _follow(config, "C-MOVE", responses, assoc)
        finally:
            if assoc.is_established:
                assoc.release()
    finally:
        server.shutdown()
