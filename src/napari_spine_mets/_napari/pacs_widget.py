"""The "PACS" dock: save the connection settings, find studies, retrieve one and open it.

Every network call (C-ECHO, C-FIND, C-GET/C-MOVE) runs in a background worker through
:func:`.workers.run_in_background`; errors (PACS down, association rejected, no CT in
the study, partial retrieval) show as one-line notifications. A study is retrieved into
a new folder, completely or not at all, then opened with the plugin's own reader.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qtpy.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from .workers import run_in_background

if TYPE_CHECKING:
    import napari

    from ..dicomio.pacs import StudyMatch
    from ..dicomio.pacs_config import PacsConfig

__all__ = ["PacsWidget"]

log = logging.getLogger(__name__)
PLUGIN = "napari-spine-mets"


class PacsWidget(QWidget):
    """Dock widget: PACS settings, C-FIND, retrieve and open."""

    def __init__(self, napari_viewer: "napari.Viewer", config_file: str | Path | None = None) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.config_file = Path(config_file) if config_file else None
        self.studies: list[StudyMatch] = []
        self.last_folder: Path | None = None
        self._build()
        self._load_settings()

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        box = QGroupBox("Connection")
        form = QFormLayout(box)
        self.host, self.called, self.calling = QLineEdit(), QLineEdit(), QLineEdit()
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.method = QComboBox()
        self.method.addItems(["get", "move"])
        form.addRow("Host:", self.host)
        form.addRow("Port:", self.port)
        form.addRow("PACS AE title:", self.called)
        form.addRow("Our AE title:", self.calling)
        form.addRow("Retrieve with:", self.method)
        row = QHBoxLayout()
        self.save_button, self.echo_button = QPushButton("Save"), QPushButton("Test (C-ECHO)")
        self.save_button.clicked.connect(self.save_settings)
        self.echo_button.clicked.connect(self.echo)
        row.addWidget(self.save_button)
        row.addWidget(self.echo_button)
        form.addRow(row)
        layout.addWidget(box)
        query = QGroupBox("Find studies")
        qform = QFormLayout(query)
        self.patient_id, self.patient_name = QLineEdit(), QLineEdit()
        self.study_date, self.modality = QLineEdit(), QLineEdit("CT")
        self.study_date.setPlaceholderText("YYYYMMDD or YYYYMMDD-YYYYMMDD")
        qform.addRow("Patient ID:", self.patient_id)
        qform.addRow("Patient name:", self.patient_name)
        qform.addRow("Date:", self.study_date)
        qform.addRow("Modality:", self.modality)
        self.find_button = QPushButton("Find")
        self.find_button.clicked.connect(self.find)
        qform.addRow(self.find_button)
        layout.addWidget(query)
        self.results = QListWidget()
        layout.addWidget(self.results, 1)
        self.folder = QLineEdit(str(Path.home() / "spine-mets-pacs"))
        layout.addWidget(QLabel("Retrieve into (a new subfolder per study):"))
        layout.addWidget(self.folder)
        self.retrieve_button = QPushButton("Retrieve CT and open")
        self.retrieve_button.clicked.connect(self.retrieve)
        layout.addWidget(self.retrieve_button)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)

    # ---------------------------------------------------------------- settings
    def _load_settings(self) -> None:
        from ..dicomio.pacs_config import PacsConfig, config_path, load_config
        from ..errors import SpineMetsError

        path = self.config_file or config_path()
        try:
            config = load_config(path) if path.is_file() else PacsConfig()
        except SpineMetsError as exc:
            self.status.setText(str(exc))
            config = PacsConfig()
        self.host.setText(config.host)
        self.port.setValue(config.port)
        self.called.setText(config.called_aet)
        self.calling.setText(config.calling_aet)
        self.method.setCurrentText(config.retrieve)
        self._base = config

    def current_config(self) -> "PacsConfig":
        """The settings as typed, checked (raises PacsConfigError with the problems)."""
        from dataclasses import replace

        return replace(self._base, host=self.host.text().strip(), port=int(self.port.value()),
                       called_aet=self.called.text().strip(), calling_aet=self.calling.text().strip(),
                       retrieve=self.method.currentText()).check()

    def save_settings(self) -> None:
        from ..dicomio.pacs_config import save_config
        from ..errors import SpineMetsError

        try:
            path = save_config(self.current_config(), self.config_file)
        except SpineMetsError as exc:
            self._error(str(exc))
            return
        self.status.setText(f"Settings saved to {path}")

    # ---------------------------------------------------------------- actions
    def _run(self, work: Any, done: Any, description: str) -> Any:
        from ..errors import SpineMetsError

        try:
            config = self.current_config()
        except SpineMetsError as exc:
            self._error(str(exc))
            return None
        self.status.setText(f"{description}…")
        return run_in_background(lambda: work(config), done, description=description, on_error=self.status.setText)

    def echo(self) -> Any:
        from ..dicomio.pacs import echo

        return self._run(echo, lambda s: self.status.setText(f"PACS answered in {s * 1000:.0f} ms"), "C-ECHO")

    def find(self) -> Any:
        from ..dicomio.pacs import find_studies

        query = dict(patient_id=self.patient_id.text().strip(), patient_name=self.patient_name.text().strip(),
                     study_date=self.study_date.text().strip(), modality=self.modality.text().strip())
        return self._run(lambda c: find_studies(c, **query), self._show_studies, "C-FIND")

    def _show_studies(self, studies: list["StudyMatch"]) -> None:
        self.studies = studies
        self.results.clear()
        for s in studies:
            self.results.addItem(f"{s.study_date}  {'/'.join(s.modalities)}  {s.identity.patient_id}  "
                                 f"{s.identity.name}  {s.study_description}  ({s.n_instances or '?'} images)")
        if studies:
            self.results.setCurrentRow(0)
        self.status.setText(f"{len(studies)} study(ies) found")

    def retrieve(self) -> Any:
        from ..dicomio.pacs_retrieve import retrieve_study

        row = self.results.currentRow()
        if not 0 <= row < len(self.studies):
            self._error("Find studies and select one first.")
            return None
        study = self.studies[row]
        target = Path(self.folder.text().strip() or ".") / study.study_uid
        return self._run(lambda c: retrieve_study(c, study.study_uid, target, modality="CT"), self._open,
                         "Retrieving study")

    def _open(self, result: Any) -> None:
        self.last_folder = result.folder
        self.status.setText(f"Retrieved {result.n_instances} image(s) into {result.folder}")
        self.viewer.open(str(result.folder), plugin=PLUGIN)

    def _error(self, message: str) -> None:
        from napari.utils.notifications import show_error

        self.status.setText(message)
        show_error(message)
