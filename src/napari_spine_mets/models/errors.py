"""Errors of the models package (all are :class:`~napari_spine_mets.errors.SpineMetsError`)."""

from __future__ import annotations

from ..errors import InputError, SpineMetsError

__all__ = ["ModelInputError", "ModelFileError", "ModelSettingsMismatchError", "ModelFitError"]


class ModelInputError(InputError):
    """A cohort table or case cannot be used: the message names the column(s) and rows."""


class ModelFileError(InputError):
    """A model file is missing, not JSON, of an unknown schema version, or malformed."""


class ModelSettingsMismatchError(ModelInputError):
    """A case's features were computed with other settings than the model's training features."""


class ModelFitError(SpineMetsError):
    """The fit cannot be done or trusted (separation, collinearity, no convergence)."""
