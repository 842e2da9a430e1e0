"""Feature extraction: one ROI (``extract_features``) or many (``extract_many``), on torch.

Pipeline (pyradiomics' order): check input -> normalise (optional) -> resample (optional)
-> shape on the mask -> for each image type (original, LoG sigmas, 8 wavelets): the image's
values at the ROI voxels, discretise, then first order and the five texture classes. Keys
follow pyradiomics: ``<imagetype>_<class>_<Feature>``.

Work is shared rather than repeated:

- per ROI, a plan (``plan.py``) of which voxels neighbour which, used by every image type,
  so a texture class is a gather and a ``bincount`` over the ROI's voxels;
- per image, ROIs laid on the same image array (``extract_many``) share one filter pass
  per image type, over the union of their boxes (``batch.py`` groups them).

The work is a set of small tasks on a thread pool (``jobs.py``); one image type's features
are ``features.texture_features``. Voxel-level work (gathers, counts, first order) is
numpy on the CPU and the texture matrices' formulas are float64 torch on the chosen
device; GLSZM's connected components, the mesh, LoG and resampling (SimpleITK) run on the CPU.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np

from .batch import group_rois, prepare_roi, tag_error
from .devices import device_info, resolve_device
from .errors import RadiomicsError, RadiomicsInputError
from .features import ALL_FEATURES, feature_names
from .jobs import Job, Scheduler, task_pool
from .settings import RadiomicsSettings

__all__ = ["RadiomicsResult", "extract", "extract_features", "extract_many", "feature_names"]

logger = logging.getLogger(__name__)


@dataclass
class RadiomicsResult:
    """Feature values plus what produced them (device, settings hash, seconds)."""

    features: dict[str, float]
    device: dict[str, Any]
    settings_hash: str
    seconds: float
    image_types: list[str] = field(default_factory=list)


def _run(items: Iterable[tuple[np.ndarray, np.ndarray, Any]], settings: RadiomicsSettings | None, device: str, workers: int | None) -> tuple[list[dict[str, float]], Any, RadiomicsSettings, list[list[str]], int]:
    """Features of every (image, mask, spacing) item, sharing plans and filter passes."""
    import torch

    settings = settings or RadiomicsSettings()
    settings.validate()
    for cls in ALL_FEATURES:
        if settings.enabled(cls):
            feature_names(settings, cls)  # unknown names fail before any work
    dev = resolve_device(device)
    items = list(items)
    cache: dict[Any, np.ndarray] = {}
    rois = []
    for k, (image, mask, spacing) in enumerate(items):
        try:
            rois.append(prepare_roi(k, image, mask, spacing, settings, cache, tag=len(items) > 1))
        except (RadiomicsError, RadiomicsInputError) as exc:
            if len(items) == 1:
                raise
            raise tag_error(k, exc) from exc
    groups = group_rois(rois, settings)
    n_workers = workers if workers is not None else (torch.get_num_threads() if dev.type == "cpu" else 1)
    job = Job(rois, groups, settings, dev, sitk_threads=1)
    with task_pool(n_workers) as pool:
        sched = Scheduler(pool)
        job.schedule(sched)
        sched.run()
    return [job.features(r) for r in rois], dev, settings, [job.names[r.index] for r in rois], n_workers


def extract(image: np.ndarray, mask: np.ndarray, spacing: Any, settings: RadiomicsSettings | None = None, device: str = "auto", workers: int | None = None) -> RadiomicsResult:
    """All enabled features of one ROI, with the device that ran and the settings hash.

    ``workers``: tasks run in parallel (default: torch's CPU thread count on CPU, 1 on a
    GPU). Values do not depend on it.
    """
    start = time.perf_counter()
    (features,), dev, settings, (names,), n_workers = _run([(image, mask, spacing)], settings, device, workers)
    seconds = time.perf_counter() - start
    info = {**device_info(dev), "workers": n_workers}
    logger.info("%d features from %d image type(s) in %.3f s on %s", len(features), len(names), seconds, info["device"])
    return RadiomicsResult(features, info, settings.value_hash(), seconds, names)


def extract_features(image: np.ndarray, mask: np.ndarray, spacing: Any, settings: RadiomicsSettings | None = None, device: str = "auto", workers: int | None = None) -> dict[str, float]:
    """pyradiomics-style ``{name: value}`` for one ROI (see :func:`extract` for provenance)."""
    return extract(image, mask, spacing, settings, device, workers).features


def extract_many(items: Iterable[tuple[np.ndarray, np.ndarray, Any]], settings: RadiomicsSettings | None = None, device: str = "auto", workers: int | None = None) -> list[dict[str, float]]:
    """Features for many (image, mask, spacing) ROIs with one settings object and device, batched.

    ROIs given with the same image array object (and spacing) share each filter pass (one
    LoG per sigma and one wavelet decomposition over the union of their boxes), and all
    (ROI, image type) texture sets run as one pool of tasks. Values are those of
    :func:`extract_features` on each ROI alone. An ROI that fails raises, naming its
    position, rather than leaving a hole in the list.
    """
    start = time.perf_counter()
    out, dev, _, _, _ = _run(items, settings, device, workers)
    logger.info("%d ROIs in %.3f s on %s", len(out), time.perf_counter() - start, dev)
    return out
