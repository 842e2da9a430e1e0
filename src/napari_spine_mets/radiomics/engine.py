"""Feature extraction: one ROI (``extract_features``) or many (``extract_many``), on torch.

Pipeline (pyradiomics' order): check input -> normalise (optional) -> resample (optional)
-> shape on the mask -> for each image type (original, LoG sigmas, 8 wavelets): crop to
the ROI box, discretise, then first order and the five texture classes. Keys follow
pyradiomics: ``<imagetype>_<class>_<Feature>``. Texture matrices are built with
vectorised torch ops in float64 on the chosen device; GLSZM's connected components,
MCC's eigenvalues, the mesh and LoG/resampling (SimpleITK) run on the CPU.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

import numpy as np

from . import firstorder, glcm, gldm, glrlm, glszm, ngtdm, shape
from .devices import device_info, resolve_device
from .errors import RadiomicsError
from .neighbours import roi_neighbours
from .filters import log_image, log_name, wavelet_decompositions
from .preprocess import bounding_box, check_inputs, crop, discretize, normalize_image
from .settings import RadiomicsSettings

__all__ = ["RadiomicsResult", "extract", "extract_features", "extract_many", "feature_names"]

logger = logging.getLogger(__name__)

_ALL = {
    "firstorder": firstorder.FEATURES,
    "shape": shape.FEATURES,
    "glcm": glcm.FEATURES,
    "glrlm": glrlm.FEATURES,
    "glszm": glszm.FEATURES,
    "gldm": gldm.FEATURES,
    "ngtdm": ngtdm.FEATURES,
}


@dataclass
class RadiomicsResult:
    """Feature values plus what produced them (device, settings hash, seconds)."""

    features: dict[str, float]
    device: dict[str, Any]
    settings_hash: str
    seconds: float
    image_types: list[str] = field(default_factory=list)


def feature_names(settings: RadiomicsSettings, feature_class: str) -> tuple[str, ...]:
    """Enabled feature names of one class (all of them when the class maps to None)."""
    chosen = settings.features.get(feature_class)
    known = _ALL[feature_class]
    if chosen is None:
        return known
    unknown = set(chosen) - set(known)
    if unknown:
        raise RadiomicsError(f"unknown {feature_class} features {sorted(unknown)}; known: {list(known)}")
    return tuple(n for n in known if n in chosen)


def _image_types(image: np.ndarray, spacing: tuple[float, float, float], box: list[tuple[int, int]], settings: RadiomicsSettings, dev: Any) -> Iterable[tuple[str, Any]]:
    """(name, cropped image tensor or array) for every enabled image type, lazily."""
    if settings.original:
        yield "original", crop(image, box)
    for sigma in settings.log_sigma:
        out = log_image(image, spacing, box, float(sigma))
        if out is not None:
            yield log_name(sigma), out
    if settings.wavelet:
        for name, arr in wavelet_decompositions(image, box, settings.wavelet_name, dev).items():
            yield f"wavelet-{name}", arr


def _texture(name: str, values: np.ndarray, roi: np.ndarray, spacing: tuple[float, float, float], settings: RadiomicsSettings, dev: Any) -> dict[str, Any]:
    import torch

    q_np = discretize(values, roi, settings)
    q = torch.as_tensor(q_np, device=dev)
    ng = int(q_np.max())
    out: dict[str, Any] = {}
    if settings.enabled("firstorder"):
        x = torch.as_tensor(values[roi].astype(np.float64), device=dev)
        vals = firstorder.firstorder_features(x, q[q > 0], spacing, settings, set(feature_names(settings, "firstorder")))
        out.update({f"{name}_firstorder_{k}": v for k, v in vals.items()})
    if settings.enabled("glcm"):
        levels = torch.unique(q[q > 0])
        p = glcm.glcm_matrix(q, ng, settings, spacing)
        vals = glcm.glcm_features(p, levels, ng, settings, set(feature_names(settings, "glcm")))
        out.update({f"{name}_glcm_{k}": v for k, v in vals.items()})
    if settings.enabled("glrlm"):
        vals = glrlm.glrlm_features(q, settings, spacing, set(feature_names(settings, "glrlm")))
        out.update({f"{name}_glrlm_{k}": v for k, v in vals.items()})
    if settings.enabled("glszm"):
        vals = glszm.glszm_features(q, settings, set(feature_names(settings, "glszm")))
        out.update({f"{name}_glszm_{k}": v for k, v in vals.items()})
    if settings.enabled("gldm") or settings.enabled("ngtdm"):
        centre, nb = roi_neighbours(q, settings.distances)
    if settings.enabled("gldm"):
        vals = gldm.gldm_features(centre, nb, settings, set(feature_names(settings, "gldm")))
        out.update({f"{name}_gldm_{k}": v for k, v in vals.items()})
    if settings.enabled("ngtdm"):
        vals = ngtdm.ngtdm_features(centre, nb, settings, set(feature_names(settings, "ngtdm")))
        out.update({f"{name}_ngtdm_{k}": v for k, v in vals.items()})
    return out


@contextlib.contextmanager
def _image_parallel(workers: int) -> Iterator[Any]:
    """A pool that runs image types in parallel, each torch op single-threaded meanwhile.

    The per-image ops are small, where torch's intra-op threads cost more than they give
    (and spin badly on a busy machine); one image type per core uses the cores instead.
    """
    import torch

    previous = torch.get_num_threads()
    if workers > 1:
        torch.set_num_threads(1)
    try:
        with ThreadPoolExecutor(max_workers=max(workers, 1)) as pool:
            yield pool
    finally:
        torch.set_num_threads(previous)


def extract(image: np.ndarray, mask: np.ndarray, spacing: Any, settings: RadiomicsSettings | None = None, device: str = "auto", workers: int | None = None) -> RadiomicsResult:
    """All enabled features of one ROI, with the device that ran and the settings hash.

    ``workers``: image types computed in parallel (default: torch's CPU thread count on
    CPU, 1 on a GPU). Values do not depend on it.
    """
    import torch

    start = time.perf_counter()
    settings = settings or RadiomicsSettings()
    settings.validate()
    dev = resolve_device(device)
    image, roi, sp = check_inputs(image, mask, spacing, settings.label)
    if settings.normalize is not None:
        image = normalize_image(image, roi, settings)
    if settings.resampled_spacing is not None:
        from .resample import resample_roi

        image, roi, sp = resample_roi(image, roi, sp, settings)
        if roi.sum() < 2:
            raise RadiomicsError("after resampling the ROI has fewer than 2 voxels")
    box = bounding_box(roi)
    roi_c = crop(roi, box)
    features: dict[str, float] = {}
    if settings.enabled("shape"):
        vals = shape.shape_features(roi_c, sp, set(feature_names(settings, "shape")))
        features.update({f"original_shape_{k}": v for k, v in vals.items()})
    names = []

    def work(name: str, img: Any) -> dict[str, Any]:
        with torch.no_grad():
            arr = img.cpu().numpy() if isinstance(img, torch.Tensor) else np.asarray(img)
            return {k: float(v) for k, v in _texture(name, arr, roi_c, sp, settings, dev).items()}

    n_workers = workers if workers is not None else (torch.get_num_threads() if dev.type == "cpu" else 1)
    with _image_parallel(n_workers) as pool:
        futures = []
        for name, img in _image_types(image, sp, box, settings, dev):
            names.append(name)
            futures.append(pool.submit(work, name, img))
        for fut in futures:
            features.update(fut.result())
    bad = [k for k, v in features.items() if not math.isfinite(v)]
    if bad:
        raise RadiomicsError(f"{len(bad)} feature(s) are undefined for this ROI: {', '.join(bad[:8])}")
    seconds = time.perf_counter() - start
    info = device_info(dev)
    logger.info("%d features from %d image type(s) in %.3f s on %s", len(features), len(names), seconds, info["device"])
    return RadiomicsResult(features, info, settings.value_hash(), seconds, names)


def extract_features(image: np.ndarray, mask: np.ndarray, spacing: Any, settings: RadiomicsSettings | None = None, device: str = "auto", workers: int | None = None) -> dict[str, float]:
    """pyradiomics-style ``{name: value}`` for one ROI (see :func:`extract` for provenance)."""
    return extract(image, mask, spacing, settings, device, workers).features


def extract_many(items: Iterable[tuple[np.ndarray, np.ndarray, Any]], settings: RadiomicsSettings | None = None, device: str = "auto") -> list[dict[str, float]]:
    """Features for many (image, mask, spacing) ROIs with one settings object and device.

    ROIs are processed one after another (each fully vectorised); an ROI that fails
    raises, naming its position, rather than leaving a hole in the list.
    """
    out = []
    for k, (image, mask, spacing) in enumerate(items):
        try:
            out.append(extract_features(image, mask, spacing, settings, device))
        except RadiomicsError as exc:
            raise type(exc)(f"ROI #{k}: {exc}") from exc
    return out

