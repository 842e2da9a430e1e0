"""Open napari with a spine case and the plugin's docks: the README's main command.

``python -m napari_spine_mets._napari.launch [PATH] [--screenshot FILE]``: without PATH
the synthetic sample case is opened. ``--screenshot`` saves the whole window once
everything is shown and exits (how the project checks what a user sees).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

PLUGIN = "napari-spine-mets"
SAMPLE = "synthetic_spine_ct"
#: The workflow, in order: one tab each in the right dock area (the first is shown).
DOCKS = ("Case", "Segment", "Lesions", "Measure", "Scores", "Report", "Correct labels", "Overlays")


def open_viewer(path: Path | None = None, *, show: bool = True):  # -> napari.Viewer
    """A viewer with ``path`` (or the sample case) and every dock of the plugin."""
    import napari

    viewer = napari.Viewer(title="napari-spine-mets", show=show)
    viewer.window._qt_window.resize(1500, 950)  # room for the docks beside the image
    if path is None:
        viewer.open_sample(PLUGIN, SAMPLE)
    else:
        viewer.open(str(path), plugin=PLUGIN)
    docks = [viewer.window.add_plugin_dock_widget(PLUGIN, dock, tabify=i > 0)[0] for i, dock in enumerate(DOCKS)]
    from qtpy.QtCore import Qt, QTimer

    window = viewer.window._qt_window
    window.resizeDocks(docks, [520] * len(docks), Qt.Orientation.Horizontal)  # the image keeps most of the width
    QTimer.singleShot(0, docks[0].raise_)  # start at the first step, once the tabs exist
    images = [layer for layer in viewer.layers if layer._type_string == "image"]
    if images:
        viewer.layers.selection.active = images[0]
        # start mid-volume, where the case is, not on the first slice
        viewer.dims.set_point(0, float(sum(images[0].extent.world[:, 0]) / 2.0))
    viewer.reset_view()
    return viewer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", type=Path, help="DICOM folder, NIfTI/NRRD file or case folder")
    parser.add_argument("--screenshot", type=Path, help="save a screenshot of the window and exit")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    import napari

    viewer = open_viewer(args.path)
    if args.screenshot is not None:
        from qtpy.QtWidgets import QApplication

        for _ in range(40):
            QApplication.processEvents()
        args.screenshot.parent.mkdir(parents=True, exist_ok=True)
        viewer.screenshot(str(args.screenshot), canvas_only=False)
        viewer.close()
        return 0
    napari.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
