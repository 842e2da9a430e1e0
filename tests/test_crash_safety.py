"""SIGKILL during autosave never loses or corrupts a case.

A subprocess (tests/crash_saver.py) saves a case over and over; it is SIGKILLed at
random moments, 20 times. After each kill, load_case must give back one complete save
(its voxels match its save number), never one older than the last save that returned.
Each new saver also has to take over the stale case lock the killed one left behind.
"""

from __future__ import annotations

from pathlib import Path

import crash_saver


def test_sigkill_during_autosave_always_reopens_a_complete_save(tmp_path: Path) -> None:
    report = crash_saver.kill_loop(20, tmp_path / "case", seed=7, max_delay=1.0)
    assert report["problems"] == []
    assert report["survived"] + report["killed_before_first_save"] == 20
    assert report["survived"] >= 14, report
    assert report["saves_completed"] > 20, report
