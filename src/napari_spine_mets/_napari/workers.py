"""The one bridge from core functions to napari thread workers.

Long work (scanning folders, reading series, saving cases) never runs on the Qt thread:
``run_in_background`` starts it in a napari worker, shows progress in napari's activity
dock, and turns the project's errors into notifications instead of tracebacks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from ..errors import SpineMetsError

__all__ = ["run_in_background"]

log = logging.getLogger(__name__)
T = TypeVar("T")


def run_in_background(
    function: Callable[[], T],
    on_done: Callable[[T], Any],
    *,
    description: str,
    on_error: Callable[[str], Any] | None = None,
) -> Any:
    """Run ``function`` off the Qt thread; ``on_done(result)`` runs back on it."""
    from napari.qt.threading import create_worker
    from napari.utils.notifications import show_error

    worker = create_worker(function, _progress={"desc": description})

    def _errored(exc: Exception) -> None:
        if isinstance(exc, SpineMetsError):
            message = str(exc)
        elif isinstance(exc, MemoryError):
            message = f"{description}: not enough memory"
        else:  # a bug: keep the traceback in the log, show one line to the user
            log.error("%s failed", description, exc_info=exc)
            message = f"{description} failed unexpectedly ({type(exc).__name__}); see the log"
        show_error(message)
        if on_error is not None:
            on_error(message)

    worker.returned.connect(on_done)
    worker.errored.connect(_errored)
    worker.start()
    return worker
