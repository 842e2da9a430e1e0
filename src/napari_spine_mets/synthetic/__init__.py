"""Deterministic synthetic spine CT with complete ground truth (the project's sample data).

``generate_spine_ct(SpineParams(...))`` returns a :class:`SyntheticCase`: an int16 HU
volume (T10-S1 and the sacrum by default, axes along (S, P, L)) with vertebra levels
(TotalSegmentator ids), vertebra parts, lesion instances and the fracture's heights.
``write_synthetic_case`` saves it as a DICOM series plus NIfTI label maps and truth.json.

Only numpy is imported here; scipy, pydicom and nibabel are imported when used.
"""

from __future__ import annotations

from .params import FractureSpec, LesionSpec, SpineParams, trabecular_hu_for_age
from .tissues import Tissue
from .truth import FractureTruth, LesionTruth, VertebraTruth, genant_grade
from .generator import GENERATOR_VERSION, SyntheticCase, generate_spine_ct
from .case_writer import write_synthetic_case

__all__ = [
    "GENERATOR_VERSION",
    "FractureSpec",
    "FractureTruth",
    "LesionSpec",
    "LesionTruth",
    "SpineParams",
    "SyntheticCase",
    "Tissue",
    "VertebraTruth",
    "generate_spine_ct",
    "genant_grade",
    "trabecular_hu_for_age",
    "write_synthetic_case",
]
