"""The viewer's one live Case, shared by every dock, autosaved so that no work is lost.

Docks never keep their own copy of the case: they call :func:`session_of(viewer)
<session_of>` and read or change ``session.case``, then call :meth:`CaseSession.commit`
with what changed. ``commit`` records who changed what and when in the case's
provenance, tells the other docks (``session.changed`` carries a topic such as
``"lesions"``, ``"rois"``, ``"clinical"``, ``"labels"``), and saves the case.

Where the case is saved: its folder once the user has saved or opened one; before that a
recovery folder under the user's data directory (``SPINE_METS_AUTOSAVE_DIR`` overrides),
so even an unsaved session survives a crash. Painting marks the case dirty; a timer
saves dirty cases every ``autosave_seconds``. Closing napari with unsaved work asks.
"""

from __future__ import annotations

import getpass
import logging
import os
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from psygnal import Signal

from ..case import Case
from ..volume import LabelMap, Volume
from .layers import METADATA_KEY

if TYPE_CHECKING:
    import napari

__all__ = ["CaseSession", "session_of", "autosave_root", "AUTOSAVE_SECONDS"]

log = logging.getLogger(__name__)

#: Seconds between autosaves while the case has unsaved edits (painting, typing).
AUTOSAVE_SECONDS = 30.0

_SESSIONS: "weakref.WeakKeyDictionary[Any, CaseSession]" = weakref.WeakKeyDictionary()


def autosave_root() -> Path:
    """Where cases without a folder of their own are autosaved (one sub-folder per case id)."""
    override = os.environ.get("SPINE_METS_AUTOSAVE_DIR")
    if override:
        return Path(override)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "napari-spine-mets" / "autosave"


def session_of(viewer: "napari.Viewer") -> "CaseSession":
    """The viewer's session, created on first use (one per viewer).

    Docks added through the plugin manifest get napari's public-only proxy of the viewer;
    the session is keyed on the real viewer so every dock shares the same one.
    """
    viewer = _unwrap(viewer)
    session = _SESSIONS.get(viewer)
    if session is None:
        session = CaseSession(viewer)
        _SESSIONS[viewer] = session
    return session


class CaseSession:
    """The live Case of one viewer: synchronised with its layers, recorded, autosaved."""

    #: Emitted after every commit and save with a topic: "labels", "lesions", "rois",
    #: "clinical", "findings", "case" (a whole case opened) or "saved".
    changed = Signal(str)

    def __init__(self, viewer: "napari.Viewer", autosave_seconds: float = AUTOSAVE_SECONDS) -> None:
        self.viewer = viewer
        self.case = Case()
        #: The case's own folder (None until the user saves or opens one).
        self.folder: Path | None = None
        self.dirty = False
        self.user = _user_name()
        self.last_saved_to: Path | None = None
        from ..editing.history import EditHistory

        #: One undo/redo history of label edits for every dock of this viewer.
        self.history = EditHistory()
        self._saving = False
        self._save_again = False
        #: Asked when napari closes with unsaved work: returns "save", "discard" or "cancel".
        self.ask_unsaved: Callable[[], str] = self._ask_unsaved_dialog
        self._timer = None
        self._autosave_seconds = autosave_seconds
        self._adopt_opened_case()
        viewer.layers.events.inserted.connect(self._on_layer_inserted)
        viewer.layers.events.removed.connect(self._on_layer_removed)
        for layer in viewer.layers:
            self._watch(layer)
        self._install_timer()
        self._install_close_guard()

    # ----------------------------------------------------------------- state
    @property
    def save_folder(self) -> Path:
        """Where the next save goes: the case's folder, else its recovery folder."""
        return self.folder if self.folder is not None else autosave_root() / self.case.case_id

    def sync_from_layers(self) -> Case:
        """Bring the viewer's images and labels (current data, painting included) into the case."""
        volumes: dict[str, Volume] = {}
        label_maps: dict[str, LabelMap] = {}
        for layer in self.viewer.layers:
            entry = layer.metadata.get(METADATA_KEY, {})
            kind = layer._type_string
            if kind == "image" and entry.get("kind") == "volume":
                original: Volume = entry["volume"]
                data = layer.data
                volumes[layer.name] = original if data is original.array else Volume(np.asarray(data), original.affine, original.metadata, layer.name)
            elif kind == "labels" and not entry.get("derived"):
                label_maps[layer.name] = _labels_of_layer(layer, entry.get("labels"))
        self.case.volumes = volumes or self.case.volumes
        self.case.label_maps = label_maps
        return self.case

    def commit(self, what: str, *, topic: str = "case", target: str = "", who: str | None = None,
               save: bool = True) -> None:
        """Record a change made by the user (or a step they ran), tell the docks, autosave."""
        self.case.record_edit(who or self.user, what, target)
        self.dirty = True
        log.info("case change (%s): %s", topic, what)
        self.changed.emit(topic)
        if save:
            self.save()

    def mark_dirty(self) -> None:
        """Note an unsaved edit (e.g. painting) without saving yet; the timer saves it."""
        self.dirty = True

    # ----------------------------------------------------------------- open / save
    def adopt(self, case: Case, folder: Path | None) -> None:
        """Make an opened case the live one (its folder becomes where it saves)."""
        self.case = case
        self.folder = Path(folder) if folder is not None else None
        self.dirty = False
        if self.folder is not None:
            from ..recent_cases import remember_case

            remember_case(self.folder)
        self.changed.emit("case")

    def save(self, folder: Path | None = None, *, background: bool = True) -> Any:
        """Save the case (atomic writes) to ``folder``, its own folder, or its recovery folder.

        A save asked for while one is running is done once that one ends. Returns the
        worker when saving in the background, else the folder written.
        """
        if folder is not None:
            self.folder = Path(folder)
        if self._saving:
            self._save_again = True
            return None
        self.sync_from_layers()
        case = _records_copy(self.case)
        target = self.save_folder
        if not background:
            return self._write(case, target)
        from .workers import run_in_background

        self._saving = True
        return run_in_background(lambda: self._write(case, target), self._saved, description="Saving case",
                                 on_error=self._save_failed)

    def _write(self, case: Case, target: Path) -> Path:
        from ..case_store import save_case

        # Label arrays are copied here, off the Qt thread: a stroke painted meanwhile may be
        # saved half-way, and the next autosave (the case is dirty again) completes it.
        return save_case(_arrays_copy(case), target)

    def _saved(self, path: Path) -> None:
        self._saving = False
        self.last_saved_to = Path(path)
        if self.folder is not None:
            from ..recent_cases import remember_case

            remember_case(self.folder)
        self.dirty = self._save_again
        self.changed.emit("saved")
        if self._save_again:
            self._save_again = False
            self.save()

    def _save_failed(self, message: str) -> None:
        self._saving = False
        self._save_again = False
        log.error("autosave failed: %s", message)

    def autosave_if_dirty(self) -> None:
        if self.dirty and not self._saving and self.has_content():
            self.save()

    def has_content(self) -> bool:
        return any(layer.metadata.get(METADATA_KEY, {}).get("kind") == "volume" for layer in self.viewer.layers)

    # ----------------------------------------------------------------- layers
    def _adopt_opened_case(self) -> None:
        for layer in self.viewer.layers:
            entry = layer.metadata.get(METADATA_KEY, {})
            if entry.get("case") is not None:
                self.adopt(entry["case"], entry.get("case_folder"))
                return

    def _on_layer_inserted(self, event: Any) -> None:
        layer = event.value
        entry = layer.metadata.get(METADATA_KEY, {})
        if entry.get("case") is not None and entry["case"] is not self.case:
            self.adopt(entry["case"], entry.get("case_folder"))
        self._watch(layer)

    def _on_layer_removed(self, event: Any) -> None:
        if event.value._type_string == "labels" and event.value.name in self.case.label_maps:
            self.mark_dirty()

    def _watch(self, layer: Any) -> None:
        if layer._type_string == "labels" and hasattr(layer.events, "paint"):
            layer.events.paint.connect(lambda event: self.mark_dirty())

    # ----------------------------------------------------------------- Qt parts
    def _install_timer(self) -> None:
        from qtpy.QtCore import QTimer

        self._timer = QTimer(self._qt_window())
        self._timer.setInterval(int(self._autosave_seconds * 1000))
        self._timer.timeout.connect(self.autosave_if_dirty)
        self._timer.start()

    def _qt_window(self) -> Any:
        return getattr(getattr(self.viewer, "window", None), "_qt_window", None)

    def set_autosave_interval(self, seconds: float) -> None:
        self._autosave_seconds = seconds
        if self._timer is not None:
            self._timer.setInterval(int(seconds * 1000))

    def _install_close_guard(self) -> None:
        window = self._qt_window()
        if window is None:
            return
        from qtpy.QtCore import QEvent, QObject

        session = self

        class _CloseGuard(QObject):
            def eventFilter(self, obj: Any, event: Any) -> bool:  # noqa: N802 (Qt name)
                if event.type() == QEvent.Type.Close:
                    if not session.may_close():
                        event.ignore()
                        return True
                    session.close()
                return False

        self._close_guard = _CloseGuard(window)
        window.installEventFilter(self._close_guard)

    def close(self, wait_s: float = 60.0) -> None:
        """The viewer is closing: stop autosaving, cancel long work, let saves and workers finish.

        A background worker finishing after its widgets are gone would take the whole
        application down (Qt aborts on errors in deleted objects), so close waits for them.
        """
        import time

        from qtpy.QtWidgets import QApplication
        from superqt.utils._qthreading import WorkerBase

        from ..offload import cancel_all

        if self._timer is not None:
            self._timer.stop()
        cancel_all()
        deadline = time.monotonic() + wait_s

        def busy() -> bool:
            return self._saving or any(w.is_running for w in list(WorkerBase._worker_set))

        while busy() and time.monotonic() < deadline:
            QApplication.processEvents()
            time.sleep(0.01)
        if busy():
            log.warning("closing while background work is still running")

    def may_close(self) -> bool:
        """Ask what to do with unsaved work; False keeps napari open."""
        if not self.dirty or not self.has_content():
            return True
        answer = self.ask_unsaved()
        if answer == "save":
            self.save(background=False)
            self.dirty = False
            return True
        return answer == "discard"

    def _ask_unsaved_dialog(self) -> str:
        from qtpy.QtWidgets import QMessageBox

        buttons = QMessageBox.StandardButton
        reply = QMessageBox.question(
            self._qt_window(),
            "Unsaved changes",
            f"The case has changes not yet saved.\nSave them to {self.save_folder} before closing?",
            buttons.Save | buttons.Discard | buttons.Cancel,
            buttons.Save,
        )
        return {buttons.Save: "save", buttons.Discard: "discard"}.get(reply, "cancel")


def _unwrap(obj: Any) -> Any:
    while hasattr(obj, "__wrapped__"):
        obj = obj.__wrapped__
    return obj


def _labels_of_layer(layer: Any, original: LabelMap | None) -> LabelMap:
    from ..io.geometry import affine_from_napari

    affine = original.affine if original is not None else affine_from_napari(layer.scale, layer.translate)
    names = dict(original.names) if original is not None else {}
    source = original.source if original is not None else "drawn in napari"
    return LabelMap(np.asarray(layer.data), affine, names=names, name=layer.name, source=source)


def _records_copy(case: Case) -> Case:
    """A copy of the case whose records (lesions, ROIs, entries...) later edits do not change."""
    import copy

    frozen = copy.copy(case)
    frozen.label_maps = dict(case.label_maps)
    frozen.volumes = dict(case.volumes)
    for attr in ("lesions", "rois", "clinical", "findings", "provenance"):
        setattr(frozen, attr, copy.deepcopy(getattr(case, attr)))
    return frozen


def _arrays_copy(case: Case) -> Case:
    """The same case with private copies of the label arrays (the user keeps painting the originals)."""
    case.label_maps = {
        name: LabelMap(np.array(lm.array, copy=True), lm.affine, names=dict(lm.names), name=lm.name, source=lm.source)
        for name, lm in case.label_maps.items()
    }
    return case


def _user_name() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (containers): still record something honest
        return "unknown user"
