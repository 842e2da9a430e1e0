"""The report's images: a sagittal overview, one axial image per lesion, the HU ROIs on their slices.

Every image is drawn in millimetres (pixel size from the volume's affine, so the aspect
is true), with patient-direction letters and a scale bar, the way radiologists view
them: sagittal with the head up and anterior to the left, axial from the feet (anterior
up, the patient's left on the right of the image). Arrays are first reoriented to
(S, P, L) (:func:`~napari_spine_mets.io.geometry.reorient_to_lps`: transposes and flips
only), so an image stored in any axis order comes out the same way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..anatomy import label_of_level, level_of_label
from ..case_parts import Origin, Roi
from ..io import geometry
from .drawing import (KIND_STYLE, ROI_COLOURS, draw_contour, new_figure, orientation_letters, outline_effect,
                      png_bytes, scale_bar, window_for)
from .inputs import ReportInputs
from .lesion_list import LesionEntry
from .model import ReportFigure
from .text import fmt

__all__ = ["sagittal_overview", "lesion_images", "hu_roi_images"]

log = logging.getLogger(__name__)

_DPI = 150


@dataclass
class _View:
    """The volume and label arrays on one (S, P, L) grid."""

    image: np.ndarray
    affine: np.ndarray
    spacing: tuple[float, float, float]
    vertebrae: np.ndarray | None
    lesions: np.ndarray | None
    window: tuple[float, float, str]

    def mm(self, axis: int, start: int, stop: int) -> np.ndarray:
        """Pixel-centre positions (mm from index 0) of indices start..stop-1 along ``axis``."""
        return np.arange(start, stop, dtype=float) * self.spacing[axis]


def _view(inputs: ReportInputs) -> _View:
    volume = inputs.volume
    assert volume is not None
    image, affine = geometry.reorient_to_lps(np.asarray(volume.array), volume.affine)
    vert = geometry.reorient_to_lps(np.asarray(inputs.vertebrae.array), inputs.vertebrae.affine)[0] \
        if inputs.vertebrae is not None else None
    les = geometry.reorient_to_lps(np.asarray(inputs.lesions.array), inputs.lesions.affine)[0] \
        if inputs.lesions is not None else None
    return _View(image, affine, geometry.spacing_of(affine), vert, les,
                 window_for(image, volume.metadata.modality))


def _box(lo: int, hi: int, margin: int, size: int) -> slice:
    return slice(max(0, lo - margin), min(size, hi + margin + 1))


def _show(ax: Any, view: _View, plane: np.ndarray, cols_mm: np.ndarray, rows_mm: np.ndarray, *,
          rows_up: bool) -> None:
    """Show a 2D plane in mm; ``rows_up`` puts row 0 at the bottom (sagittal), else at the top (axial)."""
    low, high, _ = view.window
    dx = cols_mm[1] - cols_mm[0] if len(cols_mm) > 1 else 1.0
    dy = rows_mm[1] - rows_mm[0] if len(rows_mm) > 1 else 1.0
    left, right = cols_mm[0] - dx / 2, cols_mm[-1] + dx / 2
    first, last = rows_mm[0] - dy / 2, rows_mm[-1] + dy / 2
    extent = (left, right, first, last) if rows_up else (left, right, last, first)
    ax.imshow(plane, cmap="gray", vmin=low, vmax=high, origin="lower" if rows_up else "upper", extent=extent,
              interpolation="bilinear", aspect="equal")
    ax.set_axis_off()


# ----------------------------------------------------------------------------- sagittal
def sagittal_overview(inputs: ReportInputs, lesions: list[LesionEntry]) -> ReportFigure | None:
    """Mid-sagittal CT through the spine, level names at vertebra centroids, lesion outlines by type."""
    if inputs.volume is None:
        return None
    view = _view(inputs)
    nz, ny, nx = view.image.shape
    centroids: dict[str, tuple[float, float]] = {}
    if view.vertebrae is not None and view.vertebrae.any():
        spine = view.vertebrae > 0
        zs, ys, xs = (np.flatnonzero(spine.any(axis=a)) for a in ((1, 2), (0, 2), (0, 1)))
        x = int(round(float(np.average(np.arange(nx), weights=spine.sum(axis=(0, 1))))))
        margin_y = int(round(45.0 / view.spacing[1]))
        rows = _box(int(zs[0]), int(zs[-1]), int(round(15.0 / view.spacing[0])), nz)
        cols = _box(int(ys[0]), int(ys[-1]), margin_y, ny)
        centroids = _centroids(view.vertebrae)
        where = f"through the middle of the vertebra labels (column {x} of {nx})"
    else:
        x, rows, cols = nx // 2, slice(0, nz), slice(0, ny)
        where = f"through the middle of the image (column {x} of {nx}): no vertebra labels to centre on"
    plane = view.image[rows, cols, x]
    rows_mm, cols_mm = view.mm(0, rows.start, rows.stop), view.mm(1, cols.start, cols.stop)
    height_mm, width_mm = (rows.stop - rows.start) * view.spacing[0], (cols.stop - cols.start) * view.spacing[1]
    ratio = height_mm / width_mm
    # drawn near the size the PDF shows it (page 1, about 6 in high), so the text keeps its size
    legend_h = 0.5
    image_h = min(6.6, 6.2 * ratio)
    image_w = image_h / ratio
    fig_w = max(image_w, 3.8)
    fig = new_figure(fig_w, image_h + legend_h)
    ax = fig.add_axes(((1 - image_w / fig_w) / 2, legend_h / (image_h + legend_h), image_w / fig_w,
                       image_h / (image_h + legend_h)))
    _show(ax, view, plane, cols_mm, rows_mm, rows_up=True)
    drawn = _sagittal_lesions(ax, view, lesions, rows, cols, cols_mm, rows_mm)
    for level, (zc, yc) in centroids.items():
        if rows.start <= zc < rows.stop:
            ax.text(yc * view.spacing[1], zc * view.spacing[0], level, color="white", fontsize=8.5, fontweight="bold",
                    ha="center", va="center", path_effects=outline_effect(), parse_math=False)
    orientation_letters(ax, "A", "P", "S", "I")
    scale_bar(ax, 50.0, x0=cols_mm[0] + 6 * view.spacing[1], y0=rows_mm[0] + 8 * view.spacing[0])
    _legend(fig, sorted({e.kind for e in drawn}))
    png, aspect = png_bytes(fig, _DPI)
    low, high, window = view.window
    caption = (f"Sagittal slice {where}, {window}; head up, anterior to the left. "
               + (f"Level names at the centroid of each vertebra label ('{inputs.vertebrae_key}'). "
                  if centroids else "No vertebra labels: levels not marked. ")
               + (f"Lesion outlines from '{inputs.lesions_key}', projected across the whole width so that lesions "
                  f"off the midline show too; {len(drawn)} drawn" if inputs.lesions is not None else "No lesion map")
               + (", rejected lesions left out." if any(e.rejected for e in lesions) else "."))
    return ReportFigure("sagittal_overview", "Sagittal overview", png, caption, aspect, "overview")


def _centroids(vertebrae: np.ndarray) -> dict[str, tuple[float, float]]:
    from scipy import ndimage

    out = {}
    for index, box in enumerate(ndimage.find_objects(vertebrae), start=1):
        level = level_of_label(index)
        if box is None or level is None:
            continue
        zz, yy, _ = np.nonzero(vertebrae[box] == index)
        out[level] = (box[0].start + float(zz.mean()), box[1].start + float(yy.mean()))
    return out


def _sagittal_lesions(ax: Any, view: _View, lesions: list[LesionEntry], rows: slice, cols: slice,
                      cols_mm: np.ndarray, rows_mm: np.ndarray) -> list[LesionEntry]:
    if view.lesions is None:
        return []
    projected = view.lesions[rows, cols, :]
    drawn = []
    for entry in lesions:
        if entry.rejected or not entry.in_map:
            continue
        mask = (projected == entry.id).any(axis=2)
        if not mask.any():
            continue
        colour, style, _ = KIND_STYLE.get(entry.kind, KIND_STYLE["unknown"])
        draw_contour(ax, mask, cols_mm, rows_mm, colour=colour, style=style)
        zz, yy = np.nonzero(mask)
        ax.text(cols_mm[int(yy.min())] - 1.0, rows_mm[int(zz.max())], f"#{entry.id}", color=colour,
                fontsize=8, ha="right", va="bottom", path_effects=outline_effect(), parse_math=False)
        drawn.append(entry)
    return drawn


def _legend(fig: Any, kinds: list[str]) -> None:
    from matplotlib.lines import Line2D

    if not kinds:
        return
    handles = [Line2D([], [], color=KIND_STYLE[k][0], linestyle=KIND_STYLE[k][1], linewidth=2,
                      label=KIND_STYLE[k][2]) for k in ("lytic", "blastic", "mixed", "unknown") if k in kinds]
    legend = fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=7, frameon=True,
                        facecolor="#202020", edgecolor="#202020", labelcolor="white", title="lesion type",
                        title_fontsize=7, bbox_to_anchor=(0.5, 0.0))
    legend.get_title().set_color("white")


# ----------------------------------------------------------------------------- lesions
def lesion_images(inputs: ReportInputs, lesions: list[LesionEntry]) -> list[ReportFigure]:
    """One axial image per (not rejected) lesion, at its largest cross-section, cropped around its vertebra."""
    if inputs.volume is None or inputs.lesions is None:
        return []
    from scipy import ndimage

    view = _view(inputs)
    assert view.lesions is not None
    boxes = ndimage.find_objects(view.lesions)
    out = []
    for entry in lesions:
        box = boxes[entry.id - 1] if 0 < entry.id <= len(boxes) else None
        if entry.rejected or box is None:
            continue
        counts = (view.lesions[box] == entry.id).sum(axis=(1, 2))
        z = box[0].start + int(np.argmax(counts))
        out.append(_lesion_figure(view, inputs, entry, z, int(counts.max())))
    return out


def _lesion_figure(view: _View, inputs: ReportInputs, entry: LesionEntry, z: int, n_pixels: int) -> ReportFigure:
    assert view.lesions is not None
    _, ny, nx = view.image.shape
    lesion2d = view.lesions[z] == entry.id
    around = "the lesion"
    region = lesion2d
    if view.vertebrae is not None and entry.level:
        try:
            vert2d = view.vertebrae[z] == label_of_level(entry.level)
        except KeyError:
            vert2d = np.zeros_like(lesion2d)
        if vert2d.any():
            region, around = vert2d | lesion2d, entry.level
    margin = 12.0 if region is not lesion2d else 30.0
    rows, cols = _crop(region, view.spacing[1:], margin, minimum_mm=70.0)
    rows_mm, cols_mm = view.mm(1, rows.start, rows.stop), view.mm(2, cols.start, cols.stop)
    aspect = (rows.stop - rows.start) * view.spacing[1] / ((cols.stop - cols.start) * view.spacing[2])
    fig = new_figure(min(2.5 / aspect, 3.3), min(2.5, 3.3 * aspect))  # about the size the PDF shows
    ax = fig.add_axes((0, 0, 1, 1))
    _show(ax, view, view.image[z, rows, cols], cols_mm, rows_mm, rows_up=False)
    others = view.lesions[z, rows, cols]
    for other in (int(v) for v in np.unique(others) if v > 0 and v != entry.id):
        draw_contour(ax, others == other, cols_mm, rows_mm, colour="#bbbbbb", style="dotted", width=0.9)
    colour, style, _ = KIND_STYLE.get(entry.kind, KIND_STYLE["unknown"])
    draw_contour(ax, lesion2d[rows, cols], cols_mm, rows_mm, colour=colour, style=style, width=1.8)
    orientation_letters(ax, "R", "L", "A", "P")
    scale_bar(ax, 20.0, x0=cols_mm[0] + 4 * view.spacing[2], y0=rows_mm[-1] - 5 * view.spacing[1])
    png, ratio = png_bytes(fig, _DPI)
    z_mm = float(geometry.world_from_index(view.affine, np.array([z, 0, 0]))[2])
    area = n_pixels * view.spacing[1] * view.spacing[2]
    title = f"Lesion #{entry.id}: {entry.level or 'level unknown'}, {entry.kind}"
    caption = (f"Axial slice {z} (z = {z_mm:.1f} mm), the lesion's largest cross-section ({area:.0f} mm²), "
               f"{view.window[2]}, cropped around {around}; viewed from the feet (anterior up, patient's left on the "
               "right). Other lesions on this slice dotted grey.")
    return ReportFigure(f"lesion_{entry.id}", title, png, caption, ratio, "lesion")


def _crop(region: np.ndarray, spacing_yx: tuple[float, float], margin_mm: float, minimum_mm: float,
          max_aspect: float = 1.3) -> tuple[slice, slice]:
    """Rows and columns around ``region`` with a margin, at least ``minimum_mm`` each way, never more
    than ``max_aspect`` times longer one way than the other (so images of a kind come out alike)."""
    half_mm, centre = [], []
    for axis, step in ((0, spacing_yx[0]), (1, spacing_yx[1])):
        idx = np.flatnonzero(region.any(axis=1 - axis))
        lo, hi = int(idx[0]), int(idx[-1])
        half_mm.append(max((hi - lo) / 2 * step + margin_mm, minimum_mm / 2))
        centre.append((lo + hi) / 2)
    longest = max(half_mm)
    half_mm = [max(h, longest / max_aspect) for h in half_mm]
    out = []
    for axis, step in ((0, spacing_yx[0]), (1, spacing_yx[1])):
        half, size = half_mm[axis] / step, region.shape[axis]
        out.append(slice(max(0, int(np.floor(centre[axis] - half))), min(size, int(np.ceil(centre[axis] + half)) + 1)))
    return out[0], out[1]


# ----------------------------------------------------------------------------- HU ROIs
def hu_roi_images(inputs: ReportInputs, rois: list[Roi]) -> list[ReportFigure]:
    """Per level, its trabecular HU ROIs outlined on their axial slices, with each slice's figures."""
    if inputs.volume is None:
        return []
    view = _view(inputs)
    by_level: dict[str, list[tuple[int, np.ndarray, Roi]]] = {}
    for roi in rois:
        for polygon in roi.polygons:
            if len(polygon.vertices_mm) < 3:
                continue
            idx = geometry.index_from_world(view.affine, np.asarray(polygon.vertices_mm, dtype=float))
            z = int(round(float(idx[:, 0].mean())))
            if 0 <= z < view.image.shape[0]:
                by_level.setdefault(roi.level or "?", []).append((z, idx[:, 1:], roi))
    from .text import level_key

    return [_roi_figure(view, inputs, level, sorted(items, key=lambda t: -t[0]))
            for level, items in sorted(by_level.items(), key=lambda kv: level_key(kv[0]))]


def _roi_figure(view: _View, inputs: ReportInputs, level: str,
                items: list[tuple[int, np.ndarray, Roi]]) -> ReportFigure:
    n = len(items)
    panel = 2.3
    fig = new_figure(panel * max(n, 3), panel + 0.05)
    rows, cols = _crop(_roi_region(view, level, items), view.spacing[1:], 8.0, minimum_mm=60.0)
    rows_mm, cols_mm = view.mm(1, rows.start, rows.stop), view.mm(2, cols.start, cols.stop)
    slices = []
    for i, (z, outline_yx, roi) in enumerate(items):
        width = 1.0 / max(n, 3)
        ax = fig.add_axes((i * width + 0.005, 0.02, width - 0.01, 0.96))
        _show(ax, view, view.image[z, rows, cols], cols_mm, rows_mm, rows_up=False)
        if view.lesions is not None:
            lesions = view.lesions[z, rows, cols]
            for lesion_id in (int(v) for v in np.unique(lesions) if v > 0):
                draw_contour(ax, lesions == lesion_id, cols_mm, rows_mm, colour="#ff7f0e", style="dotted", width=1.0)
        colour = ROI_COLOURS["manual" if roi.origin == Origin.MANUAL else "automatic"]
        closed = np.vstack([outline_yx, outline_yx[:1]])
        ax.plot(closed[:, 1] * view.spacing[2], closed[:, 0] * view.spacing[1], color=colour, linewidth=1.4)
        m = roi.measurements
        figures = f"slice {z}\n{fmt(m.get('hu_mean'))} ± {fmt(m.get('hu_sd'))} HU\nn = {fmt(m.get('hu_n_voxels'))}"
        ax.text(0.03, 0.03, figures,
                transform=ax.transAxes, color="white", fontsize=6.5, ha="left", va="bottom",
                path_effects=outline_effect(), parse_math=False)
        orientation_letters(ax, "R", "L", "A", "P", size=6.5)
        slices.append(str(z))
    png, ratio = png_bytes(fig, _DPI)
    origins = {("drawn or moved by the user" if r.origin == Origin.MANUAL else "automatic") for _, _, r in items}
    caption = (f"{level}: trabecular HU ROI(s) on axial slice(s) {', '.join(slices)} (superior first), "
               f"{view.window[2]}, viewed from the feet; {' and '.join(sorted(origins))} ROI(s) (yellow automatic, "
               "magenta drawn or moved by the user); lesions dotted orange (their voxels are left out of the ROI). "
               "Mean ± SD and voxel count of each slice from the case's ROI measurements.")
    return ReportFigure(f"hu_roi_{level}", f"Trabecular HU ROIs: {level}", png, caption, ratio, "hu_roi")


def _roi_region(view: _View, level: str, items: list[tuple[int, np.ndarray, Roi]]) -> np.ndarray:
    """Where to crop every panel of a level alike: its vertebra on those slices, else the ROIs."""
    region = np.zeros(view.image.shape[1:], dtype=bool)
    try:
        label = label_of_level(level)
    except KeyError:
        label = None
    if view.vertebrae is not None and label is not None:
        for z, _, _ in items:
            region |= view.vertebrae[z] == label
    if not region.any():
        for _, outline_yx, _ in items:
            lo = np.maximum(np.floor(outline_yx.min(axis=0)).astype(int), 0)
            hi = np.ceil(outline_yx.max(axis=0)).astype(int)
            region[lo[0]:hi[0] + 1, lo[1]:hi[1] + 1] = True
    return region
