"""Colours for the overlays: per vertebra label id an RGBA, and the legend that explains them.

Categorical metrics use the Okabe-Ito palette (Okabe M, Ito K. Color Universal Design,
2008), designed to stay distinguishable with the common colour-vision deficiencies;
ordered bands (SINS, HU) run bluish green -> yellow -> vermillion. Continuous metrics
(lesion burden, nomogram probability) use ColorBrewer's YlOrRd sequential scheme (Brewer
CA, colorbrewer2.org; marked colour-blind safe there), light for low and dark red for
high, over a fixed 0-100 % range so that colours mean the same in every case. Values not
computed are grey. The band edges come from :mod:`napari_spine_mets.scores`, never from
numbers typed here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from ..anatomy import LEVELS
from ..case_parts import LesionKind
from ..scores.hu_bands import NORMAL_HU, OSTEOPOROSIS_HU, hu_band
from ..scores.sins import (
    ALIGNMENT_POINTS,
    COLLAPSE_POINTS,
    LESION_POINTS,
    LOCATION_POINTS,
    PAIN_POINTS,
    POSTEROLATERAL_POINTS,
    sins_band,
)
from .metrics import METRIC_TITLES, Metric, OverlayValues

__all__ = [
    "RGBA",
    "OKABE_ITO",
    "NOT_COMPUTED_COLOUR",
    "NOT_COMPUTED_TEXT",
    "LESION_KIND_COLOURS",
    "REJECTED_LESION_COLOUR",
    "SEQUENTIAL_ANCHORS",
    "LegendEntry",
    "ColourScheme",
    "hex_rgba",
    "sequential",
    "level_colour",
    "sins_band_ranges",
    "hu_band_order",
    "vertebra_colours",
    "lesion_colours",
    "legend_text",
]

RGBA = tuple[float, float, float, float]


def hex_rgba(code: str, alpha: float = 1.0) -> RGBA:
    """``"#RRGGBB"`` as an (r, g, b, a) tuple of floats 0-1."""
    code = code.lstrip("#")
    r, g, b = (int(code[i : i + 2], 16) / 255.0 for i in (0, 2, 4))
    return (r, g, b, float(alpha))


#: Okabe-Ito's eight colours.
OKABE_ITO: dict[str, RGBA] = {
    "black": hex_rgba("#000000"),
    "orange": hex_rgba("#E69F00"),
    "sky blue": hex_rgba("#56B4E9"),
    "bluish green": hex_rgba("#009E73"),
    "yellow": hex_rgba("#F0E442"),
    "blue": hex_rgba("#0072B2"),
    "vermillion": hex_rgba("#D55E00"),
    "reddish purple": hex_rgba("#CC79A7"),
}

_NAMES: dict[RGBA, str] = {rgba: name for name, rgba in OKABE_ITO.items()}

#: A value that was not computed (no finding, no ROI, no lesion map).
NOT_COMPUTED_COLOUR: RGBA = hex_rgba("#8C8C8C")
NOT_COMPUTED_TEXT = "not computed"
_NAMES[NOT_COMPUTED_COLOUR] = "grey"

#: One colour per lesion type, shared by every dock and report that colours lesions
#: (the same choice as the lesions dock: lytic orange, blastic sky blue, mixed reddish
#: purple, type not known yellow).
LESION_KIND_COLOURS: dict[LesionKind, RGBA] = {
    LesionKind.LYTIC: OKABE_ITO["orange"],
    LesionKind.BLASTIC: OKABE_ITO["sky blue"],
    LesionKind.MIXED: OKABE_ITO["reddish purple"],
    LesionKind.UNKNOWN: OKABE_ITO["yellow"],
}
#: A lesion a user dismissed: still drawn (nothing is hidden), faint grey.
REJECTED_LESION_COLOUR: RGBA = (0.62, 0.62, 0.62, 0.3)
_NAMES[REJECTED_LESION_COLOUR] = "faint grey"

# Levels cycle through the seven non-black Okabe-Ito colours, fixed by level (T12 is always
# the same colour), so neighbours always differ.
_LEVEL_CYCLE = ("orange", "sky blue", "bluish green", "yellow", "blue", "vermillion", "reddish purple")
# Ordered bands, best to worst (the same three for SINS and HU: one "fine / watch / act" reading).
_BAND_COLOURS = ("bluish green", "yellow", "vermillion")

#: ColorBrewer YlOrRd, 9 classes, low to high.
SEQUENTIAL_ANCHORS: tuple[RGBA, ...] = tuple(hex_rgba(c) for c in (
    "#FFFFCC", "#FFEDA0", "#FED976", "#FEB24C", "#FD8D3C", "#FC4E2A", "#E31A1C", "#BD0026", "#800026"))
#: Legend stops of a continuous scale, as fractions of its range.
_STOPS = (0.0, 0.25, 0.5, 0.75, 1.0)
_SEQUENTIAL_NAMES = {0.0: "pale yellow", 0.5: "orange", 1.0: "dark red"}


@dataclass(frozen=True)
class LegendEntry:
    """One row of a legend: a swatch colour, what it means, and the colour's name (for a text legend)."""

    text: str
    colour: RGBA
    colour_name: str = ""
    #: A shorter text for tight spaces (the canvas); empty: use ``text``.
    short_text: str = ""


@dataclass
class ColourScheme:
    """Colours by label id, the colour of ids not listed (None: leave them as they were), and the legend."""

    title: str
    colours: dict[int, RGBA] = field(default_factory=dict)
    legend: list[LegendEntry] = field(default_factory=list)
    default: RGBA | None = None
    notes: list[str] = field(default_factory=list)
    #: True for a continuous scale (the legend's swatches are stops of it).
    continuous: bool = False
    #: The metric coloured ("" for lesion types).
    metric: str = ""
    #: A shorter title for tight spaces (the canvas); empty: use ``title``.
    short_title: str = ""


def sequential(fraction: float) -> RGBA:
    """YlOrRd colour of ``fraction`` (0-1, clipped), linearly interpolated between the anchors."""
    f = min(max(float(fraction), 0.0), 1.0) * (len(SEQUENTIAL_ANCHORS) - 1)
    i = min(int(math.floor(f)), len(SEQUENTIAL_ANCHORS) - 2)
    t = f - i
    a, b = np.asarray(SEQUENTIAL_ANCHORS[i]), np.asarray(SEQUENTIAL_ANCHORS[i + 1])
    return tuple(float(v) for v in a + (b - a) * t)  # type: ignore[return-value]


def level_colour(level: str) -> RGBA:
    """The colour of a level, the same in every case."""
    return OKABE_ITO[_LEVEL_CYCLE[LEVELS.index(level) % len(_LEVEL_CYCLE)]]


def sins_band_ranges() -> list[tuple[str, int, int]]:
    """(band, lowest total, highest total) in order, from :func:`scores.sins.sins_band` and the point tables."""
    tables = (LOCATION_POINTS, PAIN_POINTS, LESION_POINTS, ALIGNMENT_POINTS, COLLAPSE_POINTS, POSTEROLATERAL_POINTS)
    highest = sum(max(t.values()) for t in tables)
    out: list[tuple[str, int, int]] = []
    for total in range(highest + 1):
        band = sins_band(total)
        if out and out[-1][0] == band:
            out[-1] = (band, out[-1][1], total)
        else:
            out.append((band, total, total))
    return out


def hu_band_order() -> list[str]:
    """HU bands from best to worst, from :func:`scores.hu_bands.hu_band` at its own thresholds."""
    return [hu_band(math.inf), hu_band(NORMAL_HU), hu_band(OSTEOPOROSIS_HU)]


def _not_computed_entry(values: OverlayValues, metric: Metric) -> list[LegendEntry]:
    missing = [v.level for v in values.levels.values() if v.value(metric) is None]
    if not missing:
        return []
    return [_entry(f"{NOT_COMPUTED_TEXT} ({', '.join(missing)})", NOT_COMPUTED_COLOUR)]


def _entry(text: str, colour: RGBA, short_text: str = "") -> LegendEntry:
    return LegendEntry(text, colour, _NAMES.get(colour, ""), short_text)


def vertebra_colours(values: OverlayValues, metric: Metric | str,
                     others: dict[int, str] | None = None) -> ColourScheme:
    """Colour per vertebra label id for ``metric``, with its legend.

    ``others`` (label id -> name) are structures of the same map without a level (sacrum,
    spinal cord): they are drawn grey, like a value not computed, so that no metric colour
    is suggested for them, and named in the legend.
    """
    scheme = _metric_colours(values, Metric(metric))
    if others:
        for label_id in others:
            scheme.colours[int(label_id)] = NOT_COMPUTED_COLOUR
        names = ", ".join(str(name).replace("_", " ") for name in others.values())
        scheme.legend.append(_entry(f"no level: {names}", NOT_COMPUTED_COLOUR))
    return scheme


def _metric_colours(values: OverlayValues, metric: Metric) -> ColourScheme:
    scheme = ColourScheme(title=METRIC_TITLES[metric], notes=list(values.notes), metric=metric.value)
    rows = values.levels.values()
    if metric is Metric.LEVEL:
        for v in rows:
            scheme.colours[v.label_id] = level_colour(v.level)
            scheme.legend.append(_entry(v.level, scheme.colours[v.label_id]))
        return scheme
    if metric in (Metric.SINS_BAND, Metric.HU_BAND):
        if metric is Metric.SINS_BAND:
            bands = sins_band_ranges()
            names = [b for b, _, _ in bands]
            texts = [f"{b} (SINS {lo}–{hi})" for b, lo, hi in bands]
            shorts = [f"{b.split()[0]} (SINS {lo}–{hi})" for b, lo, hi in bands]
        else:
            names = hu_band_order()
            texts = list(names)
            shorts = list(names)  # already short; "range" stays (the bands are a reading of two thresholds)
        colour_of = {name: OKABE_ITO[_BAND_COLOURS[i]] for i, name in enumerate(names)}
        for v in rows:
            band = v.value(metric)
            scheme.colours[v.label_id] = NOT_COMPUTED_COLOUR if band is None else colour_of[str(band)]
        scheme.legend = [_entry(t, colour_of[n], short) for n, t, short in zip(names, texts, shorts)]
        scheme.legend += _not_computed_entry(values, metric)
        return scheme
    # continuous: a fraction 0-1, shown in per cent over the fixed 0-100 % range
    if metric is Metric.LESION_BURDEN:
        basis = values.burden_basis or "vertebral body"
        scheme.title = f"Lesion burden (% of {basis}, range 0–100 %)"
        scheme.short_title = f"Lesion burden (% of {basis})"
    else:
        scheme.title = "Nomogram risk (predicted probability, range 0–100 %)"
        scheme.short_title = "Nomogram risk (predicted probability)"
    present = []
    for v in rows:
        x = v.value(metric)
        scheme.colours[v.label_id] = NOT_COMPUTED_COLOUR if x is None else sequential(float(x))
        if x is not None:
            present.append(float(x))
    scheme.continuous = True
    scheme.legend = [LegendEntry(_percent(stop), sequential(stop), _SEQUENTIAL_NAMES.get(stop, "")) for stop in _STOPS]
    scheme.legend += _not_computed_entry(values, metric)
    if present:
        low, high = _percent(min(present)), _percent(max(present))
        scheme.notes.append(f"observed {low}" if low == high else f"observed {low}–{high}")
    return scheme


def lesion_colours(kinds: dict[int, LesionKind], rejected: Iterable[int] = ()) -> ColourScheme:
    """Colour per lesion label id by type; ids without a record are "unknown" (the default)."""
    scheme = ColourScheme(title="Lesion type", default=LESION_KIND_COLOURS[LesionKind.UNKNOWN])
    for label_id, kind in kinds.items():
        scheme.colours[int(label_id)] = LESION_KIND_COLOURS[LesionKind(kind)]
    faded = {int(i) for i in rejected}
    for label_id in faded:
        scheme.colours[label_id] = REJECTED_LESION_COLOUR
    scheme.legend = [_entry(kind.value, LESION_KIND_COLOURS[kind]) for kind in LesionKind]
    if faded:
        scheme.legend.append(_entry("rejected by a user", REJECTED_LESION_COLOUR))
    return scheme


def legend_text(scheme: ColourScheme, compact: bool = False) -> str:
    """The legend as lines of text naming each colour (for the canvas, where swatches cannot be drawn).

    ``compact`` uses the short texts and leaves out the levels not computed and the notes.
    """
    lines = [(scheme.short_title or scheme.title) if compact else scheme.title]
    entries = list(scheme.legend)
    if compact and scheme.metric == Metric.LEVEL.value:
        return f"{scheme.title} (one colour per level)"
    if compact:  # one grey row ("not computed / no level"), short texts
        greys = [e.text.split(" (")[0].split(":")[0] for e in entries if e.colour == NOT_COMPUTED_COLOUR]
        entries = [LegendEntry(e.short_text or e.text, e.colour, e.colour_name)
                   for e in entries if e.colour != NOT_COMPUTED_COLOUR]
        if greys:
            entries.append(LegendEntry(" / ".join(greys), NOT_COMPUTED_COLOUR, _NAMES[NOT_COMPUTED_COLOUR]))
    if scheme.continuous:
        stops, entries = entries[: len(_STOPS)], entries[len(_STOPS):]
        lines.append(f"{stops[0].colour_name} {stops[0].text} → {stops[-1].colour_name} {stops[-1].text}")
    lines += [f"{e.colour_name}: {e.text}" if e.colour_name else e.text for e in entries]
    if not compact:
        lines += scheme.notes
    return "\n".join(lines)


def _percent(fraction: float) -> str:
    return f"{fraction:.0%}".replace("%", " %")
