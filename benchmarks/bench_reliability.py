"""Reliability report: fuzzed readers, SIGKILL during autosave, memory guard.

    python benchmarks/bench_reliability.py                 # full run (>= 10,000 inputs per reader)
    python benchmarks/bench_reliability.py --inputs 500 --kills 20   # quick look
    python benchmarks/bench_reliability.py --sections memory          # one section, others kept

Fuzzing: each target (tests/fuzz_targets.py) runs in worker processes; input ``i`` is
derived deterministically from (target, i), so any finding can be replayed. A worker
that does not answer within ``--timeout`` seconds (5) is killed and the input counted
as a hang. Workers run with an address-space limit, so a load the memory guard missed
shows up as a MemoryError failure instead of taking the machine down. Every failure and
hang is written to tests/fuzz_corpus/ (the test suite replays it).

Crash safety: tests/crash_saver.py autosaves a case in a loop and is SIGKILLed at random
moments; after each kill load_case must give one complete save, no older than the last
acknowledged one.

Memory: headers claiming enormous volumes must be refused quickly without allocating;
the largest volume actually loaded and its peak memory against the estimate; the
largest volume the guard admits under a 24 GB limit.

Writes benchmarks/results/bench_reliability.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import subprocess
import sys
import tempfile
import time
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO_ROOT, RESULTS_DIR, machine_info, shared_data_dir, write_results  # noqa: E402

TESTS = REPO_ROOT / "tests"
sys.path.insert(0, str(TESTS))
WORKER_MEMORY_LIMIT = 6 * 1024**3


# ----------------------------------------------------------------------------- fuzzing
def _worker(conn: Any, target_name: str, shared: str | None) -> None:
    import logging
    import warnings

    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")
    resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY_LIMIT, WORKER_MEMORY_LIMIT))
    import fuzz_targets as ft

    target = ft.targets(Path(shared) if shared else None)[target_name]
    conn.send("ready")
    while True:
        index = conn.recv()
        if index is None:
            return
        started = time.perf_counter()
        outcome = ft.run_files(target, target.make(index))
        conn.send((index, outcome.kind, outcome.error, outcome.detail, time.perf_counter() - started))


class _Worker:
    def __init__(self, ctx: Any, target: str, shared: str | None) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker, args=(child, target, shared), daemon=True)
        self.process.start()
        self.conn.recv()  # ready (seeds built)
        self.index: int | None = None
        self.since = 0.0

    def send(self, index: int) -> None:
        self.index, self.since = index, time.monotonic()
        self.conn.send(index)

    def kill(self) -> None:
        self.process.kill()
        self.process.join()


def fuzz_target(name: str, n: int, workers: int, timeout: float, shared: str | None) -> dict[str, Any]:
    import fuzz_targets as ft

    ctx = mp.get_context("fork")
    pool = [_Worker(ctx, name, shared) for _ in range(workers)]
    pending = list(range(n))
    counts = {"ok": 0, "project": 0, "failure": 0, "hang": 0}
    failures: dict[str, dict[str, Any]] = {}
    errors: dict[str, int] = {}
    slowest = 0.0
    started = time.perf_counter()
    target = None
    while pending or any(w.index is not None for w in pool):
        for w in pool:
            if w.index is None and pending:
                w.send(pending.pop(0))
        busy = [w for w in pool if w.index is not None]
        ready = wait([w.conn for w in busy], timeout=0.2)
        for w in busy:
            if w.conn in ready:
                try:
                    index, kind, error, detail, seconds = w.conn.recv()
                except EOFError:  # the worker died (e.g. a fatal signal in a C library)
                    index, kind, error, detail, seconds = w.index, "failure", "WorkerDied", "worker died", 0.0
                    pool[pool.index(w)] = _Worker(ctx, name, shared)
                slowest = max(slowest, seconds)
            elif time.monotonic() - w.since > timeout:
                index, kind, error, detail = w.index, "hang", "Hang", f"no answer within {timeout} s"
                w.kill()
                pool[pool.index(w)] = w = _Worker(ctx, name, shared)
            else:
                continue
            w.index = None
            counts[kind] += 1
            if kind == "project":
                errors[error] = errors.get(error, 0) + 1
            if kind in ("failure", "hang"):
                key = f"{error}: {detail.strip().splitlines()[-1][:160] if detail.strip() else ''}"
                if key not in failures:
                    target = target or ft.targets(Path(shared) if shared else None)[name]
                    saved = ft.save_entry(target, index, target.make(index), error)
                    failures[key] = {"index": index, "count": 0, "corpus": str(saved.relative_to(REPO_ROOT))}
                failures[key]["count"] += 1
    for w in pool:
        w.conn.send(None)
        w.process.join(5)
    elapsed = time.perf_counter() - started
    print(f"  {name}: {n} inputs in {elapsed:.0f} s: {counts}", flush=True)
    return {"inputs": n, **counts, "failures_found": failures, "project_errors": errors,
            "slowest_input_s": round(slowest, 3), "seconds": round(elapsed, 1)}


# ----------------------------------------------------------------------------- crash safety
# ----------------------------------------------------------------------------- memory
_PEAK_SCRIPT = """
import sys, time
from napari_spine_mets.io.nifti import read_nifti
def hwm():  # VmHWM: peak resident memory of this process image (ru_maxrss would inherit the parent's)
    line = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0]
    return int(line.split()[1]) * 1024
before = hwm()
t = time.perf_counter()
v = read_nifti(sys.argv[1])
print(v.array.shape, v.array.nbytes, before, hwm(), time.perf_counter() - t)
"""


def memory_report(slices: int) -> dict[str, Any]:
    import nibabel as nib
    import numpy as np

    from napari_spine_mets.safety import memory

    out: dict[str, Any] = {"budget_now_bytes": memory.memory_budget_bytes(),
                           "available_now_bytes": memory.available_memory_bytes()}
    with tempfile.TemporaryDirectory() as tmp:
        # 1. a header claiming an enormous volume: refused from the header, fast
        giant = Path(tmp) / "giant.nii"
        nib.save(nib.Nifti1Image(np.zeros((4, 4, 4), np.int16), np.eye(4)), str(giant))
        raw = bytearray(giant.read_bytes())
        raw[40:56] = np.array([3, 30000, 30000, 30000, 1, 1, 1, 1], "<i2").tobytes()
        giant.write_bytes(bytes(raw))
        from napari_spine_mets.io.nifti import read_nifti

        t = time.perf_counter()
        try:
            read_nifti(giant)
            out["giant_header"] = {"refused": False}
        except memory.MemoryLimitError as exc:
            out["giant_header"] = {"refused": True, "seconds": round(time.perf_counter() - t, 4), "message": str(exc)}
        # 2. the largest volume actually loaded here: 512 x 512 x slices int16, peak memory vs estimate
        big = Path(tmp) / "big.nii.gz"
        data = (np.arange(512 * 512 * slices, dtype=np.int64) % 3001 - 1000).astype(np.int16).reshape(512, 512, slices)
        nib.save(nib.Nifti1Image(data, np.diag([0.8, 0.8, 1.0, 1.0])), str(big))
        del data
        env = dict(os.environ, SPINE_METS_MEMORY_LIMIT_GB="24")
        result = subprocess.run([sys.executable, "-c", _PEAK_SCRIPT, str(big)], capture_output=True, text=True,
                                env=env, timeout=600)
        if result.returncode == 0:
            *shape, nbytes, before, after, seconds = result.stdout.split()
            estimate = memory.estimate_bytes((slices, 512, 512), 2, copies=3.0)
            out["largest_loaded"] = {"shape_zyx": [slices, 512, 512], "array_bytes": int(nbytes),
                                     "peak_rss_increase_bytes": int(after) - int(before),
                                     "guard_estimate_bytes": estimate, "seconds": round(float(seconds), 2)}
        else:
            out["largest_loaded"] = {"error": result.stderr[-800:]}
    # 3. what a 24 GB limit admits (DICOM int16/float32 worst case: 4 bytes x 2.5 copies)
    limit = 24 * 10**9
    out["limit_24gb"] = {
        "dicom_512x512_max_slices": int(limit // (512 * 512 * 4 * 2.5)),
        "nifti_int16_512x512_max_slices": int(limit // (512 * 512 * 2 * 3.0)),
    }
    return out


# ----------------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=10_000, help="mutated inputs per target")
    parser.add_argument("--targets", nargs="*", default=None, help="subset of targets")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds before an input counts as a hang")
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--big-slices", type=int, default=1200, help="slices of the 512x512 volume actually loaded")
    parser.add_argument("--sections", nargs="*", default=["fuzz", "crash", "memory"],
                        help="run only these sections; the others are kept from the previous results file")
    args = parser.parse_args()
    shared = str(shared_data_dir())
    import fuzz_targets as ft

    names = args.targets or list(ft.targets(Path(shared)))
    previous = RESULTS_DIR / "bench_reliability.json"
    results: dict[str, Any] = json.loads(previous.read_text()) if previous.is_file() else {}
    results.update({"machine": machine_info(("numpy", "pydicom", "nibabel", "pynrrd")),
                    "timeout_s": args.timeout, "mutator_version": ft.MUTATOR_VERSION})
    if "fuzz" in args.sections:
        print("fuzzing", flush=True)
        results["fuzz"] = {name: fuzz_target(name, args.inputs, args.workers, args.timeout, shared) for name in names}
    if "crash" in args.sections:
        print("SIGKILL during autosave", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            import crash_saver

            results["crash_safety"] = crash_saver.kill_loop(args.kills, Path(tmp) / "case", seed=1)
        print(f"  {results['crash_safety']['survived']}/{args.kills} kills survived", flush=True)
    if "memory" in args.sections:
        print("memory", flush=True)
        results["memory"] = memory_report(args.big_slices)
    results["summary"] = {
        "inputs_per_reader": {k: v["inputs"] for k, v in results["fuzz"].items()},
        "failures": {k: v["failure"] for k, v in results["fuzz"].items()},
        "hangs_over_timeout": {k: v["hang"] for k, v in results["fuzz"].items()},
        "kills_survived": f"{results['crash_safety']['survived']}/{results['crash_safety']['kills']}",
        "largest_loaded": results["memory"].get("largest_loaded", {}).get("shape_zyx"),
    }
    path = write_results("bench_reliability", results)
    print(f"summary: {results['summary']}\nwrote {path}")


if __name__ == "__main__":
    main()
