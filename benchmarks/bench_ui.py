"""Benchmark: what the plugin costs napari at start-up, and "Segment" to labels on screen.

Run ``xvfb-run -a python benchmarks/bench_ui.py [--repeats 5]`` (a display is needed).
Writes ``benchmarks/results/bench_ui.json``.

1. Start-up, side by side in one run, each sample a fresh Python process, alternating:
   *napari alone* (import napari, create and show a viewer, let Qt draw) against *napari
   with the plugin* (the same, then every dock of the plugin added, as the README's main
   command does). The difference of the medians is what the plugin adds (goal < 0.5 s).
   Opening the sample case is timed apart (it generates a synthetic CT).
2. Segment to labels shown: on the sample case, the Segment dock's run with the shipped
   network (CPU) until the vertebra labels layer is in the viewer and drawn; the first run
   (worker process start, torch import, model load) is reported apart from later runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, write_results  # noqa: E402

_STARTUP = r"""
import json, sys, time
t0 = time.perf_counter()
import napari
from qtpy.QtWidgets import QApplication
viewer = napari.Viewer(show=True)
for _ in range(10):
    QApplication.processEvents()
t_viewer = time.perf_counter()
t_docks = t_sample = t_viewer
if sys.argv[1] == "plugin":
    from napari_spine_mets._napari.launch import PLUGIN, add_docks
    add_docks(viewer)  # as the main command does: tabs, the first in front
    for _ in range(10):
        QApplication.processEvents()
    t_docks = time.perf_counter()
    viewer.open_sample(PLUGIN, "synthetic_spine_ct")
    for _ in range(10):
        QApplication.processEvents()
    t_sample = time.perf_counter()
print(json.dumps({"viewer_s": t_viewer - t0, "docks_s": t_docks - t_viewer, "sample_s": t_sample - t_docks}))
viewer.close()
"""


def startup_sample(mode: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", _STARTUP, mode], capture_output=True, text=True, check=True, timeout=600)
    return json.loads(out.stdout.strip().splitlines()[-1])


def segment_to_labels(repeats: int) -> dict[str, object]:
    import napari
    from qtpy.QtWidgets import QApplication

    from napari_spine_mets._napari.segment_widget import SegmentWidget

    viewer = napari.Viewer(show=True)
    viewer.open_sample("napari-spine-mets", "synthetic_spine_ct")
    widget = SegmentWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Segment")
    widget.device_combo.setCurrentText("cpu")
    app = QApplication.instance()
    times = []
    for _ in range(repeats + 1):
        if "vertebrae" in viewer.layers:
            viewer.layers.remove("vertebrae")
        widget.result = None
        started = time.perf_counter()
        widget.run()
        while widget.result is None or "vertebrae" not in viewer.layers:
            app.processEvents()
            time.sleep(0.005)
        for _ in range(5):  # let the canvas draw the new layer
            app.processEvents()
        times.append(time.perf_counter() - started)
    shape = viewer.layers[0].data.shape
    device = widget.result.provenance["device"]
    viewer.close()
    return {"first_s": times[0], "median_later_s": statistics.median(times[1:]), "later_s": times[1:],
            "sample_shape": list(shape), "device": device}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    startup_sample("bare")  # warm the file cache before timing either
    bare, plugin = [], []
    for _ in range(args.repeats):
        bare.append(startup_sample("bare"))
        plugin.append(startup_sample("plugin"))
    bare_s = statistics.median(s["viewer_s"] for s in bare)
    with_viewer_s = statistics.median(s["viewer_s"] for s in plugin)
    docks_s = statistics.median(s["docks_s"] for s in plugin)
    startup = {
        "napari_alone_s": bare_s,
        "napari_with_plugin_s": with_viewer_s + docks_s,
        "plugin_adds_s": with_viewer_s + docks_s - bare_s,
        "docks_s": docks_s,
        "open_sample_case_s": statistics.median(s["sample_s"] for s in plugin),
        "goal_plugin_adds_s": 0.5,
        "samples": {"bare": bare, "plugin": plugin},
    }
    segment = segment_to_labels(max(1, args.repeats // 2))
    results = {"startup": startup, "segment_to_labels": segment, "machine": machine_info()}
    path = write_results("bench_ui", results)
    print(f"napari alone {bare_s:.2f} s; with the plugin's docks {startup['napari_with_plugin_s']:.2f} s "
          f"(+{startup['plugin_adds_s']:.2f} s, goal < 0.5 s); sample case {startup['open_sample_case_s']:.2f} s")
    print(f"Segment -> labels shown on the sample {segment['sample_shape']} ({segment['device']}): first "
          f"{segment['first_s']:.1f} s, then {segment['median_later_s']:.1f} s")
    print(f"written {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
