"""Pickle an object for another process with its large arrays beside the message, in a file.

Why: a multiprocessing queue pickles and unpickles whole messages while holding Python's
interpreter lock. A segmentation result (two label maps of a CT) is tens of megabytes, and
copying it through the queue froze the viewer's event loop for 100-250 ms as it arrived.
Here :mod:`pickle` protocol 5 hands every large, contiguous buffer (numpy arrays) out of
band; those buffers go to one file with single read and write calls, which release the
lock, and the queue carries only the small rest. Used by :mod:`.offload`.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import CorruptFileError

__all__ = ["Packed", "pack", "unpack", "discard", "OUT_OF_BAND_MIN_BYTES"]

#: Buffers below this size stay in the message (a file is not worth it for them).
OUT_OF_BAND_MIN_BYTES = 1 << 20


@dataclass(frozen=True)
class Packed:
    """A pickled object; its large buffers, if any, are in ``path`` one after another."""

    payload: bytes
    path: str | None = None
    sizes: tuple[int, ...] = ()


def pack(obj: Any, directory: str | None = None) -> Packed:
    """Pickle ``obj``, writing buffers of at least :data:`OUT_OF_BAND_MIN_BYTES` to a new file in ``directory``."""
    large: list[pickle.PickleBuffer] = []

    def in_band(buffer: pickle.PickleBuffer) -> bool:
        if buffer.raw().nbytes < OUT_OF_BAND_MIN_BYTES:
            return True
        large.append(buffer)
        return False

    payload = pickle.dumps(obj, protocol=5, buffer_callback=in_band)
    if not large:
        return Packed(payload)
    handle, path = tempfile.mkstemp(prefix="buffers-", suffix=".bin", dir=directory)
    try:
        with os.fdopen(handle, "wb", buffering=0) as file:
            for buffer in large:
                _write_all(file, buffer.raw())
    except BaseException:
        os.unlink(path)
        raise
    return Packed(payload, path, tuple(buffer.raw().nbytes for buffer in large))


def unpack(packed: Packed) -> Any:
    """The object :func:`pack` pickled; its buffer file is read once and removed."""
    if packed.path is None:
        return pickle.loads(packed.payload)
    try:
        buffers = []
        with open(packed.path, "rb", buffering=0) as file:
            for size in packed.sizes:
                buffer = np.empty(size, dtype=np.uint8)  # not zero-filled: the read fills it
                _read_all(file, memoryview(buffer))
                buffers.append(buffer)
    finally:
        discard(packed)
    return pickle.loads(packed.payload, buffers=buffers)


def discard(packed: Packed) -> None:
    """Remove the buffer file of a message that will not be unpacked."""
    if packed.path is not None:
        try:
            os.unlink(packed.path)
        except FileNotFoundError:
            pass


def _write_all(file: Any, view: memoryview) -> None:
    written = 0
    while written < view.nbytes:
        written += file.write(view[written:])


def _read_all(file: Any, view: memoryview) -> None:
    done = 0
    while done < view.nbytes:
        count = file.readinto(view[done:])
        if not count:
            raise CorruptFileError(file.name, f"ended after {done} of {view.nbytes} bytes of array data")
        done += count
