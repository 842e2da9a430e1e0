"""Escaping for HTML reports: every piece of text from a file or a user goes through :func:`esc`.

Series descriptions, lesion notes, model names and file names end up in reports that
are opened in a browser or a hospital intranet; unescaped, a description like
``<script>`` or ``" onload="`` would run in the reader's browser. ``esc`` escapes the
five HTML-significant characters (quotes included, so it is safe inside attribute
values) and drops control characters that some browsers interpret oddly.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from urllib.parse import quote

__all__ = ["esc", "esc_url", "html_table"]

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029]")


def esc(value: object) -> str:
    """``value`` as text safe inside an HTML element or a quoted attribute (None -> "")."""
    if value is None:
        return ""
    return html.escape(_CONTROL.sub("", str(value)), quote=True)


def esc_url(value: object) -> str:
    """A relative link to a report file: percent-encoded, never a ``javascript:`` or other scheme URL."""
    text = _CONTROL.sub("", str(value or ""))
    return esc(quote(text, safe="/._-"))


def html_table(header: Iterable[object], rows: Iterable[Iterable[object]]) -> str:
    """A plain ``<table>`` with every cell escaped."""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
