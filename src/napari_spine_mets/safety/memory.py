"""Estimate the memory a load or a segmentation needs from headers, before allocating it.

A header that claims an enormous volume (a damaged file, a 4D acquisition, a fuzzed
input) must give a clear message, not get the whole application killed by the
operating system's out-of-memory killer with every unsaved correction lost. Readers
call :func:`check_volume_memory` with the shape and element size the header claims,
before any pixel is read.

The budget is the memory the system reports as available (``MemAvailable`` in
``/proc/meminfo``, else ``os.sysconf``) times :data:`SAFETY_FRACTION`, capped by
``$SPINE_METS_MEMORY_LIMIT_GB`` when set (a site can pin it, e.g. to 24). The estimate
counts the array the reader returns times a per-reader number of working copies
(decode buffers, reorientation, type promotion). When a load does not fit,
:class:`MemoryLimitError` says how much is needed and available, and which downsampling
factor per axis would fit (``suggested_factor``), so the UI can offer a reduced read.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from os import PathLike
from pathlib import Path

from ..errors import InputError

__all__ = [
    "MemoryLimitError",
    "SAFETY_FRACTION",
    "available_memory_bytes",
    "memory_budget_bytes",
    "estimate_bytes",
    "suggest_downsample",
    "check_volume_memory",
    "format_bytes",
    "voxel_count",
]

log = logging.getLogger(__name__)

#: Fraction of the available memory one load may plan to use (the rest: napari, the OS, other layers).
SAFETY_FRACTION = 0.6
#: Environment variable pinning the budget in GB (decimal GB, as vendors quote memory).
LIMIT_ENV = "SPINE_METS_MEMORY_LIMIT_GB"
#: Budget used when the system cannot tell (no /proc, no sysconf): conservative 4 GB.
_UNKNOWN_AVAILABLE = 4 * 10**9
#: Largest voxel count any reader accepts whatever the memory (beyond: a damaged header).
MAX_VOXELS = 2**36


class MemoryLimitError(InputError):
    """Loading or segmenting this image would need more memory than is available."""

    def __init__(self, path: str | PathLike[str] | None, problem: str, needed: int, budget: int,
                 suggested_factor: int | None) -> None:
        super().__init__(path, problem)
        self.needed = needed
        self.budget = budget
        self.suggested_factor = suggested_factor


def _meminfo_available(meminfo: Path = Path("/proc/meminfo")) -> int | None:
    try:
        text = meminfo.read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    values: dict[str, int] = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            values[name.strip()] = int(parts[0]) * (1024 if parts[1:2] == ["kB"] else 1)
    if "MemAvailable" in values:
        return values["MemAvailable"]
    if "MemFree" in values:  # kernels before 3.14
        return values["MemFree"] + values.get("Cached", 0) + values.get("Buffers", 0)
    return None


def _sysconf_available() -> int | None:
    try:
        pages = os.sysconf("SC_AVPHYS_PAGES")
        size = os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None
    return int(pages) * int(size) if pages > 0 and size > 0 else None


def available_memory_bytes() -> int:
    """Memory the system says new allocations can use without swapping (a conservative default if unknown)."""
    for probe in (_meminfo_available, _sysconf_available):
        value = probe()
        if value:
            return value
    log.debug("available memory unknown: assuming %s", format_bytes(_UNKNOWN_AVAILABLE))
    return _UNKNOWN_AVAILABLE


def memory_budget_bytes() -> int:
    """Bytes one load may plan to use: available x SAFETY_FRACTION, capped by $SPINE_METS_MEMORY_LIMIT_GB."""
    budget = int(available_memory_bytes() * SAFETY_FRACTION)
    pinned = os.environ.get(LIMIT_ENV, "").strip()
    if pinned:
        try:
            value = float(pinned)
            if not math.isfinite(value) or value <= 0:
                raise ValueError(pinned)
            budget = min(budget, int(value * 10**9))
        except ValueError:
            log.warning("ignoring %s=%r (not a positive number of GB)", LIMIT_ENV, pinned)
    return budget


def voxel_count(shape: Sequence[int]) -> int:
    """Voxels in an array of ``shape`` (a negative extent counts as empty)."""
    return math.prod(max(0, int(s)) for s in shape)


def estimate_bytes(shape: Sequence[int], itemsize: int, copies: float = 2.0) -> int:
    """Peak bytes to build an array of ``shape`` x ``itemsize`` with ``copies`` working copies alive."""
    return int(math.ceil(voxel_count(shape) * max(1, int(itemsize)) * max(1.0, copies)))


def suggest_downsample(shape: Sequence[int], itemsize: int, copies: float, budget: int) -> int | None:
    """Smallest integer factor per axis (2, 3, ...) whose reduced read fits ``budget``; None if none up to 16."""
    for factor in range(2, 17):
        reduced = [max(1, -(-int(s) // factor)) for s in shape]
        if estimate_bytes(reduced, itemsize, copies) <= budget:
            return factor
    return None


def format_bytes(n: float) -> str:
    """'1.5 GB' style (decimal units, as memory is sold)."""
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{int(n)} B"


def check_volume_memory(path: str | PathLike[str] | None, shape: Sequence[int], itemsize: int, *,
                        copies: float = 2.0, what: str = "loading this image") -> int:
    """Raise :class:`MemoryLimitError` when ``shape`` x ``itemsize`` (x copies) exceeds the budget.

    Returns the estimated bytes, for logging. Called with header facts only, so nothing is
    allocated when the answer is no.
    """
    dims = "x".join(str(int(s)) for s in shape)
    voxels = voxel_count(shape)
    if voxels > MAX_VOXELS:
        raise MemoryLimitError(path, f"the header claims {dims} voxels ({voxels:.3g}), beyond any real "
                               "scan: the file is damaged or not a single volume", voxels * itemsize, 0, None)
    needed = estimate_bytes(shape, itemsize, copies)
    budget = memory_budget_bytes()
    if needed <= budget:
        log.debug("%s needs about %s of a %s budget", what, format_bytes(needed), format_bytes(budget))
        return needed
    factor = suggest_downsample(shape, itemsize, copies, budget)
    offer = (f"; a read downsampled by {factor} along each axis would fit" if factor else
             "; even a strongly downsampled read would not fit")
    raise MemoryLimitError(
        path,
        f"{what} ({dims} voxels) needs about {format_bytes(needed)} of memory, but only "
        f"{format_bytes(budget)} can be used safely now (close other images or applications{offer})",
        needed, budget, factor,
    )
