"""GUI tests run napari for real: they need a display (``xvfb-run -a`` provides one)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.gui)


@pytest.fixture(autouse=True)
def _needs_display() -> None:
    if not os.environ.get("DISPLAY") and os.environ.get("QT_QPA_PLATFORM") != "offscreen":
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("GUI tests need a display: run them with ./scripts/test.sh (xvfb-run)")
        pytest.skip("no display: run under xvfb-run -a (./scripts/test.sh does)")


@pytest.fixture
def save_screenshot():
    """Save a viewer screenshot under test-artifacts/ and return the pixels for assertions."""

    def _save(viewer, name: str, canvas_only: bool = False) -> np.ndarray:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        pixels = viewer.screenshot(str(path), canvas_only=canvas_only)
        assert path.is_file() and path.stat().st_size > 1000
        return np.asarray(pixels)

    return _save


@pytest.fixture(autouse=True)
def _autosave_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Autosaves of cases without a folder go to the test's own folder, never the user's."""
    folder = tmp_path / "autosave"
    monkeypatch.setenv("SPINE_METS_AUTOSAVE_DIR", str(folder))
    return folder


@pytest.fixture(autouse=True)
def _config_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The recent-cases list and other settings live in the test's folder, not the user's."""
    folder = tmp_path / "config"
    monkeypatch.setenv("SPINE_METS_CONFIG_DIR", str(folder))
    return folder


@pytest.fixture(autouse=True)
def _no_unsaved_question(monkeypatch: pytest.MonkeyPatch) -> None:
    """Closing a viewer at the end of a test discards, instead of waiting on a modal question."""
    from napari_spine_mets._napari.session import CaseSession

    monkeypatch.setattr(CaseSession, "_ask_unsaved_dialog", lambda self: "discard")
