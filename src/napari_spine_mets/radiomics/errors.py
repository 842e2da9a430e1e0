"""Errors of the radiomics engine: bad input is said plainly, never returned as NaN."""

from __future__ import annotations

from ..errors import InputError, SpineMetsError

__all__ = ["RadiomicsError", "RadiomicsInputError", "RadiomicsSettingsError", "RadiomicsGeometryError"]


class RadiomicsError(SpineMetsError):
    """A radiomics computation could not be done (e.g. a feature undefined for this ROI)."""


class RadiomicsInputError(InputError):
    """Image or mask cannot be used: empty or one-voxel mask, NaN in the ROI, wrong shape."""

    def __init__(self, problem: str, path: str | None = None) -> None:
        super().__init__(path, problem)


class RadiomicsGeometryError(RadiomicsInputError):
    """Image and mask do not share one voxel grid (and resampling was not asked for)."""


class RadiomicsSettingsError(RadiomicsInputError):
    """A settings file or value is invalid."""
