"""The task graph behind ``extract``/``extract_many``: plans, filter passes, shapes, texture sets.

Each task is small -- a ROI's plan, a filter pass serving a group of ROIs, a shape, one
(ROI, image type) texture set -- and runs on a thread pool; a texture task is submitted as
soon as its ROI's plan and its image values are both there. Callbacks run on the calling
thread, so the bookkeeping needs no locks. Torch runs one thread per task meanwhile:
the ops are small, where intra-op threads cost more than they give (and spin badly on a
busy machine); one task per core uses the cores instead. SimpleITK runs one thread per
task for the same reason.
"""

from __future__ import annotations

import contextlib
import logging
import math
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, Callable, Iterator

import numpy as np

from . import shape
from .batch import Group, PreparedRoi
from .errors import RadiomicsError, RadiomicsInputError
from .features import TEXTURE_CLASSES, feature_names, texture_features
from .filters import WAVELET_NAMES, log_at, log_name, log_skip_reason, wavelet_at
from .plan import RoiPlan, build_plan
from .settings import RadiomicsSettings

__all__ = ["Job", "Scheduler", "task_pool"]

logger = logging.getLogger(__name__)


def _image_type_names(settings: RadiomicsSettings, shape_: tuple[int, ...], spacing: tuple[float, float, float]) -> list[str]:
    """The image types this image yields, in pyradiomics' order (LoG sigmas it would skip left out)."""
    names = ["original"] if settings.original else []
    for sigma in settings.log_sigma:
        reason = log_skip_reason(shape_, spacing, float(sigma))
        if reason is None:
            names.append(log_name(sigma))
        else:
            logger.warning(reason)
    if settings.wavelet:
        names += [f"wavelet-{w}" for w in WAVELET_NAMES]
    return names


class Scheduler:
    """Runs tasks on a pool; each finished task's callback (main thread) may submit more."""

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        self.pool = pool
        self.pending: dict[Future, Callable[[Any], None]] = {}

    def submit(self, fn: Callable[[], Any], on_done: Callable[[Any], None]) -> None:
        self.pending[self.pool.submit(fn)] = on_done

    def run(self) -> None:
        try:
            while self.pending:
                done, _ = wait(list(self.pending), return_when=FIRST_COMPLETED)
                for fut in done:
                    self.pending.pop(fut)(fut.result())
        finally:
            for fut in self.pending:
                fut.cancel()


class Job:
    """Features of a batch of prepared ROIs: which task waits for what, and the results."""

    def __init__(self, rois: list[PreparedRoi], groups: list[Group], settings: RadiomicsSettings, dev: Any, sitk_threads: int | None) -> None:
        self.rois = rois
        self.groups = groups
        self.settings = settings
        self.dev = dev
        self.sitk_threads = sitk_threads
        self.plans: dict[int, RoiPlan] = {}
        self.values: dict[int, dict[str, np.ndarray]] = {r.index: {} for r in rois}
        self.parts: dict[int, dict[str, dict[str, float]]] = {r.index: {} for r in rois}
        self.names = {r.index: _image_type_names(settings, r.image.shape, r.spacing) for r in rois}
        self.need = {c for c in TEXTURE_CLASSES if settings.enabled(c)}

    def _guard(self, roi: PreparedRoi, fn: Callable[[], Any]) -> Callable[[], Any]:
        def run() -> Any:
            import torch

            try:
                with torch.no_grad():
                    return fn()
            except (RadiomicsError, RadiomicsInputError) as exc:
                if not roi.tag:
                    raise
                raise roi.tagged(exc) from exc

        return run

    def _ready(self, sched: Scheduler, roi: PreparedRoi, name: str) -> None:
        plan = self.plans.get(roi.index)
        values = self.values[roi.index].get(name)
        if plan is None or values is None:
            return
        del self.values[roi.index][name]
        settings, dev = self.settings, self.dev

        def task() -> dict[str, float]:
            return texture_features(name, values, plan, roi.spacing, settings, dev)

        sched.submit(self._guard(roi, task), lambda out: self.parts[roi.index].__setitem__(name, out))

    def _deliver(self, sched: Scheduler, roi: PreparedRoi, name: str, values: np.ndarray) -> None:
        self.values[roi.index][name] = values
        self._ready(sched, roi, name)

    def _plan_done(self, sched: Scheduler, roi: PreparedRoi, plan: RoiPlan) -> None:
        self.plans[roi.index] = plan
        for name in list(self.values[roi.index]):
            self._ready(sched, roi, name)

    def schedule(self, sched: Scheduler) -> None:
        """Submit the first tasks; texture tasks follow as their plan and values arrive.

        The pool serves tasks in order: plans first (the original image's textures wait
        only for them), then the filter passes, longest first (largest LoG sigma), then
        shapes, which nothing waits for; the many small texture tasks fill the end.
        """
        settings = self.settings
        for roi in self.rois:
            sched.submit(self._guard(roi, self._plan_task(roi)), lambda plan, roi=roi: self._plan_done(sched, roi, plan))
        for group in self.groups:
            first = group.rois[0]
            for sigma in sorted((float(s) for s in settings.log_sigma), reverse=True):
                if log_name(sigma) in self.names[first.index]:
                    sched.submit(self._guard(first, self._log_task(group, sigma)), self._split(sched, group, [log_name(sigma)]))
        for group in self.groups:
            if settings.wavelet:
                names = [f"wavelet-{w}" for w in WAVELET_NAMES]
                sched.submit(self._guard(group.rois[0], self._wavelet_task(group)), self._split(sched, group, names))
        if settings.enabled("shape"):
            for roi in self.rois:
                sched.submit(self._guard(roi, self._shape_task(roi)), lambda out, roi=roi: self.parts[roi.index].__setitem__("shape", out))
        if settings.original:
            for group in self.groups:
                for roi in group.rois:
                    self._deliver(sched, roi, "original", group.image[tuple(roi.points.T)])

    def _split(self, sched: Scheduler, group: Group, names: list[str]) -> Callable[[Any], None]:
        """Callback: cut a filter pass's values at the group's points into each ROI's share."""

        def done(values: Any) -> None:
            rows = np.atleast_2d(values)
            for roi, (lo, hi) in zip(group.rois, group.slices):
                for name, row in zip(names, rows):
                    self._deliver(sched, roi, name, row[lo:hi])

        return done

    def _plan_task(self, roi: PreparedRoi) -> Callable[[], RoiPlan]:
        return lambda: build_plan(roi.roi_c, self.settings.distances, self.need)

    def _shape_task(self, roi: PreparedRoi) -> Callable[[], dict[str, float]]:
        def task() -> dict[str, float]:
            vals = shape.shape_features(roi.roi_c, roi.spacing, set(feature_names(self.settings, "shape")))
            return {f"original_shape_{k}": v for k, v in vals.items()}

        return task

    def _log_task(self, group: Group, sigma: float) -> Callable[[], np.ndarray]:
        return lambda: log_at(group.image, group.spacing, group.box, sigma, group.points, self.sitk_threads)

    def _wavelet_task(self, group: Group) -> Callable[[], np.ndarray]:
        def task() -> np.ndarray:
            values = wavelet_at(group.image, group.box, group.points, self.settings.wavelet_name, self.dev)
            return values.cpu().numpy()

        return task

    def features(self, roi: PreparedRoi) -> dict[str, float]:
        """The ROI's features in pyradiomics' order: shape, then image types in order."""
        parts = self.parts[roi.index]
        out: dict[str, float] = dict(parts.get("shape", {}))
        for name in self.names[roi.index]:
            out.update(parts.get(name, {}))
        bad = [k for k, v in out.items() if not math.isfinite(v)]
        if bad:
            raise roi.tagged(RadiomicsError(f"{len(bad)} feature(s) are undefined for this ROI: {', '.join(bad[:8])}"))
        return out


@contextlib.contextmanager
def task_pool(workers: int) -> Iterator[ThreadPoolExecutor]:
    """A pool of ``workers`` threads, torch single-threaded meanwhile (see the module note).

    Also with one worker: idle OpenMP threads spin, which costs several times the work
    itself on a busy machine (measured: 3 s of CPU instead of 0.5 s per T12 extraction).
    """
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with ThreadPoolExecutor(max_workers=max(workers, 1)) as pool:
            yield pool
    finally:
        torch.set_num_threads(previous)
