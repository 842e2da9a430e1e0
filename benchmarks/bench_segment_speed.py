"""Vertebra segmentation speed on a clinical-size CT, load to labels.

``python benchmarks/bench_segment_speed.py [--device auto] [--levels-from T1] [--repeats N]``

Generates a thoracolumbar CT of clinical size (512 x 512 in-plane at 0.8 mm, 1.25 mm
slices, T1–S1: 430 slices; ``--levels-from T8`` gives the 322-slice T8–S1 case that
sessions before the generator drew T1–T7 measured), writes it as DICOM, then in a fresh process times reading it and
segmenting it and records the peak resident memory. ``--repeats`` segments again in the
same process, as a second case in a napari session is (on CUDA the first run pays for
the context and kernel start-up). Writes
benchmarks/results/bench_segment_speed.json.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, write_results  # noqa: E402

_CHILD = """
import json, resource, sys, time
from pathlib import Path
t0 = time.perf_counter()
from napari_spine_mets.io.dicom import read_dicom_series
from napari_spine_mets.segmentation.inference import segment_vertebrae
ct = read_dicom_series(Path(sys.argv[1]))
t1 = time.perf_counter()
result = segment_vertebrae(ct, device=sys.argv[2])
t2 = time.perf_counter()
again = []  # the same process again: a GPU's start-up (context, kernels) is paid once per session
for _ in range(int(sys.argv[3])):
    t = time.perf_counter()
    again_result = segment_vertebrae(ct, device=sys.argv[2])
    again.append({"segment_s": time.perf_counter() - t, "stages_s": again_result.provenance["timings_s"]})
print(json.dumps({"shape": list(ct.shape), "load_s": t1 - t0, "segment_s": t2 - t1, "total_s": t2 - t0,
                  "repeated_in_process": again,
                  "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2,
                  "levels": [s["name"] for s in result.vertebra_stats], "device": result.provenance["device"],
                  "stages_s": result.provenance["timings_s"]}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--levels-from", default="T1", help="most cranial level of the generated CT (T1..T12)")
    parser.add_argument("--repeats", type=int, default=0, help="segment again this many times in the same process")
    args = parser.parse_args()
    from napari_spine_mets.io.dicom_write import write_dicom_series
    from napari_spine_mets.synthetic import SpineParams, generate_spine_ct
    from napari_spine_mets.synthetic.params import SUPPORTED_LEVELS

    levels = SUPPORTED_LEVELS[SUPPORTED_LEVELS.index(args.levels_from.upper()):]
    case = generate_spine_ct(SpineParams(levels=levels, spacing_mm=(1.25, 0.8, 0.8), fov_mm=409.6))
    with tempfile.TemporaryDirectory() as tmp:
        write_dicom_series(case.ct, Path(tmp), uid_seed="bench-segment-speed")
        run = subprocess.run([sys.executable, "-c", _CHILD, tmp, args.device, str(args.repeats)], capture_output=True, text=True, check=False)
    if run.returncode != 0:
        print(run.stderr[-3000:], file=sys.stderr)
        return 1
    figures = json.loads(run.stdout.strip().splitlines()[-1])
    data = {**figures, "generated_levels": f"{levels[0]}-{levels[-1]}", "goal_cpu_s": 20.0, "goal_peak_gb": 4.0, "machine": machine_info()}
    path = write_results("bench_segment_speed", data)
    print(f"{figures['shape']} on {figures['device']}: load {figures['load_s']:.1f} s + segment {figures['segment_s']:.1f} s "
          f"= {figures['total_s']:.1f} s, peak {figures['peak_rss_gb']:.2f} GB -> {path}")
    for run_again in figures["repeated_in_process"]:
        print(f"  again in the same process: segment {run_again['segment_s']:.2f} s, stages {run_again['stages_s']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
