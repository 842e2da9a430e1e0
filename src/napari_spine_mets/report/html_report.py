"""The report as one self-contained HTML file: images embedded as base64 PNG, no scripts.

Every piece of text (patient and series names, notes, model names, file names) goes
through :func:`~napari_spine_mets.safety.html.esc`; a Content-Security-Policy that
allows no script and no external resource is a second guard should anything slip.
"""

from __future__ import annotations

import base64
from os import PathLike
from pathlib import Path

from ..case_parts import DISCLAIMER
from ..safety.html import esc
from .model import Report, ReportFigure, ReportTable
from .text import cell_text

__all__ = ["render_html", "write_html"]

_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
_STYLE = """
body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 14px; color: #111; margin: 2em auto;
       max-width: 1100px; padding: 0 1em; }
h1 { font-size: 1.7em; margin-bottom: 0.1em; }
.view { color: #444; margin-top: 0; }
.view.identified { color: #b00020; font-weight: bold; }
.notice { border: 2px solid #b00020; background: #fff4e5; padding: 0.6em 1em; margin: 1em 0; }
.notice p { margin: 0.2em 0; }
.notice .title { color: #b00020; font-weight: bold; font-size: 1.1em; }
table.header { width: auto; border: none; }
table.header th, table.header td { border: none; background: none; padding: 0.1em 1em 0.1em 0; }
table.header th { white-space: nowrap; }
.missing { font-style: italic; color: #333; }
div.figure { margin: 1em 0 1.5em; }
div.figure img { max-width: 100%; height: auto; border: 1px solid #ccc; }
p.figure-title { font-weight: bold; margin: 0.3em 0; }
p.caption { font-size: 0.85em; color: #333; margin: 0.2em 0; }
table.figures, table.figures tr td { border: none; background: none; width: 50%; }
table { border-collapse: collapse; width: 100%; margin: 0.4em 0; font-size: 0.9em; }
th { background: #dde3ea; text-align: left; }
th, td { border: 1px solid #c5ccd6; padding: 0.25em 0.4em; vertical-align: top; white-space: pre-wrap;
         overflow-wrap: anywhere; }
tr:nth-child(even) td { background: #f2f4f7; }
.note { font-size: 0.85em; font-style: italic; color: #333; margin: 0.2em 0; }
footer { margin-top: 2em; font-size: 0.85em; color: #555; border-top: 1px solid #ccc; padding-top: 0.5em; }
"""


def render_html(report: Report) -> str:
    """The HTML document as text."""
    view = ('<p class="view identified">IDENTIFIED REPORT: contains patient identifiers. Handle as confidential.</p>'
            if report.identified else '<p class="view">De-identified report</p>')
    header = "".join(f'<tr><th scope="row">{esc(k)}</th><td>{esc(v)}</td></tr>' for k, v in report.header)
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{esc(_CSP)}">',
        '<meta name="referrer" content="no-referrer">',
        f"<title>{esc(report.title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{esc(report.title)}</h1>", view,
        f'<div class="notice" role="note"><p class="title">Decision support, not a diagnosis</p>'
        f"<p>{esc(report.notice)}</p></div>",
        f'<table class="header"><tbody>{header}</tbody></table>',
    ]
    if report.missing:
        parts.append(f'<p class="missing">Not in this case: {esc("; ".join(report.missing))}.</p>')
    sections = (("overview", "Sagittal overview"), ("lesion", "Lesions: axial images"),
                ("hu_roi", "Trabecular HU ROIs on their slices"))
    for kind, title in sections:
        figures = report.figures_of(kind)
        if figures:
            parts.append(f"<h2>{esc(title)}</h2>")
            if kind == "lesion":  # two a row; a table so that any HTML renderer lays them out
                pairs = [figures[i:i + 2] for i in range(0, len(figures), 2)]
                rows = "".join("<tr>" + "".join(f"<td>{_figure(f)}</td>" for f in pair) + "</tr>" for pair in pairs)
                parts.append(f'<table class="figures"><tbody>{rows}</tbody></table>')
            else:
                parts += [_figure(f) for f in figures]
    parts += [_table(t) for t in report.tables]
    when = report.generated.strftime("%Y-%m-%d %H:%M UTC") if report.generated else ""
    parts.append(f"<footer>napari-spine-mets {esc(report.software_version)} · case {esc(report.case_id)} · generated "
                 f"{esc(when)} · {esc(DISCLAIMER)}</footer></body></html>")
    return "\n".join(parts) + "\n"


def write_html(report: Report, path: str | PathLike[str]) -> Path:
    """Write the HTML atomically at ``path``."""
    from ..io.atomic import atomic_write_text

    return atomic_write_text(Path(path), render_html(report))


def _figure(figure: ReportFigure) -> str:
    data = base64.b64encode(figure.png).decode("ascii")
    return (f'<div class="figure" id="{esc(figure.key)}"><p class="figure-title">{esc(figure.title)}</p>'
            f'<img alt="{esc(figure.title)}" src="data:image/png;base64,{data}">'
            f'<p class="caption">{esc(figure.caption)}</p></div>')


def _table(table: ReportTable) -> str:
    head = "".join(f"<th>{esc(c)}</th>" for c in table.columns)
    body = "".join("<tr>" + "".join(f"<td>{esc(cell_text(v))}</td>" for v in row) + "</tr>" for row in table.rows)
    notes = "".join(f'<p class="note">{esc(n)}</p>' for n in table.notes)
    return (f'<section id="{esc(table.key)}"><h2>{esc(table.title)}</h2><table><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>{notes}</section>")
