"""The feature set of one image type: discretise, then first order and the texture classes.

``texture_features`` turns the ROI voxels' values of one image type (original, a LoG
sigma, a wavelet band) into pyradiomics-named features, using the ROI's plan for every
neighbour relation. Voxel-level work is numpy; the matrices' formulas run in torch.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from . import firstorder, glcm, gldm, glrlm, glszm, ngtdm, shape
from .errors import RadiomicsError
from .plan import RoiPlan
from .preprocess import discretize
from .settings import RadiomicsSettings

__all__ = ["ALL_FEATURES", "TEXTURE_CLASSES", "feature_names", "texture_features"]

logger = logging.getLogger(__name__)

ALL_FEATURES = {
    "firstorder": firstorder.FEATURES,
    "shape": shape.FEATURES,
    "glcm": glcm.FEATURES,
    "glrlm": glrlm.FEATURES,
    "glszm": glszm.FEATURES,
    "gldm": gldm.FEATURES,
    "ngtdm": ngtdm.FEATURES,
}
TEXTURE_CLASSES = ("glcm", "glrlm", "glszm", "gldm", "ngtdm")


def feature_names(settings: RadiomicsSettings, feature_class: str) -> tuple[str, ...]:
    """Enabled feature names of one class (all of them when the class maps to None)."""
    chosen = settings.features.get(feature_class)
    known = ALL_FEATURES[feature_class]
    if chosen is None:
        return known
    unknown = set(chosen) - set(known)
    if unknown:
        raise RadiomicsError(f"unknown {feature_class} features {sorted(unknown)}; known: {list(known)}")
    return tuple(n for n in known if n in chosen)


def texture_features(name: str, values: np.ndarray, plan: RoiPlan, spacing: tuple[float, float, float], settings: RadiomicsSettings, dev: Any) -> dict[str, float]:
    """Every enabled non-shape feature of one image type, from the ROI voxels' ``values`` (N,)."""
    import torch

    q = discretize(values, settings)
    out: dict[str, Any] = {}
    numbers: dict[str, float] = {}
    if settings.enabled("firstorder"):
        vals = firstorder.firstorder_features(values, np.bincount(q), spacing, settings, set(feature_names(settings, "firstorder")))
        numbers.update({f"{name}_firstorder_{k}": v for k, v in vals.items()})
    if any(settings.enabled(c) for c in ("glcm", "glszm", "gldm", "ngtdm")):
        nbq = np.append(q, 0).take(plan.nb)  # neighbours' levels, 0 outside the ROI
        same = nbq == q[:, None]  # levels are >= 1, so a neighbour outside never matches
    if settings.enabled("glcm"):
        p, levels = glcm.glcm_matrix(q, nbq, plan, settings, spacing, dev)
        vals = glcm.glcm_features(p, levels, int(q.max()), settings, set(feature_names(settings, "glcm")))
        out.update({f"{name}_glcm_{k}": v for k, v in vals.items()})
    if settings.enabled("glrlm"):
        vals = glrlm.glrlm_features(q, plan, settings, spacing, set(feature_names(settings, "glrlm")), dev)
        out.update({f"{name}_glrlm_{k}": v for k, v in vals.items()})
    if settings.enabled("glszm"):
        vals = glszm.glszm_features(q, same, plan, set(feature_names(settings, "glszm")), dev)
        out.update({f"{name}_glszm_{k}": v for k, v in vals.items()})
    if settings.enabled("gldm"):
        vals = gldm.gldm_features(q, nbq, same, settings, set(feature_names(settings, "gldm")), dev)
        out.update({f"{name}_gldm_{k}": v for k, v in vals.items()})
    if settings.enabled("ngtdm"):
        vals = ngtdm.ngtdm_features(q, nbq, plan.nb_count, settings, set(feature_names(settings, "ngtdm")), dev)
        out.update({f"{name}_ngtdm_{k}": v for k, v in vals.items()})
    keys = list(out)
    flat = torch.stack([torch.as_tensor(out[k], dtype=torch.float64, device=dev).reshape(()) for k in keys]).cpu().tolist() if keys else []
    return {**numbers, **dict(zip(keys, flat))}
