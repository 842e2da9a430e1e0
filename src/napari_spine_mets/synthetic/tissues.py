"""Tissue classes of the synthetic CT and their attenuation (HU) before blur and noise.

The generator first paints a map of tissue classes, then turns it into HU with
:func:`hu_table`; the tissue map is kept as ground truth (e.g. cortex vs trabecular bone).
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

from .params import SpineParams

__all__ = ["Tissue", "TISSUE_NAMES", "hu_table"]


class Tissue(IntEnum):
    """Tissue class codes of the synthetic tissue map (0 = air outside the patient)."""

    AIR = 0
    FAT = 1
    MUSCLE = 2
    BOWEL = 3
    LIVER = 4
    KIDNEY = 5
    BLOOD = 6
    LUNG = 7
    GAS = 8
    CORTICAL = 9
    TRABECULAR = 10
    DISC = 11
    CSF = 12
    CORD = 13
    LESION_LYTIC = 14
    LESION_BLASTIC = 15
    SPLEEN = 16
    TABLE = 17
    RIB_MARROW = 18
    NUCLEUS = 19
    #: Ligaments and joint spaces (transverse ligament of the atlas, C1/C2 and C0/C1 joints).
    LIGAMENT = 20
    THYROID = 21
    BRAIN = 22


TISSUE_NAMES: dict[int, str] = {int(t): t.name.lower() for t in Tissue if t != Tissue.AIR}


def hu_table(params: SpineParams) -> np.ndarray:
    """Lookup table tissue code -> HU (float32) for these parameters (age, contrast)."""
    enhanced = params.contrast
    table = np.zeros(max(Tissue) + 1, dtype=np.float32)
    values = {
        Tissue.AIR: -1000.0,
        Tissue.FAT: -100.0,
        Tissue.MUSCLE: 50.0,
        Tissue.BOWEL: 45.0 if enhanced else 30.0,
        Tissue.LIVER: 105.0 if enhanced else 58.0,
        Tissue.SPLEEN: 110.0 if enhanced else 48.0,
        Tissue.KIDNEY: 170.0 if enhanced else 32.0,
        Tissue.BLOOD: 180.0 if enhanced else 42.0,
        Tissue.LUNG: -860.0,
        Tissue.GAS: -950.0,
        Tissue.CORTICAL: 1250.0,
        Tissue.TRABECULAR: params.trabecular_hu,
        Tissue.RIB_MARROW: params.trabecular_hu + 30.0,
        Tissue.DISC: 90.0,
        Tissue.NUCLEUS: 72.0,
        Tissue.CSF: 8.0,
        Tissue.CORD: 35.0,
        Tissue.LESION_LYTIC: 35.0,
        Tissue.LESION_BLASTIC: 820.0,
        Tissue.TABLE: -350.0,
        Tissue.LIGAMENT: 75.0,
        Tissue.THYROID: 150.0 if enhanced else 80.0,
        Tissue.BRAIN: 38.0,
    }
    for tissue, hu in values.items():
        table[int(tissue)] = hu
    return table
