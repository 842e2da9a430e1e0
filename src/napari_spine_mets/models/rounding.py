"""Rounding of fitted numbers before they go into a model file or report.

Nomogram and Cox model files are compared across platforms and runs, so every float is
cut to a fixed number of significant digits: the last bits of a BLAS sum differ between
machines and would otherwise change the file. One function, so both model kinds round alike.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["round_sig"]


def round_sig(x: Any, digits: int = 10) -> Any:
    """Round floats to ``digits`` significant digits (lists, tuples and arrays become lists); other values as given."""
    if isinstance(x, (list, tuple, np.ndarray)):
        return [round_sig(v, digits) for v in x]
    if isinstance(x, (float, np.floating)):
        return float(f"{float(x):.{digits}g}")
    return x
