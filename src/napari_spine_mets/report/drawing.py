"""Small drawing helpers shared by the report's images (matplotlib, Agg only, no pyplot).

pyplot keeps global state and is not thread-safe; reports are rendered in worker threads
(napari) and processes (cohort), so every figure here is a plain ``Figure`` on an Agg
canvas. Lesion colours and line styles differ by type so the types stay apart in
greyscale print and for colour-blind readers.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from ..case_parts import LesionKind
from ..overlay.colours import LESION_KIND_COLOURS

__all__ = ["KIND_STYLE", "new_figure", "png_bytes", "outline_effect", "orientation_letters", "scale_bar",
           "window_for", "draw_contour"]

def _hex(rgba: tuple[float, float, float, float]) -> str:
    return "#" + "".join(f"{round(c * 255):02x}" for c in rgba[:3])


#: Lesion type -> (colour, line style, legend text); colours from the project's one lesion
#: palette (overlay.colours), line styles so the types differ in greyscale prints too.
KIND_STYLE: dict[str, tuple[str, str, str]] = {
    "lytic": (_hex(LESION_KIND_COLOURS[LesionKind.LYTIC]), "solid", "lytic"),
    "blastic": (_hex(LESION_KIND_COLOURS[LesionKind.BLASTIC]), "dashed", "blastic"),
    "mixed": (_hex(LESION_KIND_COLOURS[LesionKind.MIXED]), "dashdot", "mixed"),
    "unknown": (_hex(LESION_KIND_COLOURS[LesionKind.UNKNOWN]), "dotted", "type not recorded"),
}
ROI_COLOURS = {"automatic": "yellow", "manual": "magenta"}


def new_figure(width_in: float, height_in: float) -> Any:
    """A Figure on an Agg canvas (safe off the main thread)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), facecolor="white")
    FigureCanvasAgg(fig)
    return fig


def png_bytes(fig: Any, dpi: int = 150) -> tuple[bytes, float]:
    """The figure as PNG bytes and its height/width ratio."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, facecolor=fig.get_facecolor())
    width, height = fig.get_size_inches()
    return buffer.getvalue(), float(height / width)


def outline_effect(width: float = 2.5) -> list[Any]:
    """A dark halo so white or coloured text stays readable on any grey."""
    from matplotlib import patheffects

    return [patheffects.withStroke(linewidth=width, foreground="black")]


def orientation_letters(ax: Any, left: str, right: str, top: str, bottom: str, size: float = 8) -> None:
    """Patient-direction letters at the middle of each edge of an image."""
    style = dict(color="#ffd700", fontsize=size, fontweight="bold", transform=ax.transAxes,
                 path_effects=outline_effect(), parse_math=False)
    ax.text(0.015, 0.5, left, ha="left", va="center", **style)
    ax.text(0.985, 0.5, right, ha="right", va="center", **style)
    ax.text(0.5, 0.985, top, ha="center", va="top", **style)
    ax.text(0.5, 0.015, bottom, ha="center", va="bottom", **style)


def scale_bar(ax: Any, length_mm: float, *, x0: float, y0: float, size: float = 7) -> None:
    """A horizontal bar of ``length_mm`` starting at data point (x0, y0) (data units are mm)."""
    ax.plot([x0, x0 + length_mm], [y0, y0], color="white", linewidth=2, solid_capstyle="butt",
            path_effects=outline_effect(4))
    ax.text(x0 + length_mm / 2, y0, f"{length_mm:g} mm", color="white", fontsize=size, ha="center",
            va="bottom", path_effects=outline_effect(), parse_math=False)


def window_for(array: np.ndarray, modality: str) -> tuple[float, float, str]:
    """(low, high, words): the bone window for CT, else the 1st-99th percentile of the image."""
    from ..display import WINDOW_PRESETS, contrast_limits

    if (modality or "").upper() in ("CT", ""):
        level, width = WINDOW_PRESETS["bone"]
        low, high = contrast_limits("bone")
        return low, high, f"bone window (level {level:g} HU, width {width:g} HU)"
    sample = np.asarray(array)[:: max(1, array.shape[0] // 32)]
    low, high = (float(v) for v in np.percentile(sample, [1, 99]))
    return low, max(high, low + 1.0), f"window 1st-99th percentile ({low:.0f}-{high:.0f})"


def draw_contour(ax: Any, mask: np.ndarray, x_mm: np.ndarray, y_mm: np.ndarray, *, colour: str, style: str,
                 width: float = 1.6) -> None:
    """Outline of a 2D boolean ``mask`` whose pixel centres are at ``x_mm`` (columns) and ``y_mm`` (rows)."""
    if not mask.any():
        return
    padded = np.pad(mask.astype(float), 1)
    dx = x_mm[1] - x_mm[0] if len(x_mm) > 1 else 1.0
    dy = y_mm[1] - y_mm[0] if len(y_mm) > 1 else 1.0
    xs = np.concatenate([[x_mm[0] - dx], x_mm, [x_mm[-1] + dx]])
    ys = np.concatenate([[y_mm[0] - dy], y_mm, [y_mm[-1] + dy]])
    ax.contour(xs, ys, padded, levels=[0.5], colors=[colour], linestyles=[style], linewidths=[width])
