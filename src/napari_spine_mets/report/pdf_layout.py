"""A small page-layout engine on matplotlib figures: wrapped text, images, paginated tables.

Text is measured with the Agg renderer and wrapped to the width it is given (long
tokens such as SHA-256 digests are broken by character), so nothing runs past a margin;
a table row that does not fit on the page starts a new page and repeats the header.
Every text is drawn with ``parse_math=False``: a "$" in a name is just a character.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .model import ReportTable
from .text import cell_text, clean

__all__ = ["PAGE", "Pages", "wrap_text", "text_width_in"]

#: A4 portrait in inches, with margins.
PAGE = {"width": 8.27, "height": 11.69, "left": 0.6, "right": 0.6, "top": 0.65, "bottom": 0.75}
_FONT = "DejaVu Sans"
_LINE = 1.28  # line height as a multiple of the font size
_MAX_CELL_LINES = 36


#: Measured widths are multiplied by this: room for rounding in the PDF's own layout.
_SAFETY = 1.03


@lru_cache(maxsize=1)
def _measurer() -> Any:
    from matplotlib.textpath import TextToPath

    return TextToPath()  # unhinted font metrics: what the PDF lays out (Agg at 72 dpi rounds glyphs)


@lru_cache(maxsize=4096)
def _advance(char: str, bold: bool) -> float:
    """Advance width of one character at 1 pt, in points (unhinted font metrics)."""
    from matplotlib.font_manager import FontProperties

    prop = FontProperties(family=_FONT, size=100, weight="bold" if bold else "normal")
    width, _, _ = _measurer().get_text_width_height_descent(f"|{char}|", prop, ismath=False)
    bars, _, _ = _measurer().get_text_width_height_descent("||", prop, ismath=False)
    return (width - bars) / 100.0


def text_width_in(text: str, size: float, bold: bool = False) -> float:
    """Width of one line of ``text`` in inches at ``size`` points (sum of advances; kerning is in the margin)."""
    return _SAFETY * size * sum(_advance(c, bold) for c in text) / 72.0


def wrap_text(text: str, width_in: float, size: float, bold: bool = False) -> list[str]:
    """``text`` wrapped into lines no wider than ``width_in`` (newlines kept, long words broken)."""
    lines: list[str] = []
    for paragraph in clean(text).split("\n"):
        current = ""
        for word in paragraph.split(" "):
            candidate = f"{current} {word}" if current else word
            if text_width_in(candidate, size, bold) <= width_in:
                current = candidate
                continue
            if current:
                lines.append(current)
            current = ""
            while text_width_in(word, size, bold) > width_in and len(word) > 1:
                cut = _longest_prefix(word, width_in, size, bold)
                lines.append(word[:cut])
                word = word[cut:]
            current = word
        lines.append(current)
    return lines


def _longest_prefix(word: str, width_in: float, size: float, bold: bool) -> int:
    lo, hi = 1, len(word)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if text_width_in(word[:mid], size, bold) <= width_in:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _cell_text(value: Any) -> str:
    return cell_text(value)


@dataclass
class Pages:
    """Pages being filled top to bottom; ``y`` is the cursor in inches from the top of the page."""

    figures: list[Any] = field(default_factory=list)
    y: float = 0.0
    #: Draws the header strip of a new page (after the first).
    on_new_page: Callable[["Pages"], None] | None = None

    @property
    def width(self) -> float:
        return PAGE["width"] - PAGE["left"] - PAGE["right"]

    @property
    def room(self) -> float:
        return PAGE["height"] - PAGE["bottom"] - self.y

    @property
    def fig(self) -> Any:
        return self.figures[-1]

    def new_page(self) -> None:
        from .drawing import new_figure

        self.figures.append(new_figure(PAGE["width"], PAGE["height"]))
        self.y = PAGE["top"]
        if self.on_new_page is not None and len(self.figures) > 1:
            self.on_new_page(self)

    def ensure(self, height: float) -> None:
        """Start a new page unless ``height`` inches fit below the cursor."""
        if not self.figures or height > self.room:
            self.new_page()

    # ------------------------------------------------------------------ primitives
    def text_at(self, x_in: float, y_in: float, text: str, size: float, *, bold: bool = False, colour: str = "black",
                ha: str = "left", italic: bool = False) -> None:
        """One line of text whose top is ``y_in`` inches from the top of the page."""
        self.fig.text(x_in / PAGE["width"], 1 - y_in / PAGE["height"], text, fontsize=size, family=_FONT,
                      fontweight="bold" if bold else "normal", fontstyle="italic" if italic else "normal",
                      color=colour, ha=ha, va="top", parse_math=False)

    def rect(self, x_in: float, y_in: float, w_in: float, h_in: float, *, face: str = "none", edge: str = "none",
             lw: float = 0.6) -> None:
        from matplotlib.patches import Rectangle

        self.fig.add_artist(Rectangle((x_in / PAGE["width"], 1 - (y_in + h_in) / PAGE["height"]),
                                      w_in / PAGE["width"], h_in / PAGE["height"], facecolor=face, edgecolor=edge,
                                      linewidth=lw, transform=self.fig.transFigure))

    def lines_height(self, n: int, size: float) -> float:
        return n * size * _LINE / 72.0

    def paragraph(self, text: str, size: float = 9, *, bold: bool = False, colour: str = "black", italic: bool = False,
                  indent: float = 0.0, width: float | None = None, gap: float = 0.06) -> None:
        """Wrapped text at the cursor (split across pages when long)."""
        lines = wrap_text(text, (width or self.width) - indent, size, bold)
        step = size * _LINE / 72.0
        for line in lines:
            self.ensure(step)
            self.text_at(PAGE["left"] + indent, self.y, line, size, bold=bold, colour=colour, italic=italic)
            self.y += step
        self.y += gap

    def heading(self, text: str, size: float = 12, keep_with: float = 1.0) -> None:
        """A bold heading, moved to the next page unless ``keep_with`` inches fit after it."""
        self.ensure(size * _LINE / 72.0 + keep_with)
        self.y += 0.08
        self.paragraph(text, size, bold=True, gap=0.05)

    def image(self, png: bytes, x_in: float, y_in: float, w_in: float, h_in: float) -> None:
        """A PNG in the box (x, y from the top-left of the page, inches)."""
        import io

        from matplotlib.image import imread

        ax = self.fig.add_axes((x_in / PAGE["width"], 1 - (y_in + h_in) / PAGE["height"], w_in / PAGE["width"],
                                h_in / PAGE["height"]))
        ax.imshow(imread(io.BytesIO(png), format="png"), interpolation="antialiased")
        ax.set_axis_off()

    # ------------------------------------------------------------------ tables
    def table(self, table: ReportTable, size: float = 7.2) -> None:
        """``table`` with a title, a header row repeated on each page, wrapped cells and its notes."""
        widths = table.widths or [1.0] * len(table.columns)
        total = sum(widths)
        col_w = [self.width * w / total for w in widths]
        pad_x, pad_y = 0.045, 0.03
        step = size * _LINE / 72.0
        header = [wrap_text(c, w - 2 * pad_x, size, True) for c, w in zip(table.columns, col_w)]
        header_h = max(len(h) for h in header) * step + 2 * pad_y
        rows = []
        for row in table.rows:
            cells = []
            for value, w in zip(row, col_w):
                lines = wrap_text(_cell_text(value), w - 2 * pad_x, size)
                if len(lines) > _MAX_CELL_LINES:
                    lines = lines[: _MAX_CELL_LINES - 1] + ["… (cut here: the full text is in the HTML and CSV)"]
                cells.append(lines)
            rows.append(cells)
        first_h = (max(len(c) for c in rows[0]) * step + 2 * pad_y) if rows else 0.0
        self.heading(table.title, 11, keep_with=header_h + first_h)
        self._table_header(header, col_w, header_h, pad_x, pad_y, size)
        for i, cells in enumerate(rows):
            height = max(len(c) for c in cells) * step + 2 * pad_y
            if height > self.room:
                self.new_page()
                self.paragraph(f"{table.title} (continued)", 9, bold=True, gap=0.04)
                self._table_header(header, col_w, header_h, pad_x, pad_y, size)
            if i % 2:
                self.rect(PAGE["left"], self.y, self.width, height, face="#f2f4f7")
            x = PAGE["left"]
            for lines, w in zip(cells, col_w):
                for k, line in enumerate(lines):
                    self.text_at(x + pad_x, self.y + pad_y + k * step, line, size)
                x += w
            self.y += height
            self.fig.add_artist(_hline(self.fig, self.y, self.width))
        self.y += 0.08
        for note in table.notes:
            self.paragraph(note, 7, italic=True, colour="#333333", gap=0.02)
        self.y += 0.12

    def _table_header(self, header: list[list[str]], col_w: list[float], height: float, pad_x: float, pad_y: float,
                      size: float) -> None:
        self.rect(PAGE["left"], self.y, self.width, height, face="#dde3ea")
        x = PAGE["left"]
        step = size * _LINE / 72.0
        for lines, w in zip(header, col_w):
            for k, line in enumerate(lines):
                self.text_at(x + pad_x, self.y + pad_y + k * step, line, size, bold=True)
            x += w
        self.y += height


def _hline(fig: Any, y_in: float, width_in: float) -> Any:
    from matplotlib.lines import Line2D

    x0, x1 = PAGE["left"] / PAGE["width"], (PAGE["left"] + width_in) / PAGE["width"]
    y = 1 - y_in / PAGE["height"]
    return Line2D([x0, x1], [y, y], color="#c5ccd6", linewidth=0.4, transform=fig.transFigure)
