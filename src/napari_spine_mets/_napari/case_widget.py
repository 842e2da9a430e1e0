"""The Case dock: open scans and cases, see what was loaded and its caveats, save the case.

Opening a DICOM folder first lists its series (modality, description, slices, spacing,
orientation, kVp, contrast, problems, skipped files) so the user chooses which to load,
e.g. T1 + T2 + STIR of one study. All reading runs in background workers.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qtpy.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..display import DECISION_SUPPORT_NOTICE, WINDOW_PRESETS, contrast_limits, hu_caveats
from .layers import METADATA_KEY, image_layer_data
from .workers import run_in_background

if TYPE_CHECKING:
    import napari

    from ..io.dicom_scan import DicomScan
    from ..volume import Volume

__all__ = ["CaseWidget"]

log = logging.getLogger(__name__)

_SERIES_COLUMNS = ("Modality", "Description", "Slices", "Shape", "Spacing (mm)", "Orientation", "kVp", "Contrast", "Problems")


class CaseWidget(QWidget):
    """Dock widget for loading scans and cases and showing their metadata."""

    def __init__(self, napari_viewer: "napari.Viewer") -> None:
        super().__init__()
        self.viewer = napari_viewer
        self._scan: DicomScan | None = None
        self._scan_folder: Path | None = None
        self._build()
        self.viewer.layers.selection.events.active.connect(self._show_active_layer)
        self._show_active_layer()
        from .session import session_of

        self.session = session_of(self.viewer)
        self.session.changed.connect(self._on_case_changed)
        self._refresh_recent()

    # ----------------------------------------------------------------- layout
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        notice = QLabel(DECISION_SUPPORT_NOTICE)
        notice.setWordWrap(True)
        notice.setObjectName("decisionSupportNotice")
        layout.addWidget(notice)

        buttons = QGridLayout()
        self.open_dicom_button = QPushButton("Open DICOM folder…")
        self.open_file_button = QPushButton("Open NIfTI / NRRD…")
        self.open_case_button = QPushButton("Open case…")
        self.save_case_button = QPushButton("Save case…")
        for i, button in enumerate((self.open_dicom_button, self.open_file_button, self.open_case_button, self.save_case_button)):
            buttons.addWidget(button, i // 2, i % 2)
        self.open_dicom_button.clicked.connect(self._choose_dicom_folder)
        self.open_file_button.clicked.connect(self._choose_file)
        self.open_case_button.clicked.connect(self._choose_case)
        self.save_case_button.clicked.connect(self._choose_save_folder)
        self.save_case_button.setToolTip("Save everything (images, labels, lesions, ROIs, entries, scores) as a case "
                                         "folder; from then on every change is autosaved there.")
        layout.addLayout(buttons)

        recent_row = QHBoxLayout()
        recent_row.addWidget(QLabel("Recent:"))
        self.recent_combo = QComboBox()
        self.recent_combo.setToolTip("Case folders opened or saved recently (newest first)")
        recent_row.addWidget(self.recent_combo, 1)
        self.open_recent_button = QPushButton("Open")
        self.open_recent_button.clicked.connect(self.open_recent)
        recent_row.addWidget(self.open_recent_button)
        layout.addLayout(recent_row)
        self.save_state_label = QLabel("")
        self.save_state_label.setObjectName("saveState")
        self.save_state_label.setWordWrap(True)
        layout.addWidget(self.save_state_label)

        self.series_table = QTableWidget(0, len(_SERIES_COLUMNS))
        self.series_table.setHorizontalHeaderLabels(_SERIES_COLUMNS)
        self.series_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.series_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.series_table.setVisible(False)
        layout.addWidget(self.series_table)
        self.skipped_label = QLabel("")
        self.skipped_label.setWordWrap(True)
        layout.addWidget(self.skipped_label)
        self.open_series_button = QPushButton("Open selected series")
        self.open_series_button.setVisible(False)
        self.open_series_button.clicked.connect(self._open_selected_series)
        layout.addWidget(self.open_series_button)

        window_row = QHBoxLayout()
        window_row.addWidget(QLabel("CT window:"))
        self.window_combo = QComboBox()
        self.window_combo.addItems(list(WINDOW_PRESETS))
        self.window_combo.currentTextChanged.connect(self.apply_window)
        window_row.addWidget(self.window_combo)
        layout.addLayout(window_row)

        self.info_label = QLabel("")
        self.info_label.setWordWrap(True)
        self.info_label.setObjectName("volumeInfo")
        layout.addWidget(self.info_label)
        layout.addStretch(1)

    # ----------------------------------------------------------------- opening
    def _choose_dicom_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "DICOM folder")
        if folder:
            self.scan_folder(Path(folder))

    def _choose_file(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Image file", "", "Images (*.nii *.nii.gz *.nrrd *.nhdr)")
        if name:
            self.viewer.open(name, plugin="napari-spine-mets")

    def _choose_case(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Case folder")
        if folder:
            self.viewer.open(folder, plugin="napari-spine-mets")

    def scan_folder(self, folder: Path) -> Any:
        """List the series under ``folder`` (in the background) so the user can choose."""
        from ..io.dicom_scan import scan_dicom

        return run_in_background(
            lambda: scan_dicom(folder),
            lambda scan: self._show_scan(folder, scan),
            description=f"Scanning {folder.name}",
        )

    def _show_scan(self, folder: Path, scan: "DicomScan") -> None:
        self._scan, self._scan_folder = scan, folder
        table = self.series_table
        table.setRowCount(len(scan.series))
        for row, info in enumerate(scan.series):
            data = info.to_json()
            values = (
                data.get("modality", ""),
                data.get("series_description", ""),
                str(data.get("n_slices", "")),
                " × ".join(str(v) for v in data.get("shape", ())),
                " × ".join(f"{float(v):.3g}" for v in data.get("spacing", ())),
                str(data.get("orientation", "")),
                "" if data.get("kvp") is None else f"{float(data['kvp']):g}",
                str(data.get("contrast_agent", "") or ""),
                "; ".join(data.get("problems", []) or []),
            )
            for column, value in enumerate(values):
                table.setItem(row, column, QTableWidgetItem(value))
        table.resizeColumnsToContents()
        table.setVisible(True)
        self.open_series_button.setVisible(bool(scan.series))
        if scan.series:
            table.selectRow(0)
        skipped = len(scan.skipped)
        self.skipped_label.setText(
            f"{len(scan.series)} series found in {folder}; {skipped} file(s) skipped"
            + (": " + "; ".join(f"{s.path.name}: {s.reason}" for s in scan.skipped[:5]) if skipped else "")
        )

    def selected_series_keys(self) -> list[str]:
        if self._scan is None:
            return []
        rows = sorted({index.row() for index in self.series_table.selectionModel().selectedRows()})
        return [self._scan.series[r].key for r in rows]

    def _open_selected_series(self) -> None:
        if self._scan_folder is not None:
            self.open_series(self._scan_folder, self.selected_series_keys())

    def open_series(self, folder: Path, keys: list[str]) -> Any:
        """Read the chosen series in the background and add one image layer each."""
        from ..io.dicom import read_dicom_series

        def read_all() -> list["Volume"]:
            return [read_dicom_series(folder, series=key) for key in keys]

        return run_in_background(read_all, self._add_volumes, description=f"Reading {len(keys)} series")

    def _add_volumes(self, volumes: list["Volume"]) -> None:
        for index, volume in enumerate(volumes):
            data, kwargs, _ = image_layer_data(volume, visible=index == 0)
            self.viewer.add_image(data, **kwargs)

    # ----------------------------------------------------------------- saving
    def _choose_save_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Save case into folder")
        if folder:
            self.save_case(Path(folder))

    def save_case(self, folder: Path) -> Any:
        """Save the live case (every layer's current data, lesions, ROIs, entries) into ``folder``.

        The folder becomes the case's own: later changes are autosaved there.
        """
        self.session.commit(f"case saved to {folder}", topic="case-folder", target=str(folder), save=False)
        return self.session.save(Path(folder))

    def open_recent(self) -> None:
        """Open the case folder chosen in the recent list."""
        folder = self.recent_combo.currentData()
        if folder:
            self.viewer.open(str(folder), plugin="napari-spine-mets")

    def _refresh_recent(self) -> None:
        from ..recent_cases import recent_cases

        self.recent_combo.clear()
        for folder in recent_cases():
            self.recent_combo.addItem(folder.name or str(folder), str(folder))
            self.recent_combo.setItemData(self.recent_combo.count() - 1, str(folder), 3)  # tooltip role
        self.open_recent_button.setEnabled(self.recent_combo.count() > 0)

    def _on_case_changed(self, topic: str) -> None:
        if topic == "saved":
            where = self.session.last_saved_to
            own = self.session.folder is not None
            self.save_state_label.setText(
                f"Saved to {where.parent if where and where.name == 'case.json' else where}"
                + ("" if own else " (recovery folder: use Save case… to choose where it lives)"))
            if own:
                self.info_label.setText(f"Case saved to {where}")
                self._refresh_recent()
        elif topic == "case":
            self._refresh_recent()
        else:
            self.save_state_label.setText("Unsaved changes (autosaving)…")

    # ----------------------------------------------------------------- display
    def apply_window(self, preset: str) -> None:
        """Apply a CT window preset to the selected (or every) CT image layer."""
        low_high = contrast_limits(preset)
        for layer in self._ct_layers():
            layer.contrast_limits = low_high

    def _ct_layers(self) -> list[Any]:
        selected = [layer for layer in self.viewer.layers.selection if _volume_of(layer) is not None]
        candidates = selected or [layer for layer in self.viewer.layers if _volume_of(layer) is not None]
        return [layer for layer in candidates if _volume_of(layer).metadata.modality.upper() == "CT"]

    def _show_active_layer(self, event: Any = None) -> None:
        layer = self.viewer.layers.selection.active
        volume = _volume_of(layer) if layer is not None else None
        if volume is None:
            self.info_label.setText("Select an image layer opened by this plugin to see its acquisition.")
            return
        self.info_label.setText(describe_volume(volume))


def _volume_of(layer: Any) -> "Volume | None":
    entry = getattr(layer, "metadata", {}).get(METADATA_KEY, {})
    return entry.get("volume") if entry.get("kind") == "volume" else None


def describe_volume(volume: "Volume") -> str:
    """The acquisition facts a reader checks before trusting a number, one per line."""
    m = volume.metadata
    lines = [
        f"<b>{volume.name}</b>",
        f"Modality: {m.modality or 'unknown'}   Manufacturer: {m.manufacturer or 'unknown'}",
        f"Series: {m.series_description or '—'}",
        f"kVp: {m.kvp if m.kvp is not None else 'unknown'}   Contrast: {m.contrast_agent or 'not recorded'}   Kernel: {m.convolution_kernel or '—'}",
        "Patient: age " + (f"{m.patient_age_years:g} y" if m.patient_age_years is not None else "unknown")
        + f", sex {m.patient_sex or 'unknown'}",
        "Grid: " + " × ".join(str(s) for s in volume.shape)
        + " voxels, spacing " + " × ".join(f"{s:.3g}" for s in volume.spacing) + " mm (z, y, x)",
        f"Source: {m.source or '—'}",
    ]
    lines += [f"Warning: {w}" for w in m.warnings]
    lines += [f"HU caveat: {c}" for c in hu_caveats(m)]
    return "<br>".join(_escape(line) if not line.startswith("<b>") else line for line in lines)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
