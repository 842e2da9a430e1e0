"""The live Case of a viewer: recorded changes, autosave, and the question on closing."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from napari_spine_mets._napari.session import session_of
from napari_spine_mets.case_store import load_case

PLUGIN = "napari-spine-mets"


def _open_sample(make_napari_viewer):
    viewer = make_napari_viewer()
    viewer.open_sample(PLUGIN, "synthetic_spine_ct")
    return viewer


def test_commit_records_the_change_and_autosaves(make_napari_viewer, qtbot, _autosave_in_tmp: Path) -> None:
    viewer = _open_sample(make_napari_viewer)
    session = session_of(viewer)
    assert session_of(viewer) is session
    from napari.utils._proxies import PublicOnlyProxy

    assert session_of(PublicOnlyProxy(viewer)) is session  # docks from the manifest get a proxy
    session.case.clinical.age_years = 61
    topics: list[str] = []
    session.changed.connect(topics.append)

    session.commit("age entered", topic="clinical", target="clinical.age_years", who="dr test")

    qtbot.waitUntil(lambda: "saved" in topics, timeout=30000)
    assert topics[0] == "clinical"
    folder = _autosave_in_tmp / session.case.case_id
    reopened = load_case(folder)
    assert reopened.clinical.age_years == 61
    assert reopened.provenance.edits[-1].who == "dr test"
    assert reopened.provenance.edits[-1].what == "age entered"
    assert set(reopened.volumes) == {layer.name for layer in viewer.layers if layer._type_string == "image"}
    assert not session.dirty


def test_painting_is_saved_by_the_timer(make_napari_viewer, qtbot, _autosave_in_tmp: Path) -> None:
    viewer = _open_sample(make_napari_viewer)
    session = session_of(viewer)
    labels = next(layer for layer in viewer.layers if layer._type_string == "labels")
    session.set_autosave_interval(0.2)
    labels.selected_label = 7
    labels.paint((10, 20, 20), 7)  # what the brush does; fires the paint event
    assert session.dirty

    qtbot.waitUntil(lambda: session.last_saved_to is not None and not session.dirty, timeout=30000)
    saved = load_case(_autosave_in_tmp / session.case.case_id).label_maps[labels.name]
    assert saved.array[10, 20, 20] == 7
    assert np.array_equal(saved.array, labels.data)


def test_closing_with_unsaved_work_asks_and_can_stay_open(make_napari_viewer, _autosave_in_tmp: Path) -> None:
    viewer = _open_sample(make_napari_viewer)
    session = session_of(viewer)
    asked: list[int] = []
    session.ask_unsaved = lambda: asked.append(1) or "cancel"
    assert session.may_close()  # nothing changed yet: no question
    session.mark_dirty()
    assert not session.may_close() and asked == [1]

    session.ask_unsaved = lambda: "save"
    assert session.may_close()
    assert (_autosave_in_tmp / session.case.case_id / "case.json").is_file()
    assert not session.dirty
