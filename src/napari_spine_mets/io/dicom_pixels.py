"""Decoding DICOM pixel data, in parallel threads where that pays.

pydicom's JPEG 2000 and JPEG plugins (pylibjpeg-openjpeg, pylibjpeg-libjpeg, Pillow) hold
the GIL while they decode, so threads would not help them. imagecodecs' decoders release
the GIL: for the syntaxes it covers (JPEG 2000, HTJ2K, JPEG-LS, lossless JPEG) frames are
decoded with it on a small thread pool (no extra processes, nothing forked from a Qt
application). Anything else, and any frame imagecodecs refuses, goes through pydicom's
own pixel handlers, so the fast path never changes what can be read.

``SPINE_METS_DECODE_THREADS=1`` decodes everything in the calling thread.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

__all__ = ["DecodeFailure", "decode_files", "decode_one", "worker_count", "transfer_syntax_problem"]

log = logging.getLogger(__name__)

#: Transfer syntaxes whose pixel data is stored as plain bytes (no codec to run).
NATIVE_SYNTAXES = frozenset(
    {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99"}
)
#: Syntax -> name of the imagecodecs decoder that handles it without holding the GIL.
_IMAGECODECS_DECODERS = {
    "1.2.840.10008.1.2.4.90": "jpeg2k",  # JPEG 2000 lossless
    "1.2.840.10008.1.2.4.91": "jpeg2k",  # JPEG 2000
    "1.2.840.10008.1.2.4.201": "jpeg2k",  # HTJ2K lossless
    "1.2.840.10008.1.2.4.202": "jpeg2k",  # HTJ2K lossless RPCL
    "1.2.840.10008.1.2.4.203": "jpeg2k",  # HTJ2K
    "1.2.840.10008.1.2.4.80": "jpegls",  # JPEG-LS lossless
    "1.2.840.10008.1.2.4.81": "jpegls",  # JPEG-LS near-lossless
    "1.2.840.10008.1.2.4.57": "ljpeg",  # JPEG lossless
    "1.2.840.10008.1.2.4.70": "ljpeg",  # JPEG lossless, first-order prediction
}
#: Fewer frames than this are not worth a thread pool.
MIN_FRAMES_FOR_THREADS = 4


class DecodeFailure(Exception):
    """Raised in place of a decoder's own exception; carries the file that failed."""

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
        frames = int(ds.get("NumberOfFrames") or 1)
        array = _decode_with_imagecodecs(ds, frames)
        if array is None:
            array = ds.pixel_array
    except DecodeFailure:
        raise
    except Exception as exc:  # noqa: BLE001 - every decoder failure means the same to the user
        text = " ".join(str(exc).split())[:300]
        raise DecodeFailure(path, f"{type(exc).__name__}: {text}") from None
    if frames == 1 and array.ndim == 2:
        array = array[np.newaxis]
    return array


def _decode_with_imagecodecs(ds: "object", frames: int) -> np.ndarray | None:
    """Frames decoded by imagecodecs (GIL released), or None to let pydicom do it."""
    syntax = str(ds.file_meta.TransferSyntaxUID)  # type: ignore[attr-defined]
    codec = _IMAGECODECS_DECODERS.get(syntax)
    if codec is None or int(getattr(ds, "SamplesPerPixel", 1)) != 1:
        return None
    try:
        import imagecodecs
    except ImportError:
        return None
    if not getattr(imagecodecs, codec.upper()).available:
        return None
    from pydicom.encaps import generate_frames

    decode = getattr(imagecodecs, f"{codec}_decode")
    bits_stored = int(ds.BitsStored)  # type: ignore[attr-defined]
    signed = int(ds.PixelRepresentation) == 1  # type: ignore[attr-defined]
    decoded = []
    try:
        for frame in generate_frames(ds.PixelData, number_of_frames=frames):  # type: ignore[attr-defined]
            decoded.append(_as_stored_type(np.asarray(decode(frame)), bits_stored, signed))
    except Exception as exc:  # noqa: BLE001 - pydicom's handlers get their chance
        log.debug("imagecodecs could not decode (%s); using pydicom", type(exc).__name__)
        return None
    if any(a.ndim != 2 for a in decoded):
        return None
    return np.stack(decoded)


def _as_stored_type(array: np.ndarray, bits_stored: int, signed: bool) -> np.ndarray:
    """Match pydicom's output type: the codestream's sign may differ from PixelRepresentation."""
    container = np.int16 if bits_stored <= 16 else np.int32
    if not signed:
        return array.astype(np.uint16 if bits_stored <= 16 else np.uint32, copy=False)
    if array.dtype.kind == "i":
        return array.astype(container, copy=False)
    # unsigned codestream for signed data: sign-extend from BitsStored
    values = array.astype(np.int64)
    sign_bit = 1 << (bits_stored - 1)
    return ((values ^ sign_bit) - sign_bit).astype(container)


def worker_count() -> int:
    """Decoding threads: $SPINE_METS_DECODE_THREADS, else the CPUs we may use (at most 8)."""
    env = os.environ.get("SPINE_METS_DECODE_THREADS", "").strip()
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            log.warning("ignoring SPINE_METS_DECODE_THREADS=%r (not an integer)", env)
    try:
        cpus = len(os.sched_getaffinity(0))  # type: ignore[attr-defined]
    except AttributeError:
        cpus = os.cpu_count() or 1
    return min(cpus, 8)


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
    threads = worker_count()
    if transfer_syntax in _IMAGECODECS_DECODERS and n_frames >= MIN_FRAMES_FOR_THREADS and threads > 1:
        yield from _decode_in_threads(paths, threads, cancelled)
        return
    for index, path in enumerate(paths):
        if cancelled is not None and cancelled():
            return
        yield index, decode_one(str(path))


def _decode_in_threads(
    paths: Sequence[Path], threads: int, cancelled: Callable[[], bool] | None
) -> Iterator[tuple[int, np.ndarray]]:
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    with ThreadPoolExecutor(threads, thread_name_prefix="dicom-decode") as pool:
        futures = {pool.submit(decode_one, str(p)): i for i, p in enumerate(paths)}
        pending = set(futures)
        try:
            while pending:
                done, pending = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
                if cancelled is not None and cancelled():
                    return
                for future in done:
                    yield futures[future], future.result()
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
