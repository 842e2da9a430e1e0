"""While the network segments, napari stays responsive: the Qt event loop is never blocked > 200 ms."""

from __future__ import annotations

import gc
import time

from napari_spine_mets._napari.segment_widget import SegmentWidget

PLUGIN = "napari-spine-mets"
MAX_BLOCK_S = 0.200
TICK_S = 0.010


def _watch_collections(out: list[tuple[int, float]]) -> None:
    """Record each garbage collection's generation and duration (removed at the end of the test)."""
    started: dict[str, float] = {}

    def callback(phase: str, info: dict) -> None:
        if phase == "start":
            started["t"] = time.perf_counter()
        elif "t" in started:
            out.append((int(info["generation"]), round((time.perf_counter() - started["t"]) * 1000, 1)))

    gc.callbacks.append(callback)
    _WATCHERS.append(callback)


_WATCHERS: list = []


def teardown_function() -> None:
    while _WATCHERS:
        gc.callbacks.remove(_WATCHERS.pop())


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
    collections: list[tuple[int, float]] = []  # (generation, ms) of each collection during the run
    _watch_collections(collections)

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
    gaps = sorted(((b - a, a - started) for a, b in zip(edges, edges[1:])), reverse=True)
    longest = gaps[0][0]
    # where the gaps fell and what the collector did, so a failure says what to look at
    assert longest <= MAX_BLOCK_S, (
        f"event loop blocked for {longest * 1000:.0f} ms during segmentation ({finished - started:.1f} s); "
        f"longest gaps (ms, s after the click): {[(round(g * 1000), round(at, 2)) for g, at in gaps[:4]]}; "
        f"collections over 20 ms (generation, ms): {[c for c in collections if c[1] > 20]}")
    assert "vertebrae" in viewer.layers
