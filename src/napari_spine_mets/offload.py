"""Run heavy core functions in a separate Python process, with progress and cancellation.

Why: numpy, scipy.ndimage and the first ``import torch`` hold Python's interpreter lock
for hundreds of milliseconds at a time, so a *thread* running segmentation still freezes
a GUI now and then. A child process has its own interpreter: the viewer stays fluid.

The child is started once (``spawn``, safe with Qt and CUDA) and kept for later calls, so
the model is loaded and torch imported only once per session. :func:`call` runs
``function(**kwargs, progress=..., cancel=...)`` in an idle child and returns its result;
progress messages come back as they happen; :meth:`Offloaded.cancel` makes ``cancel()``
return True in the child. Errors of the project come back as :class:`OffloadedError`
with the child's message (the project's errors carry their path in the message).
Arguments and results travel with their large arrays in a file (:mod:`.out_of_band`), so
receiving a result does not hold the interpreter lock either.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing as mp
import queue
import shutil
import tempfile
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import OperationCancelled, SpineMetsError
from .out_of_band import pack, unpack

__all__ = ["Offloaded", "OffloadedError", "OffloadedCancelled", "OffloadedBug", "call", "warm_up", "cancel_all", "shutdown"]

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]


class OffloadedError(SpineMetsError):
    """A project error raised in the child process; the message is the child's."""


class OffloadedCancelled(OffloadedError, OperationCancelled):
    """The function in the child process stopped because the user cancelled."""


class OffloadedBug(RuntimeError):
    """An unexpected exception in the child process; the message holds its traceback."""


def _serve(tasks: Any, events: Any, cancelled: Any, directory: str) -> None:
    """The child's loop: one task at a time until it receives ``None``."""
    logging.basicConfig(level=logging.INFO)
    while True:
        task = tasks.get()
        if task is None:
            return

        def progress(fraction: float, message: str) -> None:
            events.put(("progress", float(fraction), str(message)))

        try:
            function, kwargs = unpack(task)
            result = function(**kwargs, progress=progress, cancel=cancelled.is_set)
        except OperationCancelled as exc:
            events.put(("cancelled", type(exc).__name__, str(exc)))
        except SpineMetsError as exc:
            events.put(("error", type(exc).__name__, str(exc)))
        except MemoryError:
            events.put(("error", "MemoryError", "not enough memory"))
        except BaseException as exc:  # a bug: send the traceback, keep serving
            events.put(("bug", type(exc).__name__, traceback.format_exc()))
        else:
            try:
                events.put(("result", pack(result, directory)))
            except Exception as exc:  # e.g. a result that cannot be pickled
                events.put(("bug", type(exc).__name__, traceback.format_exc()))


@dataclass
class _Child:
    process: Any
    tasks: Any
    events: Any
    cancelled: Any
    #: Where arguments and results leave their large arrays (removed with the child).
    directory: str
    busy: bool = False
    #: Importing torch for its first task: wait for it rather than start another child.
    warming: bool = False


_CHILDREN: list[_Child] = []
_POOL_LOCK = threading.Condition()


def _idle_child(warming: bool = False) -> _Child:
    """An idle child (one still warming up is waited for rather than started twice)."""
    with _POOL_LOCK:
        while True:
            for child in list(_CHILDREN):
                if not child.process.is_alive():
                    _CHILDREN.remove(child)
                    shutil.rmtree(child.directory, ignore_errors=True)
                elif not child.busy:
                    child.busy, child.warming = True, warming
                    return child
            if not any(child.warming for child in _CHILDREN):
                break
            _POOL_LOCK.wait(timeout=1.0)
        context = mp.get_context("spawn")
        tasks, events, cancelled = context.Queue(), context.Queue(), context.Event()
        directory = tempfile.mkdtemp(prefix="spine-mets-worker-")
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
        process = context.Process(target=_serve, args=(tasks, events, cancelled, directory), daemon=True,
                                  name="spine-mets-worker")
        process.start()
        child = _Child(process, tasks, events, cancelled, directory, busy=True, warming=warming)
        _CHILDREN.append(child)
        log.info("started worker process %s", process.pid)
        return child


def _release(child: _Child) -> None:
    with _POOL_LOCK:
        child.busy = False
        child.warming = False
        _POOL_LOCK.notify_all()


class Offloaded:
    """One call of a function in a child process; :meth:`result` waits for it."""

    def __init__(self, function: Callable[..., Any], kwargs: dict[str, Any], progress: Progress | None = None,
                 *, warming: bool = False) -> None:
        self._child = _idle_child(warming)
        self._progress = progress or (lambda fraction, message: None)
        self._child.cancelled.clear()
        try:
            self._child.tasks.put(pack((function, kwargs), self._child.directory))
        except BaseException:
            _release(self._child)
            raise

    def cancel(self) -> None:
        """Ask the function to stop at its next check of ``cancel()``."""
        self._child.cancelled.set()

    def result(self, stop: Callable[[], bool] | None = None) -> Any:
        """Wait for the function; progress is reported meanwhile. Raises what the child raised.

        ``stop()`` is polled while waiting: once it returns True the child is asked to cancel.
        """
        child = self._child
        asked = False
        try:
            while True:
                if stop is not None and not asked and stop():
                    self.cancel()
                    asked = True
                try:
                    event = child.events.get(timeout=0.1)
                except queue.Empty:
                    if not child.process.is_alive():
                        raise OffloadedBug(f"the worker process ended unexpectedly (exit code {child.process.exitcode})") from None
                    continue
                kind = event[0]
                if kind == "progress":
                    self._progress(event[1], event[2])
                elif kind == "result":
                    return unpack(event[1])
                elif kind == "cancelled":
                    raise OffloadedCancelled(event[2])
                elif kind == "error":
                    if event[1] == "MemoryError":
                        raise MemoryError(event[2])
                    raise OffloadedError(event[2])
                else:
                    raise OffloadedBug(f"{event[1]} in the worker process:\n{event[2]}")
        finally:
            _release(child)


def call(function: Callable[..., Any], progress: Progress | None = None, **kwargs: Any) -> Any:
    """Run ``function(**kwargs, progress=, cancel=)`` in a child process and return its result."""
    return Offloaded(function, kwargs, progress).result()


def _import_modules(names: tuple[str, ...], progress: Progress, cancel: Callable[[], bool]) -> None:
    import importlib

    for name in names:
        importlib.import_module(name)


def warm_up(modules: tuple[str, ...] = ()) -> threading.Thread:
    """Start a child now and import ``modules`` in it, so the user's first run starts at once.

    Runs in a background thread (starting a process and importing torch take seconds);
    the child is idle and ready afterwards.
    """
    def work() -> None:
        try:
            Offloaded(_import_modules, {"names": tuple(modules)}, warming=True).result()
        except (OffloadedError, OffloadedBug, OSError) as exc:
            log.warning("worker process warm-up failed: %s", exc)

    thread = threading.Thread(target=work, name="spine-mets-warm-up", daemon=True)
    thread.start()
    return thread


def cancel_all() -> None:
    """Ask every running function to stop (the application is closing)."""
    with _POOL_LOCK:
        for child in _CHILDREN:
            if child.busy:
                child.cancelled.set()


def shutdown() -> None:
    """Stop the child processes (they are daemons: they also end with the parent)."""
    with _POOL_LOCK:
        for child in _CHILDREN:
            try:
                child.tasks.put(None)
                child.process.join(timeout=5)
                if child.process.is_alive():
                    child.process.terminate()
            except (OSError, ValueError):
                pass
            shutil.rmtree(child.directory, ignore_errors=True)
        _CHILDREN.clear()
