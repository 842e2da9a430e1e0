"""``spine-mets run STUDY --out CASE_DIR`` and ``spine-mets cohort INPUT --out DIR``.

``cohort`` exits 0 when every study has a result, 1 when it finished but some studies
failed (listed in ``errors.csv``), 2 when it could not run (bad manifest, cluster...).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..devices import PRECISION_CHOICES

__all__ = ["register"]

EXIT_SOME_FAILED = 1


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    run = subparsers.add_parser(
        "run", help="one study end to end (labels, lesions, HU, radiomics, scores) into a case folder",
        description="Load a study, take its vertebra labels (given, or from the segmentation model), its lesions, "
                    "measure trabecular HU, compute radiomics per vertebral body and lesion, the scores the data "
                    "allow, and save a case folder with the provenance of every step.")
    run.add_argument("study", type=Path, help="study folder (dicom/ or ct.nii.gz, vertebrae.nii.gz...), DICOM folder "
                                              "or NIfTI CT")
    run.add_argument("--out", type=Path, required=True, help="case folder to write")
    run.add_argument("--labels", type=Path, help="vertebra labels (TotalSegmentator NIfTI or mask folder, label map)")
    run.add_argument("--parts", type=Path, help="parts label map (project's VertebraPart codes)")
    run.add_argument("--lesions", type=Path, help="lesion label map (one label per lesion)")
    run.add_argument("--force", action="store_true", help="recompute even when the case folder is complete")
    _pipeline_options(run)
    run.set_defaults(handler=_run_study)

    cohort = subparsers.add_parser(
        "cohort", help="the pipeline over a cohort on Dask; one tidy table for the nomogram commands",
        description="Run every study of INPUT (a folder of study folders, or a CSV manifest with a 'path' column and "
                    "clinical columns) on a local Dask cluster or an existing one; write cohort.parquet/.csv (one row "
                    "per vertebral body / lesion ROI), errors.csv and run.json. Reruns skip finished studies.")
    cohort.add_argument("input", type=Path, help="folder of studies, or CSV manifest")
    cohort.add_argument("--out", type=Path, help="output folder (required unless --check)")
    cohort.add_argument("--scheduler", metavar="ADDRESS", help="existing Dask scheduler (tcp://host:port)")
    cohort.add_argument("--workers", type=int, help="local worker processes (default: sized to the machine)")
    cohort.add_argument("--dashboard", default="127.0.0.1:8787", metavar="ADDRESS",
                        help="local cluster's dashboard (default 127.0.0.1:8787; 'none': no dashboard)")
    cohort.add_argument("--check", action="store_true", help="validate the input and stop (nothing is run)")
    _pipeline_options(cohort)
    cohort.set_defaults(handler=_run_cohort)


def _pipeline_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--radiomics-settings", type=Path, help="radiomics settings (YAML/JSON); default pyradiomics defaults")
    p.add_argument("--label-source", choices=("auto", "given", "model"), default="auto",
                   help="vertebra labels: given with the study, else the model (auto); or only one of them")
    p.add_argument("--device", default="auto", help="auto (the worker's GPU if any), cpu, cuda")
    p.add_argument("--precision", default="float32", choices=PRECISION_CHOICES,
                   help="the segmentation network's arithmetic; float32 (default) gives the same labels on every "
                   "worker, auto is faster on CPUs with hardware bfloat16 and on GPUs")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")


def _settings(args: argparse.Namespace) -> Any:
    from .settings import PipelineSettings

    return PipelineSettings.with_radiomics_file(args.radiomics_settings, label_source=args.label_source,
                                                device=args.device, precision=args.precision)


def _run_study(args: argparse.Namespace) -> int:
    from ..errors import InputError
    from .manifest import Study, _name_of, study_inputs_in_folder
    from .pipeline import run_study

    if not args.study.exists():
        raise InputError(args.study, "no such file or folder")
    found = study_inputs_in_folder(args.study) if args.study.is_dir() else {"path": args.study}
    given = {k: getattr(args, k) for k in ("labels", "parts", "lesions")}
    for role, p in given.items():
        if p is not None and not p.exists():
            raise InputError(p, f"{role}: no such file or folder")
    study = Study(study_id=_name_of(args.study.resolve()), path=found["path"],
                  **{k: given[k] or found.get(k) for k in given})
    result = run_study(study, args.out, _settings(args), resume=not args.force)
    if args.json:
        print(json.dumps({**result.to_json(), "rows": result.rows}, indent=2, default=str))
        return 0
    print(f"{study.study_id}: {result.status} -> {result.case_dir} ({len(result.rows)} ROI rows, "
          f"{result.seconds:.1f} s, device {result.device or 'n/a'})")
    for row in result.rows:
        hu = row.get("hu_mean")
        print(f"  {row['roi_id']:<14} {row['level'] or '-':<4} HU {'—' if hu is None else f'{hu:.0f}':>5}  "
              f"{row.get('hu_band', '')}{'  ! ' + row['roi_problem'] if row.get('roi_problem') else ''}")
    for note in result.notes:
        print(f"  note: {note}")
    return 0


def _run_cohort(args: argparse.Namespace) -> int:
    from .manifest import load_manifest
    from .runner import CohortError, run_cohort

    manifest = load_manifest(args.input)  # raises ManifestError listing every problem: nothing runs
    if args.check:
        print(json.dumps(manifest.to_json(), indent=2) if args.json else
              f"{args.input}: {len(manifest.studies)} studies, clinical columns: "
              f"{', '.join(manifest.numeric_columns + manifest.text_columns) or 'none'}: OK")
        return 0
    if args.out is None:
        raise CohortError("give the output folder: --out DIR")
    dashboard = None if str(args.dashboard).lower() == "none" else args.dashboard
    report = run_cohort(manifest, args.out, _settings(args), scheduler=args.scheduler, workers=args.workers,
                        dashboard=dashboard, on_result=_progress_printer())
    if args.json:
        print(json.dumps(report.to_json(), indent=2, default=str))
    else:
        print(f"{report.count('done')} computed, {report.count('skipped')} reused, {report.count('failed')} failed "
              f"in {report.seconds:.1f} s on {report.n_workers or 0} worker(s)")
        print(f"table: {report.files.get('cohort_parquet')} and .csv; errors: {report.files.get('errors_csv')}")
        for r in sorted(report.results, key=lambda r: r.study_id):
            if r.status == "failed":
                print(f"  ! {r.study_id} ({r.failed_step}): {r.error_type}: {r.error_message}")
    return EXIT_SOME_FAILED if report.count("failed") else 0


def _progress_printer() -> Any:
    """A progress bar on stderr (one line per study when stderr is not a terminal); stdout stays clean for --json."""
    counts = {"done": 0, "skipped": 0, "failed": 0}
    tty = sys.stderr.isatty()

    def show(done: int, total: int, result: Any) -> None:
        counts[result.status] = counts.get(result.status, 0) + 1
        if tty:
            width = 30
            filled = int(width * done / max(total, 1))
            print(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} computed {counts['done']}, reused "
                  f"{counts['skipped']}, failed {counts['failed']}", end="\n" if done == total else "",
                  file=sys.stderr, flush=True)
        else:
            print(f"{done}/{total} {result.study_id}: {result.status}"
                  + (f" ({result.error_type})" if result.status == "failed" else ""), file=sys.stderr, flush=True)
    return show
