"""The error an edit raises when it cannot be done as asked (nothing is changed then)."""

from __future__ import annotations

from ..errors import SpineMetsError

__all__ = ["LabelEditError"]


class LabelEditError(SpineMetsError, ValueError):
    """A label edit was refused (unknown label, level already used, label would not fit...).

    Also a ValueError, so callers written against plain ``ValueError`` keep working.
    """
