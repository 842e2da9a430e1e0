"""The "Report and export" dock: PDF + HTML report, CSV tables, label maps as NIfTI, DICOM-SEG, case folder.

Every export works on a snapshot of the viewer's live Case (``session_of(viewer)``:
current layer data, painting included) taken on the Qt thread, then written off it
(:func:`~napari_spine_mets._napari.workers.run_in_background`), so painting on while a
report is written changes neither the report nor the layers. The "identified" box (off
by default) decides whether the report shows name, patient ID and birth date, and
whether DICOM-SEG files keep them. DICOM-SEG needs the DICOM series the CT was read
from; when there is none the button says so and stays disabled.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from qtpy.QtWidgets import QCheckBox, QFileDialog, QGroupBox, QLabel, QPushButton, QVBoxLayout, QWidget

from ..case import Case
from ..display import DECISION_SUPPORT_NOTICE
from ..volume import LabelMap

if TYPE_CHECKING:
    import napari

__all__ = ["ReportWidget", "dicom_source_of"]

log = logging.getLogger(__name__)

_SEG_LABEL = "DICOM-SEG of the label maps…"


def dicom_source_of(case: Case) -> tuple[Path | None, str]:
    """(folder of the DICOM series the report's CT was read from, or None; why not, in words)."""
    from ..report.inputs import find_inputs

    inputs = find_inputs(case)
    if inputs.volume is None:
        return None, "no image in the case"
    meta = inputs.volume.metadata
    folder = Path(meta.source) if meta.source and not meta.source.startswith("synthetic:") else None
    if not meta.series_instance_uid or folder is None or not folder.is_dir():
        return None, "the CT was not read from a DICOM series (SEG needs the source series)"
    if not case.label_maps:
        return None, "no label map to export"
    return folder, ""


class ReportWidget(QWidget):
    """Dock widget: write the report and export the case's label maps and folder."""

    def __init__(self, napari_viewer: "napari.Viewer") -> None:
        from .session import session_of

        super().__init__()
        self.viewer = napari_viewer
        self.session = session_of(napari_viewer)
        #: Asks for a folder (title -> folder or None); tests replace it.
        self.ask_folder: Callable[[str], Path | None] = self._folder_dialog
        #: What the last export wrote (name -> path), and its folder.
        self.last_written: dict[str, Path] = {}
        self.last_folder: Path | None = None
        self.busy = False
        self._build()
        self.session.changed.connect(self._on_case_changed)
        self.viewer.layers.events.inserted.connect(self._refresh)
        self.viewer.layers.events.removed.connect(self._refresh)
        self._refresh()

    # ----------------------------------------------------------------- layout
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        notice = QLabel(DECISION_SUPPORT_NOTICE)
        notice.setWordWrap(True)
        notice.setStyleSheet("color: #ff8a80; font-weight: bold;")
        layout.addWidget(notice)
        self.identified_box = QCheckBox("Identified (show name, patient ID, birth date)")
        self.identified_box.setChecked(False)
        self.identified_box.setToolTip("Off: the report is de-identified and DICOM-SEG files are de-identified "
                                       "(UIDs kept). On: identifiers are shown and kept.")
        layout.addWidget(self.identified_box)

        report_box = QGroupBox("Report")
        report_layout = QVBoxLayout(report_box)
        self.report_button = self._button("PDF + HTML report…", "Header, disclaimer, sagittal overview, lesion and "
                                          "HU ROI images, HU, lesion, score and provenance tables",
                                          lambda: self._ask_then("Folder for the report", self.write_report))
        self.csv_button = self._button("CSV tables…", "per_level_hu, lesions, scores, provenance (and others) as CSV",
                                       lambda: self._ask_then("Folder for the CSV tables", self.write_csv))
        report_layout.addWidget(self.report_button)
        report_layout.addWidget(self.csv_button)
        layout.addWidget(report_box)

        export_box = QGroupBox("Export")
        export_layout = QVBoxLayout(export_box)
        self.nifti_button = self._button("Label maps as NIfTI…", "One .nii.gz per label map, in patient coordinates",
                                         lambda: self._ask_then("Folder for the NIfTI files", self.export_nifti))
        self.seg_button = self._button(_SEG_LABEL, "One DICOM Segmentation per label map, on the source series",
                                       lambda: self._ask_then("Folder for the DICOM-SEG files", self.export_dicom_seg))
        self.seg_reason = QLabel("")
        self.seg_reason.setWordWrap(True)
        self.case_button = self._button("Save case folder…", "Everything (images, labels, lesions, ROIs, entries, "
                                        "findings, provenance); later changes autosave there",
                                        lambda: self._ask_then("Save the case into folder", self.save_case))
        for widget in (self.nifti_button, self.seg_button, self.seg_reason, self.case_button):
            export_layout.addWidget(widget)
        layout.addWidget(export_box)

        self.status_label = QLabel("Reports are de-identified unless 'Identified' is ticked.")
        self.status_label.setWordWrap(True)
        layout.addWidget(self.status_label)
        layout.addStretch(1)

    def _button(self, text: str, tip: str, action: Callable[[], Any]) -> QPushButton:
        button = QPushButton(text)
        button.setToolTip(tip)
        button.clicked.connect(action)
        return button

    def _folder_dialog(self, title: str) -> Path | None:
        folder = QFileDialog.getExistingDirectory(self, title)
        return Path(folder) if folder else None

    def _ask_then(self, title: str, action: Callable[[Path], Any]) -> None:
        folder = self.ask_folder(title)
        if folder is not None:
            action(Path(folder))

    # ----------------------------------------------------------------- state
    @property
    def identified(self) -> bool:
        return self.identified_box.isChecked()

    def _buttons(self) -> list[QPushButton]:
        return [self.report_button, self.csv_button, self.nifti_button, self.seg_button, self.case_button]

    def _refresh(self, event: Any = None) -> None:
        """Enable what the case allows; say why DICOM-SEG is not possible."""
        kinds = {layer._type_string for layer in self.viewer.layers}
        has_image = "image" in kinds or bool(self.session.case.volumes)
        for button in self._buttons():
            button.setEnabled(not self.busy)
        self.report_button.setEnabled(not self.busy and has_image)
        self.nifti_button.setEnabled(not self.busy and "labels" in kinds)
        folder, why = dicom_source_of(self._live_case())
        self.seg_button.setEnabled(not self.busy and folder is not None)
        self.seg_button.setText(_SEG_LABEL if folder is not None else "DICOM-SEG: not available")
        self.seg_reason.setText("" if folder is not None else f"DICOM-SEG not available: {why}.")
        self.seg_button.setToolTip(f"Source series: {folder}" if folder is not None else why)

    def _on_case_changed(self, topic: str) -> None:
        saved = self.session.last_saved_to
        if topic == "saved" and saved is not None:
            self.status_label.setText(f"Case saved to {saved.parent if saved.name == 'case.json' else saved}.")
        self._refresh()

    def _live_case(self) -> Case:
        return self.session.sync_from_layers()

    def _start(self, what: str, function: Callable[[], dict[str, Path]], folder: Path) -> Any:
        self.busy = True
        self._refresh()
        self.status_label.setText(f"{what}…")

        def done(written: dict[str, Path]) -> None:
            self.busy = False
            self.last_written, self.last_folder = dict(written), folder
            names = ", ".join(sorted(p.name for p in written.values())) or "nothing"
            self.status_label.setText(f"{what}: wrote {names} in {folder}.")
            self._refresh()

        def failed(message: str) -> None:
            self.busy = False
            self.status_label.setText(f"{what} failed: {message}")
            self._refresh()

        from .workers import run_in_background

        return run_in_background(function, done, description=what, on_error=failed)

    # ----------------------------------------------------------------- actions
    def write_report(self, folder: Path) -> Any:
        """Write report.pdf and report.html of the live case into ``folder`` (in the background)."""
        from ..report import write_report

        case, identified = _snapshot(self._live_case()), self.identified
        return self._start("Writing the report",
                           lambda: write_report(case, folder, formats=("pdf", "html"), identified=identified), folder)

    def write_csv(self, folder: Path) -> Any:
        """Write the report's tables as CSV into ``folder``."""
        from ..report import write_report

        case, identified = _snapshot(self._live_case()), self.identified
        return self._start("Writing the CSV tables",
                           lambda: write_report(case, folder, formats=("csv",), identified=identified), folder)

    def export_nifti(self, folder: Path) -> Any:
        """Write every label map of the live case as ``<name>.nii.gz`` into ``folder``."""
        maps = _snapshot(self._live_case()).label_maps
        return self._start("Exporting label maps as NIfTI", lambda: _write_niftis(maps, folder), folder)

    def export_dicom_seg(self, folder: Path) -> Any:
        """Write one DICOM-SEG per label map, referencing the DICOM series the CT was read from."""
        case = _snapshot(self._live_case())
        source, why = dicom_source_of(case)
        if source is None:
            self.status_label.setText(f"DICOM-SEG not written: {why}.")
            return None
        identified = self.identified
        return self._start("Exporting DICOM-SEG", lambda: _write_segs(case, source, folder, identified), folder)

    def save_case(self, folder: Path) -> Any:
        """Save the live case into ``folder`` (it becomes the case's folder; later changes autosave there)."""
        self.status_label.setText(f"Saving the case to {folder}…")
        self.session.commit("case saved to a folder (Report and export dock)", topic="case-folder", save=False)
        return self.session.save(Path(folder))


def _snapshot(case: Case) -> Case:
    """A copy the user cannot change while it is written: label arrays copied, records deep-copied."""
    frozen = copy.copy(case)
    frozen.volumes = dict(case.volumes)
    frozen.label_maps = {name: LabelMap(np.array(m.array, copy=True), m.affine, names=dict(m.names), name=m.name,
                                        source=m.source) for name, m in case.label_maps.items()}
    for attr in ("lesions", "rois", "clinical", "findings", "provenance"):
        setattr(frozen, attr, copy.deepcopy(getattr(case, attr)))
    return frozen


def _write_niftis(maps: dict[str, LabelMap], folder: Path) -> dict[str, Path]:
    from ..io.nifti import write_nifti
    from ..safety.filenames import safe_join

    folder.mkdir(parents=True, exist_ok=True)
    return {name: write_nifti(labels, safe_join(folder, name, suffix=".nii.gz", fallback="labels"))
            for name, labels in maps.items()}


def _write_segs(case: Case, source: Path, folder: Path, identified: bool) -> dict[str, Path]:
    from ..dicomio.deidentify import DeidProfile
    from ..dicomio.seg_export import export_seg
    from ..dicomio.source_series import load_source_series
    from ..safety.filenames import safe_join

    series = load_source_series(source)
    levels = {lesion.id: lesion.level for lesion in case.lesions if lesion.level}
    profile = None if identified else DeidProfile()
    written = {}
    for number, (name, labels) in enumerate(sorted(case.label_maps.items()), start=300):
        if not labels.array.any():
            continue
        written[name] = export_seg(labels, series, safe_join(folder, name, suffix=".seg.dcm", fallback="labels"),
                                   deidentify=profile, lesion_levels=levels if "lesion" in name.lower() else None,
                                   series_number=number)
    return written
