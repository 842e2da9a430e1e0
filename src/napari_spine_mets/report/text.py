"""Formatting shared by every part of the report: numbers, levels, cleaned text, withheld paths."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from ..anatomy import LEVELS

__all__ = ["DASH", "fmt", "cell_text", "fmt_value", "level_key", "clean", "withhold_paths", "compact_json"]

#: Shown for an empty cell (no value), never a zero.
DASH = "—"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029]")
#: An absolute path (POSIX, home, Windows drive or UNC, file: URL) inside text, to the end of the line
#: (folder names may hold spaces, and a patient's name).
_PATH_IN_TEXT = re.compile(r"(?:(?<=[\s'\"(=:,])|^)(?:file:|~?/|[A-Za-z]:[\\/]|\\\\)[^\n]*")


def fmt(value: Any, digits: int = 1) -> str:
    """A number with ``digits`` decimals (integers as such), "—" for None/NaN, text unchanged."""
    if value is None:
        return DASH
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return DASH
        if value.is_integer() and abs(value) < 1e9:
            return str(int(value))
        return f"{value:.{digits}f}"
    return clean(value)


def cell_text(value: Any) -> str:
    """A table cell as shown (PDF, HTML): floats with their stored decimals (up to 3), at least one."""
    if isinstance(value, float) and math.isfinite(value):
        text = f"{value:.3f}".rstrip("0")
        return text + "0" if text.endswith(".") else text
    return fmt(value)


def fmt_value(value: Any, unit: str = "") -> str:
    """A finding's value with its unit: numbers to 3 significant decimals, dicts/lists as compact JSON."""
    if isinstance(value, float) and math.isfinite(value) and not value.is_integer():
        text = f"{value:.3g}" if abs(value) < 1 else f"{value:.1f}"
    elif isinstance(value, (dict, list)):
        text = compact_json(value)
    else:
        text = fmt(value)
    return f"{text} {unit}".strip() if unit and text != DASH else text


def level_key(level: str | None) -> tuple[int, str]:
    """Sort key: cranial to caudal, unknown levels after, no level last."""
    if not level:
        return (len(LEVELS) + 2, "")
    upper = level.upper()
    return (LEVELS.index(upper), upper) if upper in LEVELS else (len(LEVELS) + 1, upper)


def clean(value: Any) -> str:
    """Text without control characters (they upset PDF fonts and some browsers)."""
    return _CONTROL.sub("", "" if value is None else str(value))


def withhold_paths(value: Any) -> Any:
    """``value`` with every absolute path in its text replaced (de-identified reports: paths may hold names)."""
    if isinstance(value, str):
        return _PATH_IN_TEXT.sub("<path withheld>", value)
    if isinstance(value, dict):
        return {k: withhold_paths(v) for k, v in value.items()}
    if isinstance(value, list):
        return [withhold_paths(v) for v in value]
    return value


def compact_json(value: Any) -> str:
    """JSON with ", " and ": " separators, keys sorted: readable and wrappable."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
