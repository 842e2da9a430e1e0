"""Run every study of a cohort on Dask: a local cluster of processes, or an existing cluster.

One task per study (``run_study_safe``): a study that fails comes back as a recorded
failure; a worker that dies has its study rescheduled by the scheduler (and after
repeated deaths the study is recorded as ``KilledWorker``), so neither stops the cohort.
Studies already complete with the same settings, version and inputs are not submitted.
Each task runs with a fixed number of torch threads, and the table is sorted, so the
output does not depend on the number of workers. Workers must see ``out_dir`` at the
same path (a shared filesystem) and run the same software version: both are checked
before anything is submitted.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import SpineMetsError
from ..io.atomic import atomic_write_text
from .manifest import Manifest, Study
from .pipeline import StudyResult, run_study_safe
from .resume import finished_rows
from .settings import PipelineSettings

__all__ = ["CohortError", "CohortReport", "run_cohort", "default_workers", "study_dir"]

log = logging.getLogger(__name__)

#: Memory assumed per study when sizing a local cluster (a 512x512x600 CT and its copies).
MEMORY_PER_WORKER = 4 * 2**30
ProgressCallback = Callable[[int, int, StudyResult], None]


class CohortError(SpineMetsError):
    """The cohort cannot run (cluster unreachable, workers on another version, out_dir not shared)."""


@dataclass
class CohortReport:
    """Outcome of a cohort run: per-study results, the files written and how it ran."""

    out_dir: str
    results: list[StudyResult]
    files: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    scheduler: str = ""
    n_workers: int = 0
    dashboard: str | None = None
    settings_sha256: str = ""

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)

    def to_json(self) -> dict[str, Any]:
        return {"out_dir": self.out_dir, "n_studies": len(self.results), "done": self.count("done"),
                "skipped": self.count("skipped"), "failed": self.count("failed"), "seconds": round(self.seconds, 2),
                "scheduler": self.scheduler, "n_workers": self.n_workers, "dashboard": self.dashboard,
                "settings_sha256": self.settings_sha256, "software_version": __version__, "files": self.files,
                "studies": [r.to_json() for r in sorted(self.results, key=lambda r: r.study_id)]}


def default_workers() -> int:
    """Worker processes for this machine: one per core, fewer when memory is short (4 GiB each)."""
    from distributed.system import MEMORY_LIMIT

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, int(MEMORY_LIMIT // MEMORY_PER_WORKER)))


def study_dir(out_dir: str | PathLike[str], study_id: str) -> Path:
    """The case folder of one study inside a cohort output folder."""
    from ..safety.filenames import safe_join

    # study IDs come from a manifest: never let one name a folder outside the output
    return safe_join(Path(out_dir) / "studies", study_id, fallback="study")


def _task(study: Study, case_dir: str, settings: PipelineSettings) -> StudyResult:
    from distributed import get_worker

    try:
        name = str(get_worker().address)
    except ValueError:
        name = "local"
    return run_study_safe(study, case_dir, settings, resume=True, worker=name)


def _worker_facts(out_dir: str) -> dict[str, Any]:
    import napari_spine_mets

    return {"version": napari_spine_mets.__version__, "sees_out_dir": Path(out_dir).is_dir()}


def _start_client(scheduler: str | None, workers: int | None, dashboard: str | None) -> tuple[Any, Any]:
    """A client to ``scheduler``, or to a new LocalCluster of processes (returned to be closed)."""
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout="30s"), None
        except (OSError, TimeoutError) as exc:
            raise CohortError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from exc
    if dashboard is not None:
        try:
            import bokeh  # noqa: F401 - the dashboard needs it
        except ImportError:
            log.warning("no Dask dashboard: bokeh is not installed")
            dashboard = None
    cluster = LocalCluster(n_workers=workers or default_workers(), threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address=dashboard, memory_limit="auto")
    return Client(cluster), cluster


def _check_workers(client: Any, out_dir: Path) -> int:
    facts = client.run(_worker_facts, str(out_dir))
    if not facts:
        raise CohortError("the Dask cluster has no workers")
    wrong = {w: f["version"] for w, f in facts.items() if f["version"] != __version__}
    if wrong:
        raise CohortError(f"workers run another napari-spine-mets version than this client ({__version__}): "
                          + ", ".join(f"{w}: {v}" for w, v in sorted(wrong.items())))
    blind = sorted(w for w, f in facts.items() if not f["sees_out_dir"])
    if blind:
        raise CohortError(f"worker(s) {', '.join(blind)} cannot see the output folder {out_dir}: "
                          "use a folder on a filesystem shared with the workers, at the same path")
    return len(facts)


def run_cohort(manifest: Manifest, out_dir: str | PathLike[str], settings: PipelineSettings | None = None, *,
               scheduler: str | None = None, workers: int | None = None, client: Any = None,
               dashboard: str | None = "127.0.0.1:0", on_result: ProgressCallback | None = None) -> CohortReport:
    """Process every study of ``manifest`` into ``out_dir`` and write the cohort and errors tables.

    ``client``: an existing ``distributed.Client`` (then ``scheduler``/``workers`` are ignored).
    ``on_result(done, total, result)`` is called as each study finishes (for a progress bar).
    """
    from distributed import as_completed

    from .table import build_errors, build_table, write_tables

    settings = settings or PipelineSettings()
    out_dir = Path(out_dir).resolve()
    (out_dir / "studies").mkdir(parents=True, exist_ok=True)
    start, digest = time.perf_counter(), settings.settings_hash()
    total, results, pending = len(manifest.studies), [], []
    for study in manifest.studies:
        rows = finished_rows(study_dir(out_dir, study.study_id), study, digest)
        if rows is None:
            pending.append(study)
            continue
        results.append(StudyResult(study.study_id, "skipped", str(study_dir(out_dir, study.study_id)), rows=rows))
        if on_result:
            on_result(len(results), total, results[-1])
    report = CohortReport(str(out_dir), results, settings_sha256=digest)
    own_cluster = None
    if pending:
        if client is None:
            client, own_cluster = _start_client(scheduler, workers, dashboard)
        try:
            report.n_workers = _check_workers(client, out_dir)
            report.scheduler = str(client.scheduler.address)
            has_dashboard = "dashboard" in client.scheduler_info().get("services", {}) and (
                own_cluster is None or dashboard is not None)
            report.dashboard = client.dashboard_link if has_dashboard else None
            log.info("%d studies to run on %d workers (%s), %d reused", len(pending), report.n_workers,
                     report.scheduler, total - len(pending))
            token = uuid.uuid4().hex[:8]
            futures = {client.submit(_task, s, str(study_dir(out_dir, s.study_id)), settings, pure=False,
                                     key=f"spine-mets-study-{s.study_id}-{token}"): s for s in pending}
            for future in as_completed(futures):
                results.append(_outcome(future, futures[future], out_dir))
                if on_result:
                    on_result(len(results), total, results[-1])
        finally:
            if own_cluster is not None:
                client.close()
                own_cluster.close()
    provenance = {"pipeline_settings_sha256": digest, "software_version": __version__,
                  "feature_settings_sha256": settings.feature_settings_hash()}
    rows = [row for r in results if r.status in ("done", "skipped") for row in r.rows]
    clinical = {s.study_id: s.clinical for s in manifest.studies}
    table = build_table(rows, clinical, manifest.numeric_columns + manifest.text_columns, provenance)
    paths = {s.study_id: str(s.path) for s in manifest.studies}
    errors = build_errors([{"study_id": r.study_id, "error_type": r.error_type, "error_message": r.error_message,
                            "failed_step": r.failed_step, "path": paths.get(r.study_id, ""), "case_dir": r.case_dir}
                           for r in results if r.status == "failed"])
    report.files = {k: str(v) for k, v in write_tables(out_dir, table, errors, settings.radiomics).items()}
    report.seconds = time.perf_counter() - start
    summary = {**report.to_json(), "manifest": manifest.to_json(), "settings": settings.to_json()}
    report.files["summary"] = str(atomic_write_text(out_dir / "run.json", json.dumps(summary, indent=1, default=str)))
    return report


def _outcome(future: Any, study: Study, out_dir: Path) -> StudyResult:
    """The task's result, or a failure record when the task itself died (KilledWorker, cancelled)."""
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - recorded; the cohort goes on
        log.warning("study %s: task failed: %s: %s", study.study_id, type(exc).__name__, exc)
        return StudyResult(study.study_id, "failed", str(study_dir(out_dir, study.study_id)),
                           error_type=type(exc).__name__, error_message=" ".join(str(exc).split()),
                           failed_step="worker")
