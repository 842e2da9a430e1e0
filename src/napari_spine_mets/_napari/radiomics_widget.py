"""The "Radiomics" dock: features of any ROI (a vertebra, a lesion, the Bone HU ROIs) with chosen settings.

Choose the image, the ROI (a labels layer and a label id, or the trabecular ROIs the Bone
HU dock placed at a level), a settings file (:func:`napari_spine_mets.radiomics.settings.load_settings`;
pyradiomics' defaults otherwise) and the feature classes. "Compute" runs
:func:`napari_spine_mets.radiomics.engine.extract` off the Qt thread; the features appear
in a filterable table, can be exported to CSV, and are stored on a
:class:`~napari_spine_mets.case_parts.Roi` of the live case with the settings' hash, so a
nomogram can check that the features were computed with its settings. Bad input (an
empty label, labels on another grid, an MR with settings meant for CT HU) shows the
core's message, never a traceback.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..radiomics.settings import FEATURE_CLASSES, RadiomicsSettings
from .dock_parts import add_notice
from .layers import METADATA_KEY
from .session import session_of
from .workers import run_in_background

if TYPE_CHECKING:
    import napari

    from ..radiomics.engine import RadiomicsResult
    from ..volume import Volume

__all__ = ["RadiomicsWidget", "HU_ROIS", "settings_summary"]

log = logging.getLogger(__name__)

#: The ROI source offering the Bone HU dock's trabecular ROIs of a level (from the case).
HU_ROIS = "Bone HU ROIs (trabecular, from the case)"
_LEVEL_IN_NAME = re.compile(r"(?:^|_)([CTLS]\d{1,2})(?:_|$)")


def settings_summary(settings: RadiomicsSettings) -> str:
    """One line saying what changes the values: discretisation, image types, preprocessing, hash."""
    bins = f"bin count {settings.bin_count}" if settings.bin_count else f"bin width {settings.bin_width:g}"
    images = (["original"] if settings.original else []) + [f"LoG σ={s:g} mm" for s in settings.log_sigma]
    if settings.wavelet:
        images.append(f"wavelet {settings.wavelet_name}")
    resample = (f"resampled to {'×'.join(f'{s:g}' for s in settings.resampled_spacing)} mm ({settings.interpolator})"
                if settings.resampled_spacing else "no resampling")
    normal = f"normalised ({settings.normalize})" if settings.normalize else "no normalisation (CT HU)"
    return f"{bins}; {', '.join(images) or 'no image type'}; {resample}; {normal}; hash {settings.value_hash()[:12]}…"


class RadiomicsWidget(QWidget):
    """Dock widget: radiomics features of a chosen ROI with a chosen settings file."""

    def __init__(self, napari_viewer: "napari.Viewer") -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.session = session_of(napari_viewer)
        self.settings = RadiomicsSettings()
        self.settings_path: Path | None = None
        self.result: RadiomicsResult | None = None
        self.roi_id: int | None = None
        self._worker: Any = None
        self._build()
        self.viewer.layers.events.inserted.connect(self._refresh_layers)
        self.viewer.layers.events.removed.connect(self._refresh_layers)
        self.session.changed.connect(self._on_case_changed)
        self._refresh_layers()
        self._show_settings()

    # ----------------------------------------------------------------- layout
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        add_notice(layout)
        form = QFormLayout()
        self.image_combo, self.source_combo, self.label_combo = QComboBox(), QComboBox(), QComboBox()
        self.source_combo.currentIndexChanged.connect(self._refresh_labels)
        refresh = QPushButton("↻")
        refresh.setToolTip("List the labels again (after painting)")
        refresh.setFixedWidth(32)
        refresh.clicked.connect(self._refresh_labels)
        label_row = QHBoxLayout()
        label_row.addWidget(self.label_combo, 1)
        label_row.addWidget(refresh)
        form.addRow("Image:", self.image_combo)
        form.addRow("ROI from:", self.source_combo)
        form.addRow("Label:", label_row)
        settings_row = QHBoxLayout()
        self.settings_button = QPushButton("Settings file…")
        self.settings_button.clicked.connect(self._choose_settings)
        self.default_button = QPushButton("Defaults")
        self.default_button.setToolTip("pyradiomics' defaults: bin width 25, original image, all feature classes")
        self.default_button.clicked.connect(lambda: self.use_settings(None))
        settings_row.addWidget(self.settings_button)
        settings_row.addWidget(self.default_button)
        settings_row.addStretch(1)
        form.addRow("Settings:", settings_row)
        layout.addLayout(form)
        self.settings_label = QLabel("")
        self.settings_label.setWordWrap(True)
        self.settings_label.setObjectName("radiomicsSettings")
        layout.addWidget(self.settings_label)
        classes = QGridLayout()
        self.class_boxes: dict[str, QCheckBox] = {}
        for i, name in enumerate(FEATURE_CLASSES):
            box = QCheckBox(name)
            box.setToolTip(f"compute the {name} features")
            self.class_boxes[name] = box
            classes.addWidget(box, i // 4, i % 4)
        layout.addLayout(classes)
        self.compute_button = QPushButton("Compute")
        self.compute_button.clicked.connect(self.compute)
        layout.addWidget(self.compute_button)
        self.status = QLabel("Choose an ROI and press Compute.")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.status)
        filter_row = QHBoxLayout()
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("filter features, e.g. glcm or Entropy")
        self.filter_edit.textChanged.connect(self._apply_filter)
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(self._choose_export)
        filter_row.addWidget(self.filter_edit, 1)
        filter_row.addWidget(self.export_button)
        layout.addLayout(filter_row)
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(("Feature", "Value"))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setMinimumHeight(220)
        layout.addWidget(self.table, 1)
        self.setMinimumWidth(460)
        # fill the dock's height (napari adds a stretch below widgets that do not ask for height)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)

    # ----------------------------------------------------------------- choices
    def _on_case_changed(self, topic: str) -> None:
        if topic in ("rois", "case"):
            self._refresh_layers()

    def _refresh_layers(self, *args: Any) -> None:
        images = [layer.name for layer in self.viewer.layers if _volume_of(layer) is not None]
        labels = [layer.name for layer in self.viewer.layers if layer._type_string == "labels"]
        hu_levels = self._hu_levels()
        _refill(self.image_combo, images)
        _refill(self.source_combo, labels + ([HU_ROIS] if hu_levels else []))
        self._refresh_labels()

    def _hu_levels(self) -> list[str]:
        from ..case_parts import RoiKind

        levels = {r.level for r in self.session.case.rois if r.kind is RoiKind.TRABECULAR_HU and r.polygons and r.level}
        return sorted(levels)

    def _refresh_labels(self, *args: Any) -> None:
        """The label ids of the chosen source, with their names ("32: vertebrae_T12")."""
        source = self.source_combo.currentText()
        current = self.label_combo.currentData()
        self.label_combo.blockSignals(True)
        self.label_combo.clear()
        if source == HU_ROIS:
            for level in self._hu_levels():
                self.label_combo.addItem(f"{level}: trabecular ROIs", level)
        elif source in self.viewer.layers:
            layer = self.viewer.layers[source]
            core = layer.metadata.get(METADATA_KEY, {}).get("labels")
            names = dict(core.names) if core is not None else {}
            for value in (int(v) for v in np.unique(np.asarray(layer.data)) if v):
                self.label_combo.addItem(f"{value}: {names.get(value, 'label')}", value)
        index = self.label_combo.findData(current)
        self.label_combo.setCurrentIndex(index if index >= 0 else 0)
        self.label_combo.blockSignals(False)

    def select_roi(self, source: str, label: int | str) -> None:
        """Choose an ROI as the user would (for scripting and tests); the label may be absent from the layer."""
        self.source_combo.setCurrentText(source)
        self._refresh_labels()
        index = self.label_combo.findData(label)
        if index < 0:
            self.label_combo.addItem(f"{label}: (typed)", label)
            index = self.label_combo.count() - 1
        self.label_combo.setCurrentIndex(index)

    # ----------------------------------------------------------------- settings
    def _choose_settings(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Radiomics settings", "", "Settings (*.yaml *.yml *.json)")
        if path:
            self.use_settings(path)

    def use_settings(self, path: str | Path | None) -> None:
        """Load a settings file (None: the defaults); a bad file shows the loader's message."""
        from ..errors import SpineMetsError
        from ..radiomics.settings import load_settings

        try:
            self.settings = load_settings(path) if path is not None else RadiomicsSettings()
        except SpineMetsError as exc:
            self._problem(str(exc))
            return
        self.settings_path = Path(path) if path is not None else None
        self._show_settings()

    def _show_settings(self) -> None:
        where = self.settings_path.name if self.settings_path else "defaults (pyradiomics)"
        self.settings_label.setText(f"<b>{where}</b>: {settings_summary(self.settings)}")
        for name, box in self.class_boxes.items():
            box.setChecked(self.settings.enabled(name))

    def chosen_settings(self) -> RadiomicsSettings:
        """The loaded settings with only the ticked feature classes (label 1 of a binary mask)."""
        features = {name: self.settings.features.get(name) for name, box in self.class_boxes.items()
                    if box.isChecked()}
        return dataclasses.replace(self.settings, features=features, label=1)

    # ----------------------------------------------------------------- computing
    def _inputs(self) -> tuple["Volume", np.ndarray, int | str, str]:
        """(volume, labels array on its grid, label, description); raises the project's errors."""
        from ..errors import GridMismatchError, InputError
        from ..io.geometry import same_grid

        name = self.image_combo.currentText()
        if name not in self.viewer.layers:
            raise InputError(None, "Radiomics: open an image first (no image layer opened by this plugin)")
        volume = _volume_of(self.viewer.layers[name])
        source, label = self.source_combo.currentText(), self.label_combo.currentData()
        if label is None:
            raise InputError(None, "Radiomics: choose an ROI (a labels layer and a label)")
        if source == HU_ROIS:
            return volume, _hu_roi_mask(self.session.case, str(label), volume), 1, f"trabecular ROIs at {label}"
        layer = self.viewer.layers[source]
        core = layer.metadata.get(METADATA_KEY, {}).get("labels")
        from ..io.geometry import affine_from_napari

        affine = core.affine if core is not None else affine_from_napari(layer.scale, layer.translate)
        data = np.asarray(layer.data)
        if not same_grid(data.shape, affine, volume.shape, volume.affine):
            raise GridMismatchError(None, f"labels layer '{source}' {data.shape} is not on the grid of the image "
                                    f"'{name}' {volume.shape}: resample the labels onto the image first")
        return volume, data, int(label), f"'{source}' label {label}"

    def _check_modality(self, volume: "Volume", settings: RadiomicsSettings) -> None:
        """Settings without normalisation bin absolute values: meant for CT HU, refused on MR (the core's check)."""
        if settings.normalize is not None:
            return
        from ..hounsfield import require_ct_hu

        require_ct_hu(volume, task="radiomics with these settings (a fixed bin width on absolute values, no "
                      "normalisation: settings for CT in HU) would bin arbitrary intensities",
                      hint="Choose a settings file with 'normalize' (e.g. zscore_roi) and a bin width for that scale.")

    def compute(self) -> Any:
        """Extract the features off the Qt thread; the table and the case follow when done."""
        from ..errors import SpineMetsError
        from ..radiomics.engine import extract
        from ..radiomics.preprocess import check_inputs

        settings = self.chosen_settings()
        try:
            volume, labels, label, what = self._inputs()
            self._check_modality(volume, settings)
            settings.validate()
        except SpineMetsError as exc:
            self._problem(str(exc))
            return None
        image = np.asarray(volume.array)
        source, chosen, label_text = (self.source_combo.currentText(), self.label_combo.currentData(),
                                      self.label_combo.currentText())

        def work() -> "RadiomicsResult":
            check_inputs(image, labels, volume.spacing, label)  # the core's message for an empty or tiny ROI
            return extract(image, (labels == label).astype(np.uint8), volume.spacing, settings, device="auto")

        def done(result: "RadiomicsResult") -> None:
            self.compute_button.setEnabled(True)
            self.show_result(result)
            self._record(result, settings, volume, source, chosen, label_text, int((labels == label).sum()))
            self._say(f"{len(result.features)} features of {what} in {result.seconds:.1f} s on "
                      f"{result.device.get('device', '?')}; stored on ROI {self.roi_id} of the case.")

        def failed(message: str) -> None:
            self.compute_button.setEnabled(True)
            self._problem(message)

        self.compute_button.setEnabled(False)
        self._say(f"Computing the features of {what}…")
        self._worker = run_in_background(work, done, description="Radiomics", on_error=failed)
        return self._worker

    def _problem(self, message: str) -> None:
        self._say(message, error=True)

    def _say(self, text: str, error: bool = False) -> None:
        """Show a status line in full (a wrapped QLabel does not grow on its own in this layout)."""
        self.status.setStyleSheet("color: #e57373;" if error else "")
        self.status.setText(text)
        self.status.setMinimumHeight(self.status.heightForWidth(max(self.status.width(), 300)))
        self.layout().activate()  # move the widgets below now, not at the next layout pass

    def _record(self, result: "RadiomicsResult", settings: RadiomicsSettings, volume: "Volume", source: str,
                label: int | str, label_text: str, n_voxels: int) -> None:
        """Store the features on an ROI of the case (replacing that ROI's earlier features) and commit."""
        from ..case_parts import Origin, Roi, RoiKind, jsonable
        from ..models.model_file import settings_hash

        case = self.session.case
        sha = settings_hash(settings.to_dict())
        measurements = {**result.features, "feature_settings_sha256": sha, "roi_voxels": n_voxels}
        if source == HU_ROIS:
            key = {"label_map": None, "label_id": None, "level": str(label)}
            polygons = [p for r in case.rois if r.kind is RoiKind.TRABECULAR_HU and r.level == label
                        for p in r.polygons]
        else:
            key = {"label_map": source, "label_id": int(label),
                   "level": _level_of(case, source, int(label), label_text)}
            polygons = []
        existing = next((r for r in case.rois if r.kind is RoiKind.RADIOMICS and r.label_map == key["label_map"]
                         and r.label_id == key["label_id"] and (source != HU_ROIS or r.level == key["level"])), None)
        if existing is not None:
            existing.measurements = jsonable(measurements)
            roi = existing
        else:
            roi = Roi(id=max((r.id for r in case.rois), default=0) + 1, level=key["level"], kind=RoiKind.RADIOMICS,
                      label_map=key["label_map"], label_id=key["label_id"], polygons=polygons, origin=Origin.MANUAL,
                      measurements=measurements)
            case.rois.append(roi)
        self.roi_id = roi.id
        case.record_step("radiomics", model="napari_spine_mets.radiomics", parameters={
            "feature_settings": settings.to_dict(), "feature_settings_sha256": sha, "image": volume.name,
            "roi": roi.id, "device": result.device, "seconds": round(result.seconds, 3),
            "settings_file": str(self.settings_path) if self.settings_path else "defaults"})
        self.session.commit(f"radiomics: {len(result.features)} features of {label_text} ({source}) on ROI {roi.id}",
                            topic="rois", target=f"roi:{roi.id}")

    # ----------------------------------------------------------------- table and export
    def show_result(self, result: "RadiomicsResult") -> None:
        self.result = result
        items = sorted(result.features.items())
        self.table.setRowCount(len(items))
        for row, (name, value) in enumerate(items):
            self.table.setItem(row, 0, QTableWidgetItem(name))
            cell = QTableWidgetItem(f"{value:.6g}")
            cell.setData(Qt.ItemDataRole.UserRole, float(value))
            cell.setTextAlignment(int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter))
            self.table.setItem(row, 1, cell)
        self.table.resizeColumnToContents(0)
        self.export_button.setEnabled(True)
        self._apply_filter()

    def _apply_filter(self, *args: Any) -> None:
        text = self.filter_edit.text().strip().lower()
        for row in range(self.table.rowCount()):
            self.table.setRowHidden(row, bool(text) and text not in self.table.item(row, 0).text().lower())

    def shown_features(self) -> dict[str, float]:
        """The rows the filter leaves visible, {name: value}."""
        return {self.table.item(r, 0).text(): float(self.table.item(r, 1).data(Qt.ItemDataRole.UserRole))
                for r in range(self.table.rowCount()) if not self.table.isRowHidden(r)}

    def _choose_export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export features", "radiomics.csv", "CSV (*.csv)")
        if path:
            self.export_csv(path)

    def export_csv(self, path: str | Path) -> Path:
        """Write every feature (not only the filtered ones) as feature,value with the settings hash (atomic)."""
        from ..io.atomic import atomic_write_text

        assert self.result is not None
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(("feature", "value"))
        for name, value in sorted(self.result.features.items()):
            writer.writerow((name, repr(float(value))))
        writer.writerow(("settings_value_hash", self.result.settings_hash))
        out = atomic_write_text(path, buffer.getvalue())
        self._say(f"Exported {len(self.result.features)} features to {out}")
        return out


def _volume_of(layer: Any) -> "Volume | None":
    entry = getattr(layer, "metadata", {}).get(METADATA_KEY, {})
    if entry.get("kind") != "volume":
        return None
    from ..volume import Volume

    original = entry["volume"]
    data = layer.data
    return original if data is original.array else Volume(np.asarray(data), original.affine, original.metadata,
                                                          layer.name)


def _refill(combo: QComboBox, names: list[str]) -> None:
    current = combo.currentText()
    combo.blockSignals(True)
    combo.clear()
    combo.addItems(names)
    if current in names:
        combo.setCurrentText(current)
    combo.blockSignals(False)


def _level_of(case: Any, source: str, label: int, label_text: str) -> str | None:
    """The level of an ROI: a lesion record's level, else the level in its label name (vertebrae_T12)."""
    if "lesion" in source.lower():
        record = next((les for les in case.lesions if les.id == label), None)
        if record is not None and record.level:
            return record.level
    from ..anatomy import level_of_label

    if level_of_label(label) and "vertebra" in source.lower() and "part" not in source.lower():
        return level_of_label(label)
    match = _LEVEL_IN_NAME.search(label_text.split(": ", 1)[-1])
    return match.group(1) if match else None


def _hu_roi_mask(case: Any, level: str, volume: "Volume") -> np.ndarray:
    """The Bone HU dock's trabecular ROIs of ``level`` (polygons on axial slices) as a mask on ``volume``."""
    from ..case_parts import RoiKind
    from ..errors import InputError
    from ..io.geometry import index_from_world
    from ..measure.manual_roi import polygon_mask

    mask = np.zeros(volume.shape, dtype=np.uint8)
    for roi in case.rois:
        if roi.kind is not RoiKind.TRABECULAR_HU or roi.level != level:
            continue
        for polygon in roi.polygons:
            idx = index_from_world(volume.affine, np.asarray(polygon.vertices_mm, dtype=float))
            z = int(round(float(idx[:, 0].mean())))
            if 0 <= z < volume.shape[0]:
                mask[z][polygon_mask(volume.shape[1:], idx[:, 1:])] = 1
    if not mask.any():
        raise InputError(None, f"the Bone HU ROIs at {level} do not lie on the image '{volume.name}'")
    return mask
