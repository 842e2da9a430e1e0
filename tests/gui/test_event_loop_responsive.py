"""While the network segments, napari stays responsive: the Qt event loop is never blocked > 200 ms."""

from __future__ import annotations

import gc
import time

from napari_spine_mets._napari.segment_widget import SegmentWidget

PLUGIN = "napari-spine-mets"
MAX_BLOCK_S = 0.200
TICK_S = 0.010


def test_event_loop_never_blocked_while_segmenting(make_napari_viewer, qtbot) -> None:
    from qtpy.QtCore import QTimer

    viewer = make_napari_viewer()
    viewer.open_sample(PLUGIN, "synthetic_spine_ct")
    widget = SegmentWidget(viewer)  # the shipped network on the whole sample case
    viewer.window.add_dock_widget(widget, name="Segment")
    widget.device_combo.setCurrentText("cpu")
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(int(TICK_S * 1000))
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    qtbot.wait(200)  # the timer runs before the work starts
    # Earlier tests in this process leave napari objects behind; a full garbage collection
    # walking them landed in the run once (275-500 ms, measured with gc.callbacks; the test
    # alone passes). Collect now, so the gaps measured are the plugin's own.
    gc.collect()

    # "while segmentation runs": from the click until the result reaches the Qt thread
    arrived: list[float] = []
    show_result = widget._show_result
    widget._show_result = lambda result: (arrived.append(time.perf_counter()), show_result(result))
    started = time.perf_counter()
    widget.run()
    qtbot.waitUntil(lambda: widget.result is not None, timeout=180000)
    finished = arrived[0]
    qtbot.wait(50)
    timer.stop()

    during = [t for t in ticks if started <= t <= finished]
    # the loop kept ticking through the whole run: many ticks, and no gap longer than the limit
    assert finished - started > 1.0, "segmentation finished too fast to tell anything"
    assert len(during) > (finished - started) / MAX_BLOCK_S
    edges = [started, *during, finished]
    longest = max(b - a for a, b in zip(edges, edges[1:]))
    assert longest <= MAX_BLOCK_S, f"event loop blocked for {longest * 1000:.0f} ms during segmentation"
    assert "vertebrae" in viewer.layers
