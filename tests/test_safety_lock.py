"""Case-folder lock: one writer per case folder, a clear message, stale locks taken over."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from napari_spine_mets.case import Case
from napari_spine_mets.case_store import load_case, save_case
from napari_spine_mets.safety import lock as lock_module
from napari_spine_mets.safety.lock import LOCK_FILE, CaseLock, CaseLockedError, held_here, lock_owner
from napari_spine_mets.volume import LabelMap

HOLDER = textwrap.dedent(
    """
    import sys, time
    from napari_spine_mets.safety.lock import CaseLock
    with CaseLock(sys.argv[1], program="napari"):
        print("locked", flush=True)
        sys.stdin.readline()
    """
)


@pytest.fixture
def other_process(tmp_path: Path):
    """Another process holding the lock of tmp_path/case until the test ends."""
    folder = tmp_path / "case"
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    yield folder, proc
    proc.kill()
    proc.wait()


def _case() -> Case:
    return Case(label_maps={"l": LabelMap(np.ones((2, 3, 4), np.uint8), np.eye(4), name="l")}, case_id="c1")


def test_lock_is_exclusive_reentrant_and_released(tmp_path: Path) -> None:
    with CaseLock(tmp_path, program="test") as first:
        assert held_here(tmp_path)
        owner = lock_owner(tmp_path)
        assert owner is not None and owner["pid"] == os.getpid() and owner["host"] == socket.gethostname()
        with CaseLock(tmp_path):  # same process: re-entrant, e.g. save_case inside a napari session
            pass
        assert held_here(tmp_path) and (tmp_path / LOCK_FILE).exists()
        first.refresh()
    assert not held_here(tmp_path) and not (tmp_path / LOCK_FILE).exists()


def test_another_process_gets_a_clear_message(other_process: tuple[Path, subprocess.Popen]) -> None:
    folder, proc = other_process
    with pytest.raises(CaseLockedError) as info:
        CaseLock(folder).acquire()
    message = str(info.value)
    assert "open in another window" in message and f"pid {proc.pid}" in message and "napari" in message
    assert str(folder) in message


def test_save_case_is_refused_while_another_window_holds_the_case(other_process: tuple[Path, subprocess.Popen]) -> None:
    folder, _ = other_process
    with pytest.raises(CaseLockedError, match="open in another window"):
        save_case(_case(), folder)
    assert not (folder / "case.json").exists()


def test_save_case_takes_and_releases_the_lock(tmp_path: Path) -> None:
    save_case(_case(), tmp_path / "case")
    assert not (tmp_path / "case" / LOCK_FILE).exists()
    with CaseLock(tmp_path / "case"):
        save_case(_case(), tmp_path / "case")  # the session's own lock lets its saves through
    assert load_case(tmp_path / "case").case_id == "c1"


def test_lock_left_by_a_killed_process_is_taken_over(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    proc.kill()
    proc.wait()
    assert (tmp_path / LOCK_FILE).exists()  # SIGKILL left the file behind
    with CaseLock(tmp_path):
        assert lock_owner(tmp_path)["pid"] == os.getpid()  # type: ignore[index]


def test_without_flock_a_dead_owner_is_stale_and_a_live_one_blocks(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lock_module, "fcntl", None)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = {"pid": int(dead.stdout), "host": socket.gethostname(), "start": "", "since": 0, "program": "x"}
    (tmp_path / LOCK_FILE).write_text(json.dumps(stale))
    with CaseLock(tmp_path):
        assert lock_owner(tmp_path)["pid"] == os.getpid()  # type: ignore[index]
    live = dict(stale, pid=os.getppid())
    (tmp_path / LOCK_FILE).write_text(json.dumps(live))
    with pytest.raises(CaseLockedError, match=f"pid {os.getppid()}"):
        CaseLock(tmp_path).acquire()
