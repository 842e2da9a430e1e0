"""Open napari with a spine case and the plugin's docks: the README's main command.

``python -m napari_spine_mets._napari.launch [PATH] [--screenshot FILE]``: without PATH
the synthetic sample case is opened. ``--screenshot`` saves the whole window once
everything is shown and exits (how the project checks what a user sees).
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PLUGIN = "napari-spine-mets"
SAMPLE = "synthetic_spine_ct"
#: The workflow, in order: one tab each in the right dock area (the first is shown).
#: What the segmentation worker process imports ahead of the first run.
SEGMENTATION_MODULES = ("napari_spine_mets.segmentation.warm",)
DOCKS = ("Case", "Segment", "Lesions", "Measure", "Scores", "Report", "Correct labels", "Overlays")


#: Delay before the segmentation worker process is started in the background.
WARM_UP_AFTER_MS = 1500


def _warm_up_segmentation() -> None:
    from ..offload import warm_up

    warm_up(SEGMENTATION_MODULES)


@contextmanager
def _napari_settings_saved_once() -> Iterator[None]:
    """napari rewrites its settings file each time a dock lands in an area (15 writes for
    eight tabs, about 0.5 s): hold the writes while the docks are added, then write once."""
    try:
        from napari.settings import get_settings

        settings = get_settings()
        saving = settings._save_on_change
    except (ImportError, AttributeError):  # another napari version: no shortcut, same result
        yield
        return
    settings._save_on_change = False
    try:
        yield
    finally:
        settings._save_on_change = saving
        settings._maybe_save()


def open_viewer(path: Path | None = None, *, show: bool = True):  # -> napari.Viewer
    """A viewer with ``path`` (or the sample case) and every dock of the plugin."""
    import napari

    return fill_viewer(napari.Viewer(title="napari-spine-mets", show=show), path)


def fill_viewer(viewer, path: Path | None = None):  # (napari.Viewer, Path | None) -> napari.Viewer
    """Open ``path`` (or the sample case) in ``viewer`` and add the plugin's docks."""
    viewer.window._qt_window.resize(1500, 950)  # room for the docks beside the image
    if path is None:
        viewer.open_sample(PLUGIN, SAMPLE)
    else:
        viewer.open(str(path), plugin=PLUGIN)
    add_docks(viewer)
    images = [layer for layer in viewer.layers if layer._type_string == "image"]
    if images:
        viewer.layers.selection.active = images[0]
        # start mid-volume, where the case is, not on the first slice
        viewer.dims.set_point(0, float(sum(images[0].extent.world[:, 0]) / 2.0))
    viewer.reset_view()
    return viewer


def add_docks(viewer) -> list:  # (napari.Viewer) -> list[QDockWidget]
    """Every dock of the workflow as a tab in the right area, the first in front.

    Only the dock in front (and the light Correct labels dock, which owns Ctrl+Z) is built
    now; the others build when their tab is first shown (``lazy_dock``).
    """
    from qtpy.QtCore import Qt, QTimer

    with _napari_settings_saved_once():
        docks = [viewer.window.add_plugin_dock_widget(PLUGIN, dock, tabify=i > 0)[0] for i, dock in enumerate(DOCKS)]
    window = viewer.window._qt_window
    window.resizeDocks(docks, [520] * len(docks), Qt.Orientation.Horizontal)  # the image keeps most of the width
    docks[0].raise_()  # the other tabs are behind now, so their lazy bodies are not built
    QTimer.singleShot(0, docks[0].raise_)  # and again once the tab bar exists
    # The Segment tab is built when first shown; its worker process (torch imported) starts
    # once the window is up, so the first "Segment" starts at once without slowing start-up.
    QTimer.singleShot(WARM_UP_AFTER_MS, _warm_up_segmentation)
    return docks


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
