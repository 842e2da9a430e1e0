"""Docks whose body is built the first time they are shown.

The main command opens eight docks as tabs, but a user looks at one at a time. Building
every dock's widgets, and letting Qt lay them all out, cost about 2 s at start-up; a
lazy dock is an empty frame until its tab is first shown (or code asks for one of the
body's attributes), so only the dock in front is built when napari opens.

The manifest names the small classes below; each imports its real widget module only
when the body is built, so nothing of the plugin's heavy modules is imported at start.
Attributes the frame does not have are looked up on the body (building it if needed),
and public attributes set on the frame are set on the body, so ``dock.widget().run()``
works whether the tab was ever shown or not.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any, ClassVar

from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QSizePolicy, QVBoxLayout, QWidget

if TYPE_CHECKING:
    import napari
    from qtpy.QtGui import QPaintEvent

__all__ = ["LazyDock", "SegmentDock", "LesionsDock", "MeasureDock", "ScoresDock", "ReportDock", "OverlaysDock"]

log = logging.getLogger(__name__)

#: Attributes napari looks for on any dock widget (``hasattr``): answering them must not build the body.
_PROBED_BY_NAPARI = frozenset({"reset_choices", "native"})


_EXPANDING = (QSizePolicy.Policy.Expanding, QSizePolicy.Policy.MinimumExpanding, QSizePolicy.Policy.Ignored)


def _wants_height(widget: QWidget) -> bool:
    """napari's rule: a dock whose widget (or a child in its layout) expands gets no stretch."""
    if widget.sizePolicy().verticalPolicy() in _EXPANDING:
        return True
    layout = widget.layout()
    children = (layout.itemAt(i).widget() for i in range(layout.count())) if layout is not None else ()
    return any(child is not None and child.sizePolicy().verticalPolicy() in _EXPANDING for child in children)


class LazyDock(QWidget):
    """An empty frame that builds ``body_class`` (``"module:Class"``) when first seen or used."""

    body_class: ClassVar[str] = ""

    def __init__(self, napari_viewer: "napari.Viewer") -> None:
        super().__init__()
        self._viewer = napari_viewer
        self._body: QWidget | None = None
        self._build_pending = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        # Expanding: napari adds no stretch to the empty frame; the body gets one if it needs it
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)

    @property
    def body(self) -> QWidget:
        """The real dock widget, built now if it was not yet."""
        if self._body is None:
            module_name, class_name = self.body_class.split(":")
            widget_class = getattr(importlib.import_module(module_name), class_name)
            log.debug("building the %s dock", class_name)
            self._body = widget_class(self._viewer)
            self.layout().addWidget(self._body)
            if not _wants_height(self._body):  # as napari does for a dock built at once
                self.layout().addStretch(1)
        return self._body

    @property
    def built(self) -> bool:
        return self._body is not None

    def paintEvent(self, event: "QPaintEvent") -> None:  # noqa: N802 (Qt's name)
        # The first paint is when the user can see the tab. (Show events do not tell:
        # napari shows every dock as it is added, and Qt keeps the tabs behind "visible".)
        # Build after this paint rather than inside it.
        super().paintEvent(event)
        if self._body is None and not self._build_pending:
            self._build_pending = True
            QTimer.singleShot(0, self._build_now)

    def _build_now(self) -> None:
        self._build_pending = False
        if not self.visibleRegion().isEmpty():  # still in front (not a tab napari showed in passing)
            self.body  # noqa: B018 (building is the point)

    def __setattr__(self, name: str, value: Any) -> None:
        # the frame's own state is private; anything public (a test's stand-in for a file
        # dialog, a script's setting) belongs to the body
        if name.startswith("_"):
            super().__setattr__(name, value)
        else:
            setattr(self.body, name, value)

    def __getattr__(self, name: str) -> Any:
        # only reached when the frame itself has no such attribute
        if name.startswith("_") or (name in _PROBED_BY_NAPARI and self._body is None):
            raise AttributeError(name)
        return getattr(self.body, name)


class SegmentDock(LazyDock):
    body_class = "napari_spine_mets._napari.segment_widget:SegmentWidget"


class LesionsDock(LazyDock):
    body_class = "napari_spine_mets._napari.lesion_widget:LesionWidget"


class MeasureDock(LazyDock):
    body_class = "napari_spine_mets._napari.measure_widget:MeasureWidget"


class ScoresDock(LazyDock):
    body_class = "napari_spine_mets._napari.scores_widget:ScoresWidget"


class ReportDock(LazyDock):
    body_class = "napari_spine_mets._napari.report_widget:ReportWidget"


class OverlaysDock(LazyDock):
    """Built as soon as the viewer holds labels, shown or not: the vertebra colours, level
    texts and legend belong on the image whether or not the Overlays tab was opened."""

    body_class = "napari_spine_mets._napari.overlay_widget:OverlayWidget"

    def __init__(self, napari_viewer: "napari.Viewer") -> None:
        super().__init__(napari_viewer)
        napari_viewer.layers.events.inserted.connect(self._on_layer_inserted)
        if any(layer._type_string == "labels" for layer in napari_viewer.layers):
            QTimer.singleShot(0, self._build_for_labels)  # after the window is up

    def _on_layer_inserted(self, event: Any) -> None:
        if self._body is None and getattr(event.value, "_type_string", "") == "labels":
            QTimer.singleShot(0, self._build_for_labels)  # once the layer is fully in

    def _build_for_labels(self) -> None:
        if self._body is None:
            self.body  # noqa: B018 (building is the point)
            self._viewer.layers.events.inserted.disconnect(self._on_layer_inserted)
