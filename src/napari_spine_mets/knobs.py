"""The tuning knobs of a method, recorded as JSON next to its results.

Lesion detection (candidates, classification, screening) and the automatic HU ROIs each
keep their parameters in a frozen dataclass of numbers, and every result records them so
that a run can be repeated and compared. One mixin writes them all the same way: each
field as a float, under its own name.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = ["Knobs"]


class Knobs:
    """Mixin for a (frozen) dataclass whose fields are all numbers: :meth:`to_json` gives each as a float."""

    #: Decimals each knob is rounded to in :meth:`to_json` (None: not rounded).
    json_digits: ClassVar[int | None] = None

    def to_json(self) -> dict[str, float]:
        """Every field as a float (rounded to :attr:`json_digits` decimals when set)."""
        digits = self.json_digits
        return {k: float(v) if digits is None else round(float(v), digits) for k, v in self.__dict__.items()}
