"""The Case dock and the reader as a user meets them: series table, opening, saving, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import dicom_factory as factory
from napari_spine_mets._napari.case_widget import CaseWidget
from napari_spine_mets._napari.reader import get_reader

PLUGIN = "napari-spine-mets"


@pytest.fixture
def error_messages(monkeypatch):
    """Messages napari showed as error notifications (the user's view of a failure)."""
    import napari.utils.notifications as notifications

    shown: list[str] = []
    original = notifications.show_error

    def _record(message: str) -> None:
        shown.append(message)
        original(message)

    monkeypatch.setattr(notifications, "show_error", _record)
    return shown


def test_corrupt_series_gives_a_message_and_keeps_what_was_loaded(make_napari_viewer, tmp_path: Path, error_messages) -> None:
    viewer = make_napari_viewer()
    existing = viewer.add_image(np.zeros((4, 8, 8), np.int16), name="already loaded")
    existing.data[1, 2, 3] = 7  # the user's work
    files = factory.write_series(tmp_path, n=5)
    files[2].write_bytes(files[2].read_bytes()[:-60])  # truncated inside the pixel data

    viewer.open(str(tmp_path), plugin=PLUGIN)  # must not raise

    assert [layer.name for layer in viewer.layers] == ["already loaded"]
    assert viewer.layers[0].data[1, 2, 3] == 7
    assert len(error_messages) == 1
    assert files[2].name in error_messages[0] and "Traceback" not in error_messages[0]


def test_reader_declines_what_it_cannot_read(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.txt").write_text("not an image")
    assert get_reader(str(tmp_path / "empty")) is None
    assert get_reader(str(tmp_path / "notes.txt")) is None
    assert get_reader(str(tmp_path / "missing")) is None
    assert get_reader([str(tmp_path), str(tmp_path)]) is None


def test_series_table_open_and_save_case(make_napari_viewer, qtbot, real_ct_series: Path, tmp_path: Path) -> None:
    viewer = make_napari_viewer()
    widget = CaseWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Case")

    widget.scan_folder(real_ct_series)
    qtbot.waitUntil(lambda: widget.series_table.rowCount() == 1, timeout=20000)
    row = [widget.series_table.item(0, c).text() for c in range(widget.series_table.columnCount())]
    assert row[0] == "CT" and row[1] == "CT Body 3.0" and row[2] == "20"
    assert row[6] == "120" and row[7] == "APPLIED"
    assert widget.selected_series_keys()

    widget.open_series(real_ct_series, widget.selected_series_keys())
    qtbot.waitUntil(lambda: len(viewer.layers) == 1, timeout=30000)
    ct = viewer.layers[0]
    assert ct.data.shape == (20, 512, 512)
    viewer.layers.selection.active = ct
    info = widget.info_label.text()
    assert "kVp: 120" in info and "Br38f" in info and "HU caveat" in info  # contrast was applied

    widget.apply_window("soft tissue")
    assert tuple(ct.contrast_limits) == pytest.approx((-160.0, 240.0))

    labels = viewer.add_labels(np.zeros(ct.data.shape, np.uint8), name="my corrections", scale=ct.scale, translate=ct.translate)
    labels.data[10, 200:210, 200:210] = 3  # painted by the user
    folder = tmp_path / "case"
    widget.save_case(folder)
    qtbot.waitUntil(lambda: (folder / "case.json").is_file(), timeout=30000)
    qtbot.waitUntil(lambda: widget.recent_combo.count() == 1, timeout=10000)
    assert widget.recent_combo.currentData() == str(folder.resolve())
    assert "Saved to" in widget.save_state_label.text()

    reopened = make_napari_viewer()
    reopened.open(str(folder), plugin=PLUGIN)
    names = [layer.name for layer in reopened.layers]
    assert set(names) == {ct.name, "my corrections"}
    np.testing.assert_array_equal(reopened.layers[ct.name].data, ct.data)
    np.testing.assert_array_equal(reopened.layers["my corrections"].data, labels.data)
    np.testing.assert_allclose(reopened.layers["my corrections"].translate, ct.translate)
