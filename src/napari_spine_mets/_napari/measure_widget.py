"""The "Measure" dock: trabecular HU ROIs and radiomics, two tabs of one step of the workflow.

Both measure regions of the same CT, so they share a dock instead of crowding the window;
each tab is the full widget (:class:`.hu_widget.HuWidget`, :class:`.radiomics_widget.RadiomicsWidget`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qtpy.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from .hu_widget import HuWidget
from .radiomics_widget import RadiomicsWidget

if TYPE_CHECKING:
    import napari

__all__ = ["MeasureWidget"]


class MeasureWidget(QWidget):
    """Tabs "Bone HU" and "Radiomics" over the viewer's live case."""

    def __init__(self, napari_viewer: "napari.Viewer") -> None:
        super().__init__()
        self.hu = HuWidget(napari_viewer)
        self.radiomics = RadiomicsWidget(napari_viewer)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.hu, "Bone HU")
        self.tabs.addTab(self.radiomics, "Radiomics")
        self.tabs.setTabToolTip(0, "Trabecular HU per vertebra (bone quality, screw-failure risk), editable ROIs")
        self.tabs.setTabToolTip(1, "IBSI/pyradiomics features of any ROI or lesion")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)
