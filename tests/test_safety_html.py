"""HTML reports: every text is escaped."""

from __future__ import annotations

import html

from hypothesis import given, settings
from hypothesis import strategies as st

from napari_spine_mets.safety.html import esc, esc_url, html_table


def test_markup_and_attribute_breakers_are_escaped() -> None:
    assert esc('<script>alert("x")</script>') == "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"
    assert esc("' onload='x") == "&#x27; onload=&#x27;x"
    assert esc(None) == "" and esc(3.5) == "3.5"
    assert ":" not in esc_url("javascript:alert(1)")
    table = html_table(["name"], [["<b>Doe</b>"]])
    assert "<b>" not in table and "&lt;b&gt;Doe&lt;/b&gt;" in table


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_escaped_text_has_no_markup_and_round_trips(text: str) -> None:
    out = esc(text)
    assert not any(c in out for c in "<>\"'")
    cleaned = "".join(c for c in text if not (ord(c) < 32 and c not in "\t\n\r") and c not in "\x7f\u2028\u2029")
    assert html.unescape(out) == cleaned
