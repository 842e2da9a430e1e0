"""Decoding DICOM pixel data, in parallel worker processes where that pays.

The JPEG 2000 and JPEG decoders that pydicom uses (pylibjpeg-openjpeg, pylibjpeg-libjpeg,
Pillow) hold the GIL while they decode: measured on the reference series, a thread pool
is no faster than a plain loop. Compressed series are therefore decoded by a small pool of
*forked* worker processes (Linux only), created on first use and kept for the session, so
that a second series loads without paying for process start-up. Fork, not spawn or
forkserver, because those re-run the caller's ``__main__`` script in each worker, which a
user script without an ``if __name__ == "__main__"`` guard does not survive. The workers
only open files, decode and send back numpy arrays (no Qt, no torch), which is what keeps
fork safe in a multi-threaded parent.

Uncompressed data, small series, other platforms, or ``SPINE_METS_DECODE_PROCESSES=0``
decode in the calling thread. Any failure of the pool falls back to that path.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

__all__ = [
    "DecodeFailure", "decode_files", "decode_one", "worker_count", "shutdown_pool", "transfer_syntax_problem",
]

log = logging.getLogger(__name__)

#: Transfer syntaxes whose pixel data is stored as plain bytes (no codec to run).
NATIVE_SYNTAXES = frozenset(
    {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99"}
)
#: Fewer frames than this are not worth a round trip to the worker processes.
MIN_FRAMES_FOR_POOL = 6

_pool = None
_pool_lock = threading.Lock()


class DecodeFailure(Exception):
    """Raised in place of a decoder's own exception; picklable, carries the file that failed."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(path, message)
        self.path = path
        self.message = message


def decode_one(path: str) -> np.ndarray:
    """Stored pixel values of ``path`` (frames, rows, columns), before any rescale."""
    from pydicom import dcmread

    try:
        ds = dcmread(path)
        if "PixelData" not in ds and "FloatPixelData" not in ds and "DoubleFloatPixelData" not in ds:
            raise DecodeFailure(path, "no pixel data (file truncated before the image?)")
        array = ds.pixel_array
    except DecodeFailure:
        raise
    except Exception as exc:  # noqa: BLE001 - every decoder failure means the same to the user
        text = " ".join(str(exc).split())[:300]
        raise DecodeFailure(path, f"{type(exc).__name__}: {text}") from None
    frames = int(ds.get("NumberOfFrames") or 1)
    if frames == 1 and array.ndim == 2:
        array = array[np.newaxis]
    return array


def worker_count() -> int:
    """Number of decoding processes: $SPINE_METS_DECODE_PROCESSES, else the CPUs we may use (max 8)."""
    env = os.environ.get("SPINE_METS_DECODE_PROCESSES", "").strip()
    if env:
        try:
            return max(0, int(env))
        except ValueError:
            log.warning("ignoring SPINE_METS_DECODE_PROCESSES=%r (not an integer)", env)
    try:
        cpus = len(os.sched_getaffinity(0))  # type: ignore[attr-defined]
    except AttributeError:
        cpus = os.cpu_count() or 1
    return min(cpus, 8)


def _get_pool():  # type: ignore[no-untyped-def]
    global _pool
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with _pool_lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(worker_count(), mp_context=multiprocessing.get_context("fork"))
        return _pool


def shutdown_pool() -> None:
    """Stop the worker processes (they are started again on the next compressed series)."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)


def _use_pool(transfer_syntax: str, n_frames: int) -> bool:
    return (
        sys.platform.startswith("linux")
        and transfer_syntax not in NATIVE_SYNTAXES
        and n_frames >= MIN_FRAMES_FOR_POOL
        and worker_count() >= 2
    )


def decode_files(
    paths: Sequence[Path],
    transfer_syntax: str,
    n_frames: int,
    cancelled: Callable[[], bool] | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(index into paths, stored pixel array)`` as files finish decoding (any order).

    Raises :class:`DecodeFailure` for the first file that cannot be decoded. When
    ``cancelled()`` turns true the generator stops (pending work is dropped) and returns.
    """
    if _use_pool(transfer_syntax, n_frames):
        try:
            yield from _decode_in_pool(paths, cancelled)
            return
        except _PoolUnavailable as exc:
            log.warning("parallel decoding unavailable (%s); decoding in this process", exc)
    for index, path in enumerate(paths):
        if cancelled is not None and cancelled():
            return
        yield index, decode_one(str(path))


class _PoolUnavailable(Exception):
    pass


def _decode_in_pool(
    paths: Sequence[Path], cancelled: Callable[[], bool] | None
) -> Iterator[tuple[int, np.ndarray]]:
    from concurrent.futures import FIRST_COMPLETED, wait
    from concurrent.futures.process import BrokenProcessPool

    try:
        pool = _get_pool()
        with warnings.catch_warnings():
            # Python >= 3.12 warns about fork() in a multi-threaded process; see the module
            # docstring for why the workers are safe.
            warnings.filterwarnings("ignore", message=r".*use of fork\(\) may lead to deadlocks.*")
            futures = {pool.submit(decode_one, str(p)): i for i, p in enumerate(paths)}
    except (OSError, RuntimeError, ValueError, BrokenProcessPool) as exc:
        shutdown_pool()
        raise _PoolUnavailable(str(exc)) from exc
    pending = set(futures)
    yielded = False
    try:
        while pending:
            done, pending = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
            if cancelled is not None and cancelled():
                return
            for future in done:
                try:
                    array = future.result()
                except BrokenProcessPool as exc:
                    shutdown_pool()
                    if yielded:
                        raise DecodeFailure(str(paths[futures[future]]), "a decoding process died") from exc
                    raise _PoolUnavailable("a worker process died") from exc
                yielded = True
                yield futures[future], array
    finally:
        for future in pending:
            future.cancel()


def transfer_syntax_problem(uid: str) -> str:
    """Why pixels in this transfer syntax cannot be decoded here, or "" when they can."""
    if not uid:
        return ""
    from pydicom.pixels import get_decoder
    from pydicom.uid import UID

    name = UID(uid).name
    try:
        decoder = get_decoder(uid)
    except NotImplementedError:
        return f"transfer syntax {name} ({uid}) has no pixel decoder in pydicom" + _suggest(uid)
    if decoder.is_available:
        return ""
    missing = "; ".join(decoder.missing_dependencies)
    return f"transfer syntax {name} ({uid}) cannot be decoded: no decoder installed ({missing})" + _suggest(uid)


_PACKAGES = {
    "1.2.840.10008.1.2.4.9": "pylibjpeg-openjpeg (JPEG 2000)",
    "1.2.840.10008.1.2.4.20": "pylibjpeg-openjpeg>=2.3 (HTJ2K)",
    "1.2.840.10008.1.2.4.8": "pyjpegls or pylibjpeg-libjpeg (JPEG-LS)",
    "1.2.840.10008.1.2.4.5": "pylibjpeg-libjpeg or pillow (JPEG)",
    "1.2.840.10008.1.2.4.7": "pylibjpeg-libjpeg (JPEG lossless)",
    "1.2.840.10008.1.2.4.10": "a video decoder (MPEG/H.264/HEVC video is not a volume; export the images "
    "from the PACS in an image transfer syntax)",
    "1.2.840.10008.1.2.5": "pylibjpeg-rle (RLE)",
}


def _suggest(uid: str) -> str:
    for prefix, package in _PACKAGES.items():
        if uid.startswith(prefix):
            return f"; it would need {package}"
    return "; install gdcm (python-gdcm) for other syntaxes"
