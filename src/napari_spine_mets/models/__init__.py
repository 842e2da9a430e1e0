"""Radiomics nomograms and survival models fitted on a user's own cohort.

The pipeline of the seed studies (standardise -> LASSO with cross-validated lambda ->
Radscore -> multivariable logistic nomogram with clinical variables -> validation report)
and Cox proportional-hazards survival models, with model files in versioned JSON (no
pickles). No published coefficients exist in the project's sources and none are invented:
the only shipped models are demonstrations fitted on synthetic cohorts, labelled
:data:`DEMO_LABEL` wherever they appear.

Importing this package is cheap: the submodules import pandas, scikit-learn, lifelines
and matplotlib inside the functions that need them where they can.
"""

from __future__ import annotations

from .errors import (
    ModelFileError,
    ModelInputError,
    ModelSettingsMismatchError,
    ModelFitError,
)

__all__ = [
    "DEMO_LABEL",
    "ModelInputError",
    "ModelFileError",
    "ModelSettingsMismatchError",
    "ModelFitError",
]

#: Shown wherever a demonstration model (fitted on a synthetic cohort) appears.
DEMO_LABEL = "demonstration — not for clinical use"
