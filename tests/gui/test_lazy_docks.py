"""The main command builds only the dock in front; the others build when seen or used.

This is what keeps opening eight docks cheap (benchmarks/bench_ui.py); these tests check
that nothing a user relies on is lost by it: a tab shows its widgets when raised, code
reaching into a dock gets the real widget, and the overlays appear with the first labels
even if their tab was never opened.
"""

from __future__ import annotations

import numpy as np
import pytest
from qtpy.QtWidgets import QApplication

from napari_spine_mets._napari.launch import DOCKS, PLUGIN, add_docks, fill_viewer
from napari_spine_mets._napari.lazy_dock import LazyDock
from napari_spine_mets._napari.session import session_of


def _settle(rounds: int = 30) -> None:
    for _ in range(rounds):
        QApplication.processEvents()


def _frames(viewer) -> dict[str, object]:
    return {name: viewer.window.dock_widgets[f"{name} ({PLUGIN})"] for name in DOCKS}


@pytest.fixture
def main_viewer(make_napari_viewer):
    viewer = fill_viewer(make_napari_viewer(show=True))  # what the main command opens
    yield viewer
    session_of(viewer).ask_unsaved = lambda: "discard"


def test_only_the_dock_in_front_is_built(main_viewer, qtbot, save_screenshot) -> None:
    _settle()
    frames = _frames(main_viewer)
    lazy = {name for name, frame in frames.items() if isinstance(frame, LazyDock)}
    assert lazy == {"Segment", "Lesions", "Measure", "Scores", "Report", "Overlays"}
    # the sample case has labels, so the overlays are on the image without opening their tab
    qtbot.waitUntil(lambda: frames["Overlays"].built, timeout=20_000)
    assert not any(frames[name].built for name in lazy - {"Overlays"})
    assert "vertebra labels" in main_viewer.layers

    # raising a tab builds it, with its body at the top of the dock (no gap above it)
    frames["Measure"].parent().raise_()  # the dock around the frame
    qtbot.waitUntil(lambda: frames["Measure"].built, timeout=20_000)
    _settle()
    assert frames["Measure"].body.geometry().top() <= 2
    assert frames["Measure"].body.isVisible()
    assert not frames["Report"].built and not frames["Segment"].built
    save_screenshot(main_viewer, "lazy_docks_measure_raised")


def test_code_reaching_into_a_dock_gets_the_real_widget(main_viewer) -> None:
    report = _frames(main_viewer)["Report"]
    assert not report.built
    assert report.report_button.text()  # attribute of the body: built on demand
    assert report.built
    with pytest.raises(AttributeError):
        report.no_such_attribute  # noqa: B018
    # a public attribute set on the frame lands on the body (a test's stand-in for a dialog)
    report.ask_folder = lambda title: None
    assert report.body.ask_folder("any") is None and "ask_folder" not in vars(report)


def test_overlays_wait_for_labels_on_an_empty_viewer(make_napari_viewer, qtbot) -> None:
    viewer = make_napari_viewer(show=True)
    add_docks(viewer)
    _settle()
    overlays = _frames(viewer)["Overlays"]
    assert not overlays.built  # nothing to overlay yet, tab behind
    labels = np.zeros((8, 32, 32), dtype=np.uint8)
    labels[2:6, 10:20, 10:20] = 22  # TotalSegmentator's L1
    viewer.add_labels(labels, name="vertebrae")
    qtbot.waitUntil(lambda: overlays.built, timeout=20_000)
    session_of(viewer).ask_unsaved = lambda: "discard"
