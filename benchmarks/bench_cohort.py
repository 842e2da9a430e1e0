"""Benchmark: cohort throughput (studies per minute) with 1 and 2 local worker processes.

Run ``python benchmarks/bench_cohort.py [--studies 12] [--levels L1 L2 L3]``. Synthetic
studies (given vertebra/parts labels, one lesion each) go through the whole pipeline
(DICOM read, HU, radiomics with the default settings: original image, all 107 features
per ROI, scores, case folder). Each worker count gets its own fresh output folder and
a fresh LocalCluster; the clock runs from submission to the written tables (cluster
start-up is timed separately). Writes ``benchmarks/results/bench_cohort.json``.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, write_results  # noqa: E402


def make_cohort(root: Path, n: int, levels: tuple[str, ...]) -> Path:
    from napari_spine_mets.synthetic import LesionSpec, SpineParams, generate_spine_ct, write_synthetic_case

    for i in range(n):
        params = SpineParams(seed=100 + i, levels=levels, spacing_mm=(2.0, 1.0, 1.0), fov_mm=200, fracture=None,
                             lesions=(LesionSpec(level=levels[len(levels) // 2], radius_mm=9.0),))
        write_synthetic_case(generate_spine_ct(params), root / f"s{i:03d}")
    return root


def run(root: Path, out: Path, workers: int) -> dict:
    from distributed import Client, LocalCluster

    from napari_spine_mets.cohort.manifest import load_manifest
    from napari_spine_mets.cohort.runner import run_cohort

    import os

    manifest = load_manifest(root)
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                           host="127.0.0.1")
    client = Client(cluster)
    client.run(lambda: __import__("torch") and None)  # warm the workers' imports outside the timed part
    startup = time.perf_counter() - t0
    try:
        t1 = time.perf_counter()
        report = run_cohort(manifest, out, client=client)
        seconds = time.perf_counter() - t1
    finally:
        client.close()
        cluster.close()
    done = report.count("done")
    return {"workers": workers, "studies": len(manifest.studies), "done": done, "failed": report.count("failed"),
            "seconds": round(seconds, 2), "load_average_1min_before_after": [round(load_before, 2),
                                                                             round(os.getloadavg()[0], 2)],
            "cluster_startup_s": round(startup, 2),
            "studies_per_minute": round(60.0 * done / seconds, 2),
            "median_study_seconds": round(sorted(r.seconds for r in report.results)[len(report.results) // 2], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=12)
    parser.add_argument("--levels", nargs="+", default=["T12", "L1", "L2"])
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    work = Path(tempfile.mkdtemp(prefix="bench_cohort_"))
    try:
        t = time.perf_counter()
        make_cohort(work / "in", args.studies, tuple(args.levels))
        generation = time.perf_counter() - t
        runs = [run(work / "in", work / f"out{w}", w) for w in (1, 2)]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ratio = runs[1]["studies_per_minute"] / runs[0]["studies_per_minute"]
    data = {"benchmark": "cohort throughput, LocalCluster of processes (1 thread each, torch 1 thread per study)",
            "study": {"levels": args.levels, "spacing_mm": [2.0, 1.0, 1.0], "fov_mm": 200, "lesions": 1,
                      "radiomics": "default settings (original image, 107 features) per vertebral body and lesion"},
            "generation_seconds": round(generation, 1), "runs": runs, "scaling_ratio_2_vs_1": round(ratio, 3),
            "note": "the load averages show how busy the shared 2-core machine was (other jobs): with a load "
                    "above the core count a second worker gets little extra CPU, and the ratio says so",
            "machine": machine_info(("numpy", "torch", "dask", "distributed"))}
    path = write_results("bench_cohort", data)
    for r in runs:
        print(f"{r['workers']} worker(s): {r['studies_per_minute']:.1f} studies/min ({r['done']} studies in "
              f"{r['seconds']:.1f} s; cluster start {r['cluster_startup_s']:.1f} s)")
    print(f"scaling 2 vs 1 workers: x{ratio:.2f}; wrote {path}")


if __name__ == "__main__":
    main()
