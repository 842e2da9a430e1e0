"""Clinical calculators: pure, typed, table-driven functions that explain themselves.

Every calculator returns a :class:`~.result.ScoreResult` (total, band, items with their
points and basis, thresholds, citation, disclaimer) and raises :class:`ScoreInputError`
for missing or out-of-range input; nothing is imputed. No Qt, no napari, no heavy imports.
"""

from __future__ import annotations

from .bauer import modified_bauer
from .bed import bed
from .bilsky import bilsky_ct_estimate, bilsky_ct_estimate_from_labels, bilsky_grade, measure_canal_areas
from .hu_bands import hu_bone_quality
from .pni import pni, pni_from_entries
from .result import Basis, Measurement, Proposal, ScoreInputError, ScoreItem, ScoreResult, Threshold
from .sins import propose_bone_lesion, propose_collapse, propose_location, propose_posterolateral, sins
from .tokuhashi import tokuhashi
from .tomita import tomita

__all__ = [
    "Basis",
    "Measurement",
    "Proposal",
    "ScoreInputError",
    "ScoreItem",
    "ScoreResult",
    "Threshold",
    "bed",
    "bilsky_ct_estimate",
    "bilsky_ct_estimate_from_labels",
    "bilsky_grade",
    "hu_bone_quality",
    "measure_canal_areas",
    "modified_bauer",
    "pni",
    "pni_from_entries",
    "propose_bone_lesion",
    "propose_collapse",
    "propose_location",
    "propose_posterolateral",
    "sins",
    "tokuhashi",
    "tomita",
]
