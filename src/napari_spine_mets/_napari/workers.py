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

__all__ = ["run_in_background", "run_with_progress", "run_in_process"]

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
    from napari.utils.notifications import show_error, show_info

    from ..errors import OperationCancelled

    def _errored(exc: Exception) -> None:
        if isinstance(exc, OperationCancelled):  # the user's choice, not a failure
            show_info(str(exc))
            if on_error is not None:
                on_error(str(exc))
            return
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

    # Connecting "errored" here stops superqt from re-raising the error in the Qt loop
    # (which would show a traceback on top of the notification).
    return create_worker(
        function,
        _progress={"desc": description},
        _connect={"errored": _errored, "returned": on_done},
        _start_thread=True,
    )


def run_with_progress(
    function: Callable[[Callable[[float, str], None], Callable[[], bool]], T],
    on_done: Callable[[T], Any],
    *,
    description: str,
    on_progress: Callable[[float, str], Any],
    on_error: Callable[[str], Any] | None = None,
) -> tuple[Any, Callable[[], None]]:
    """Like :func:`run_in_background` for core functions that take ``progress`` and ``cancel``.

    ``function(progress, cancel)`` runs off the Qt thread; its progress calls reach
    ``on_progress(fraction, message)`` on the Qt thread. Returns the worker and a function
    that asks the work to stop (it stops at the core function's next check).
    """
    import threading

    from qtpy.QtCore import QObject, Signal

    class _Bridge(QObject):
        progressed = Signal(float, str)

    bridge = _Bridge()
    bridge.progressed.connect(on_progress)
    stop = threading.Event()
    worker = run_in_background(
        lambda: function(lambda fraction, message: bridge.progressed.emit(float(fraction), str(message)), stop.is_set),
        on_done,
        description=description,
        on_error=on_error,
    )
    worker._spine_mets_bridge = bridge  # keep the bridge alive as long as the worker
    return worker, stop.set


def run_in_process(
    function: Callable[..., T],
    kwargs: dict[str, Any],
    on_done: Callable[[T], Any],
    *,
    description: str,
    on_progress: Callable[[float, str], Any],
    on_error: Callable[[str], Any] | None = None,
) -> tuple[Any, Callable[[], None]]:
    """Like :func:`run_with_progress`, with the work in a separate process (:mod:`..offload`).

    For the heaviest steps (segmentation): numpy and torch hold the interpreter lock for
    long stretches, which a thread cannot hide from the Qt loop; a process can.
    ``function`` must be importable at module level; it gets ``**kwargs, progress, cancel``.
    """
    from ..offload import Offloaded

    def work(progress: Callable[[float, str], None], cancel: Callable[[], bool]) -> T:
        return Offloaded(function, kwargs, progress).result(stop=cancel)

    return run_with_progress(work, on_done, description=description, on_progress=on_progress, on_error=on_error)
