"""The "Bone HU" dock: automatic trabecular ROIs, shown as ellipses the user can move or redraw.

"Compute automatic ROIs" runs :func:`napari_spine_mets.measure.measure_trabecular_hu` in a
background worker on the chosen CT and vertebra labels (optional parts and lesion maps)
and shows one ellipse per level and slice in a Shapes layer on the CT's own grid (so the
slider keeps stepping one CT slice), on the slice it measures, labelled with its level and mean HU. The table gives, per level, the
combined mean, median, SD and voxel count, the per-slice means, whether the ROIs are
automatic or manual, and the flags; caveats are listed under it.

Moving, resizing or redrawing an ellipse recomputes that ROI at once (only that one) and
marks it "manual"; a shape drawn by the user is assigned to the level labelled at its
centre. Manual ROIs are recorded apart from automatic ones (``origin``) in the Case.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
from qtpy.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from ..anatomy import TOTALSEG_VERTEBRA_IDS, level_of_label
from ..io import geometry
from ..volume import LabelMap, Volume
from .dock_parts import add_notice
from .layers import METADATA_KEY
from .workers import run_in_background

if TYPE_CHECKING:
    import napari

    from ..measure.hu_roi import HuReport, LevelHu
    from ..measure.manual_roi import SliceRoi

__all__ = ["HuWidget", "ROI_LAYER_NAME"]

log = logging.getLogger(__name__)

ROI_LAYER_NAME = "Bone HU ROIs"
_NONE = "(none)"
_COLUMNS = ("Level", "Mean HU", "Median", "SD", "Voxels", "ROI", "Slice means", "Flags")
_AUTO_COLOR = "yellow"
_MANUAL_COLOR = "magenta"


class HuWidget(QWidget):
    """Dock widget: automatic trabecular HU ROIs, editable, with a table of figures and flags."""

    def __init__(self, napari_viewer: "napari.Viewer") -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.report: HuReport | None = None
        self.volume: Volume | None = None
        self.lesions: LabelMap | None = None
        self.vertebrae: LabelMap | None = None
        #: One entry per shape of the ROI layer, in the same order: (level, SliceRoi).
        self.entries: list[tuple[str, SliceRoi]] = []
        self.shapes_layer: Any = None
        self._updating = False
        self._build()
        self.viewer.layers.events.inserted.connect(self._refresh_choices)
        self.viewer.layers.events.removed.connect(self._refresh_choices)
        self._refresh_choices()
        from .session import session_of

        session_of(self.viewer).changed.connect(self._on_case_changed)

    def _on_case_changed(self, topic: str) -> None:
        """Vertebra labels were edited: place the automatic ROIs again, keeping the user's own."""
        if topic == "labels" and self.report is not None and self.compute_button.isEnabled():
            self.compute()

    # ----------------------------------------------------------------- layout
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        add_notice(layout)
        form = QFormLayout()
        self.ct_combo, self.labels_combo = QComboBox(), QComboBox()
        self.parts_combo, self.lesions_combo = QComboBox(), QComboBox()
        form.addRow("CT:", self.ct_combo)
        form.addRow("Vertebra labels:", self.labels_combo)
        form.addRow("Parts (optional):", self.parts_combo)
        form.addRow("Lesions (optional):", self.lesions_combo)
        layout.addLayout(form)
        self.compute_button = QPushButton("Compute automatic ROIs")
        self.compute_button.clicked.connect(self.compute)
        layout.addWidget(self.compute_button)
        self.status_label = QLabel("Trabecular HU on 3 axial slices per body, away from cortex and basivertebral vein.")
        self.status_label.setWordWrap(True)
        layout.addWidget(self.status_label)
        self.table = QTableWidget(0, len(_COLUMNS))
        self.table.setHorizontalHeaderLabels(_COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.itemSelectionChanged.connect(self._go_to_selected_level)
        layout.addWidget(self.table)
        self.table.setMinimumHeight(130)
        layout.addWidget(QLabel("Caveats:"))
        self.caveats_label = QTextEdit()
        self.caveats_label.setReadOnly(True)
        self.caveats_label.setObjectName("huCaveats")
        self.caveats_label.setMinimumHeight(140)
        layout.addWidget(self.caveats_label, 1)
        self.setMinimumWidth(440)

    def _refresh_choices(self, event: Any = None) -> None:
        images = [layer.name for layer in self.viewer.layers if _core(layer, "volume") is not None]
        labels = [layer.name for layer in self.viewer.layers if layer._type_string == "labels"]
        _fill(self.ct_combo, images, prefer=("ct",))
        _fill(self.labels_combo, labels, prefer=("vertebra", "totalseg"), avoid=("part", "lesion", "tissue"))
        _fill(self.parts_combo, [_NONE, *labels], prefer=("part",), default=_NONE)
        _fill(self.lesions_combo, [_NONE, *labels], prefer=("lesion",), default=_NONE)

    # ----------------------------------------------------------------- computing
    def _inputs(self) -> tuple[Volume, LabelMap, LabelMap | None, LabelMap | None]:
        from ..errors import InputError

        if self.ct_combo.currentText() not in self.viewer.layers:
            raise InputError(None, "Bone HU: open a CT first (no image layer opened by this plugin)")
        volume = _core(self.viewer.layers[self.ct_combo.currentText()], "volume")
        if self.labels_combo.currentText() not in self.viewer.layers:
            raise InputError(None, "Bone HU: vertebra labels are needed (open TotalSegmentator output or a case)")
        vertebrae = _labels_of(self.viewer.layers[self.labels_combo.currentText()], volume, "vertebrae")
        parts = lesions = None
        if self.parts_combo.currentText() in self.viewer.layers and self.parts_combo.currentText() != _NONE:
            parts = _labels_of(self.viewer.layers[self.parts_combo.currentText()], volume, "parts")
        if self.lesions_combo.currentText() in self.viewer.layers and self.lesions_combo.currentText() != _NONE:
            lesions = _labels_of(self.viewer.layers[self.lesions_combo.currentText()], volume, "lesions")
        return volume, vertebrae, parts, lesions

    def compute(self) -> Any:
        """Place the automatic ROIs in the background; the layer and table follow when done."""
        from napari.utils.notifications import show_error

        from ..errors import SpineMetsError
        from ..measure.hu_flags import evaluate_flags
        from ..measure.hu_roi import check_hu_volume, measure_trabecular_hu

        try:
            volume, vertebrae, parts, lesions = self._inputs()
            check_hu_volume(volume)
        except SpineMetsError as exc:
            show_error(str(exc))
            self.status_label.setText(str(exc))
            return None
        self.status_label.setText("Computing automatic trabecular ROIs…")
        self.compute_button.setEnabled(False)

        def work() -> "HuReport":
            return evaluate_flags(measure_trabecular_hu(volume, vertebrae, parts=parts, lesions=lesions))

        manual = [(level, roi) for level, roi in self.entries if roi.origin == "manual"]

        def done(report: "HuReport") -> None:
            self.volume, self.vertebrae, self.lesions = volume, vertebrae, lesions
            _keep_manual(report, manual)
            self.compute_button.setEnabled(True)
            self.show_report(report)

        def failed(message: str) -> None:
            self.compute_button.setEnabled(True)
            self.status_label.setText(message)

        return run_in_background(work, done, description="Bone HU: automatic ROIs", on_error=failed)

    def show_report(self, report: "HuReport") -> None:
        """Show ``report``'s ROIs as ellipses and its figures in the table."""
        self.report = report
        self.entries = [(lv.level, s) for lv in report.levels.values() for s in lv.slices]
        shapes = [self._voxel_corners(roi) for _, roi in self.entries]
        if self.shapes_layer is not None and self.shapes_layer in self.viewer.layers:
            self.viewer.layers.remove(self.shapes_layer)
        self._updating = True
        try:
            self.shapes_layer = self.viewer.add_shapes(
                shapes or None,
                ndim=3,
                shape_type="ellipse",
                name=ROI_LAYER_NAME,
                edge_color=_AUTO_COLOR,
                face_color=[0, 0, 0, 0],
                edge_width=1.0,
                features=self._features(),
                text={"string": "{label}", "size": 9, "color": "white", "anchor": "upper_left",
                      "translation": [0, -2.0, 0]},
                metadata={METADATA_KEY: {"kind": "hu_rois", "report": report}},
                **self.volume.napari_kwargs(),  # voxel corners, placed in mm like the CT
            )
        finally:
            self._updating = False
        self._color_shapes()
        self.shapes_layer.events.data.connect(self._on_shapes_changed)
        self._fill_table()
        n_levels = sum(1 for lv in report.levels.values() if lv.slices)
        self.status_label.setText(f"{len(self.entries)} ROIs on {n_levels} levels. Move or resize one to edit it.")
        self._record_in_case()
        if self.entries:
            self._go_to(self.entries[0][1])

    # ----------------------------------------------------------------- editing
    def _on_shapes_changed(self, event: Any) -> None:
        if self._updating or self.volume is None or self.report is None:
            return
        action = str(getattr(event, "action", "changed")).lower()
        if "ing" in action.split(".")[-1]:  # CHANGING / ADDING / REMOVING: wait for the end
            return
        indices = list(getattr(event, "data_indices", ()) or range(len(self.shapes_layer.data)))
        if "removed" in action:
            for i in sorted(indices, reverse=True):
                if 0 <= i < len(self.entries):
                    del self.entries[i]
        else:
            for i in indices:
                if i < 0:
                    i += len(self.shapes_layer.data)
                self.update_roi(i)
        self._rebuild_levels()

    def update_roi(self, index: int) -> None:
        """Recompute the ROI of shape ``index`` from its current outline (it becomes manual)."""
        from ..measure.hu_roi import note_heterogeneity
        from ..measure.manual_roi import Ellipse, measure_ellipse_roi, measure_polygon_roi

        assert self.volume is not None
        idx = np.asarray(self.shapes_layer.data[index], dtype=float)  # voxel indices: the layer is on the CT's grid
        z = int(np.clip(round(float(idx[:, 0].mean())), 0, self.volume.shape[0] - 1))
        if index < len(self.entries) and self._same_geometry(self.entries[index][1], idx):
            return
        shape_type = self.shapes_layer.shape_type[index]
        spacing_yx = self.volume.spacing[1:]
        level = self.entries[index][0] if index < len(self.entries) else self._level_at(z, idx[:, 1:].mean(axis=0))
        if shape_type in ("ellipse", "rectangle") and len(idx) == 4:
            ellipse = Ellipse.from_corners(z, idx[:, 1:], spacing_yx)
            roi = measure_ellipse_roi(self.volume, ellipse, level=level, lesions=self.lesions, origin="manual")
        else:
            roi = measure_polygon_roi(self.volume, z, idx[:, 1:], level=level, lesions=self.lesions, origin="manual")
        note_heterogeneity(roi)
        if index < len(self.entries):
            self.entries[index] = (level, roi)
        else:
            self.entries.append((level, roi))

    def _rebuild_levels(self) -> None:
        from ..measure.hu_flags import evaluate_flags
        from ..measure.hu_roi import LevelHu

        assert self.report is not None
        for lv in self.report.levels.values():
            lv.slices = []
        for level, roi in self.entries:
            if level not in self.report.levels:
                self.report.levels[level] = LevelHu(level=level, label=TOTALSEG_VERTEBRA_IDS.get(level),
                                                    base_caveats=list(self.report.volume_caveats))
            self.report.levels[level].slices.append(roi)
        for lv in self.report.levels.values():
            lv.slices.sort(key=lambda s: s.slice_index)
            if lv.slices and lv.problem and "no vertebral body" in lv.problem:
                lv.problem = None  # the user drew an ROI where no body was found automatically
        evaluate_flags(self.report)
        self._updating = True
        try:
            self.shapes_layer.features = self._features()
            self.shapes_layer.text.refresh(self.shapes_layer.features)
        finally:
            self._updating = False
        self._color_shapes()
        self._fill_table()
        self._record_in_case()

    def _level_at(self, z: int, yx: np.ndarray) -> str:
        """Level labelled at a point of slice ``z`` (else the level whose body range holds ``z``)."""
        y, x = (int(round(v)) for v in yx)
        if self.vertebrae is not None:
            a = self.vertebrae.array
            if 0 <= y < a.shape[1] and 0 <= x < a.shape[2]:
                level = level_of_label(int(a[z, y, x]))
                if level:
                    return level
        if self.report is not None:
            for lv in self.report.levels.values():
                if lv.body_z_range and lv.body_z_range[0] <= z <= lv.body_z_range[1]:
                    return lv.level
        return "unassigned"

    def _same_geometry(self, roi: "SliceRoi", corners: np.ndarray) -> bool:
        if roi.ellipse is None or len(corners) != 4:
            return False
        return bool(np.allclose(self._voxel_corners(roi), corners, atol=1e-4))

    # ----------------------------------------------------------------- display helpers
    def _voxel_corners(self, roi: "SliceRoi") -> np.ndarray:
        """The ROI's outline as (z, y, x) voxel indices of the CT (the shapes layer's data)."""
        assert self.volume is not None
        if roi.ellipse is not None:
            yx = roi.ellipse.corners_yx(self.volume.spacing[1:])
        else:
            yx = np.asarray(roi.polygon_yx or [], dtype=float)
        return np.column_stack([np.full(len(yx), roi.slice_index, dtype=float), yx])

    def _go_to(self, roi: "SliceRoi") -> None:
        """Show the slice the ROI measures."""
        assert self.volume is not None
        world = geometry.world_from_index(self.volume.affine, self._voxel_corners(roi)[:1])[:, ::-1]
        self.viewer.dims.set_point(0, float(world[0, 0]))

    def _features(self) -> dict[str, list[Any]]:
        return {
            "level": [lv for lv, _ in self.entries],
            "slice": [r.slice_index for _, r in self.entries],
            "mean_hu": [np.nan if r.stats.mean is None else round(r.stats.mean, 1) for _, r in self.entries],
            "origin": [r.origin for _, r in self.entries],
            "label": [f"{lv}: {_fmt(r.stats.mean)} HU" + (" (manual)" if r.origin == "manual" else "")
                      for lv, r in self.entries],
        }

    def _color_shapes(self) -> None:
        layer = self.shapes_layer
        if layer is None or not len(layer.data):
            return
        from napari.utils.colormaps.standardize_color import transform_color

        colors = np.array([transform_color(_MANUAL_COLOR if r.origin == "manual" else _AUTO_COLOR)[0]
                           for _, r in self.entries[: len(layer.data)]])
        if len(colors) == len(layer.data):
            self._updating = True
            try:
                layer.edge_color = colors
            finally:
                self._updating = False

    def _fill_table(self) -> None:
        report = self.report
        assert report is not None
        levels = list(report.levels.values())
        self.table.setRowCount(len(levels))
        for row, lv in enumerate(levels):
            c = lv.combined
            flags = "; ".join(("⚑ " if f.raised else "") + f.message.split(": ", 1)[-1] for f in lv.flags)
            if lv.problem:
                flags = lv.problem
            elif lv.fractured:
                flags = "fractured: not flagged"
            values = (lv.level, _fmt(c.mean), _fmt(c.median), _fmt(c.sd), str(c.n_voxels), lv.origin,
                      "/".join(_fmt(s.stats.mean) for s in lv.slices) or "—", flags)
            tip = "\n".join([*(f"{f.message}\nSource: {f.source}" for f in lv.flags), *lv.caveats])
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setToolTip(tip)
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()
        volume_caveats = set(report.volume_caveats)
        lines = [f"All levels: {c}" for c in report.volume_caveats]
        for lv in levels:
            lines += [f"{lv.level}: {c}" for c in lv.caveats if c not in volume_caveats]
        self.caveats_label.setPlainText("\n".join(lines) if lines else "No caveats.")

    def _go_to_selected_level(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if not rows or self.report is None:
            return
        level = self.table.item(rows[0].row(), 0).text()
        for lv, roi in self.entries:
            if lv == level:
                self._go_to(roi)
                return

    def level_row(self, level: str) -> dict[str, str]:
        """The table's row of ``level`` as {column: text} (for tests and scripting)."""
        for row in range(self.table.rowCount()):
            if self.table.item(row, 0).text() == level:
                return {name: self.table.item(row, col).text() for col, name in enumerate(_COLUMNS)}
        raise KeyError(level)

    def _record_in_case(self) -> None:
        """Write the ROIs and their figures into the viewer's live Case (autosaved)."""
        if self.report is None or self.volume is None:
            return
        from ..measure.hu_roi import record_hu_in_case
        from .session import session_of

        session = session_of(self.viewer)
        record_hu_in_case(session.case, self.report, self.volume)
        session.commit(f"trabecular HU ROIs on {sum(1 for lv in self.report.levels.values() if lv.slices)} levels",
                       topic="rois", target=ROI_LAYER_NAME)


def _keep_manual(report: "HuReport", manual: list[tuple[str, "SliceRoi"]]) -> None:
    """Put the user's moved or drawn ROIs back in place of the new automatic ones of their level."""
    from ..measure.hu_flags import evaluate_flags

    levels = {level for level, _ in manual}
    for level in levels:
        if level in report.levels:
            report.levels[level].slices = sorted((roi for lv, roi in manual if lv == level), key=lambda r: r.slice_index)
    if levels:
        evaluate_flags(report)


def _fmt(value: float | None) -> str:
    return "—" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:.0f}"


def _core(layer: Any, kind: str) -> Any:
    entry = getattr(layer, "metadata", {}).get(METADATA_KEY, {})
    return entry.get(kind) if entry.get("kind") == kind else None


def _labels_of(layer: Any, volume: Volume, name: str) -> LabelMap:
    """The layer's *current* labels (the user's painting included) on the CT grid."""
    from ..errors import GridMismatchError

    core = _core(layer, "labels")
    affine = core.affine if core is not None else geometry.affine_from_napari(layer.scale, layer.translate)
    data = np.asarray(layer.data)
    labels = LabelMap(array=data, affine=affine, names=dict(core.names) if core is not None else {},
                      name=layer.name, source=core.source if core is not None else "napari layer")
    if not geometry.same_grid(data.shape, affine, volume.shape, volume.affine, tolerance_mm=1e-2):
        raise GridMismatchError(None, f"labels layer '{layer.name}' is not on the grid of the CT '{volume.name}'")
    return labels


def _fill(combo: QComboBox, names: list[str], prefer: tuple[str, ...] = (), avoid: tuple[str, ...] = (),
          default: str | None = None) -> None:
    current = combo.currentText()
    combo.blockSignals(True)
    combo.clear()
    combo.addItems(names)
    choice = current if current in names else None
    if choice is None:
        for name in names:
            low = name.lower()
            if any(p in low for p in prefer) and not any(a in low for a in avoid):
                choice = name
                break
    if choice is None:
        choice = default if default in names else (next((n for n in names if not any(a in n.lower() for a in avoid)), None))
    if choice is not None:
        combo.setCurrentText(choice)
    combo.blockSignals(False)
