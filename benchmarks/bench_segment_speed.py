"""Vertebra segmentation speed on a clinical-size CT, load to labels.

``python benchmarks/bench_segment_speed.py [--device auto] [--levels-from T1] [--repeats N] [--precisions float32,auto]``

Generates a thoracolumbar CT of clinical size (512 x 512 in-plane at 0.8 mm, 1.25 mm
slices, T1–S1: 430 slices; ``--levels-from T8`` gives the 322-slice T8–S1 case that
sessions before the generator drew T1–T7 measured), writes it as DICOM, then in a fresh process times reading it and
segmenting it and records the peak resident memory. ``--repeats`` segments again in the
same process, as a second case in a napari session is (on CUDA the first run pays for
the context and kernel start-up). ``--precisions`` runs the same case once per network
arithmetic, side by side (``auto``: bfloat16 on a CPU with hardware bfloat16, float16 on
CUDA); the label maps of each run are compared with the first's (Dice of the vertebra
voxels, and the share of voxels whose label differs). Writes
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
result = segment_vertebrae(ct, device=sys.argv[2], precision=sys.argv[4])
t2 = time.perf_counter()
import numpy as np
np.save(sys.argv[5], result.vertebrae.array)
again = []  # the same process again: a GPU's start-up (context, kernels) is paid once per session
for _ in range(int(sys.argv[3])):
    t = time.perf_counter()
    again_result = segment_vertebrae(ct, device=sys.argv[2], precision=sys.argv[4])
    again.append({"segment_s": time.perf_counter() - t, "stages_s": again_result.provenance["timings_s"]})
print(json.dumps({"shape": list(ct.shape), "load_s": t1 - t0, "segment_s": t2 - t1, "total_s": t2 - t0,
                  "repeated_in_process": again,
                  "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2,
                  "levels": [s["name"] for s in result.vertebra_stats], "device": result.provenance["device"],
                  "precision": result.provenance["precision"],
                  "stages_s": result.provenance["timings_s"]}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--levels-from", default="T1", help="most cranial level of the generated CT (T1..T12)")
    parser.add_argument("--repeats", type=int, default=0, help="segment again this many times in the same process")
    parser.add_argument("--precisions", default="float32,auto",
                        help="comma-separated network arithmetics to run side by side (auto, float32, bfloat16, float16)")
    args = parser.parse_args()
    import numpy as np

    from napari_spine_mets.io.dicom_write import write_dicom_series
    from napari_spine_mets.synthetic import SpineParams, generate_spine_ct
    from napari_spine_mets.synthetic.params import SUPPORTED_LEVELS

    levels = SUPPORTED_LEVELS[SUPPORTED_LEVELS.index(args.levels_from.upper()):]
    case = generate_spine_ct(SpineParams(levels=levels, spacing_mm=(1.25, 0.8, 0.8), fov_mm=409.6))
    runs: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        write_dicom_series(case.ct, Path(tmp) / "series", uid_seed="bench-segment-speed")
        first_labels = None
        for precision in [p.strip() for p in args.precisions.split(",") if p.strip()]:
            labels_path = Path(tmp) / f"labels-{precision}.npy"
            run = subprocess.run([sys.executable, "-c", _CHILD, str(Path(tmp) / "series"), args.device, str(args.repeats),
                                  precision, str(labels_path)], capture_output=True, text=True, check=False)
            if run.returncode != 0:
                print(run.stderr[-3000:], file=sys.stderr)
                return 1
            figures = json.loads(run.stdout.strip().splitlines()[-1])
            labels = np.load(labels_path)
            if first_labels is None:
                first_labels, first_name = labels, precision
            else:
                figures[f"agreement_with_{first_name}"] = _agreement(first_labels, labels)
            runs[precision] = figures
    data = {"runs": runs, "generated_levels": f"{levels[0]}-{levels[-1]}", "goal_cpu_s": 20.0, "goal_peak_gb": 4.0,
            "machine": machine_info()}
    path = write_results("bench_segment_speed", data)
    for precision, figures in runs.items():
        print(f"{precision} -> {figures['precision']}: {figures['shape']} on {figures['device']}: load {figures['load_s']:.1f} s "
              f"+ segment {figures['segment_s']:.1f} s = {figures['total_s']:.1f} s, peak {figures['peak_rss_gb']:.2f} GB; "
              f"stages {figures['stages_s']}")
        for run_again in figures["repeated_in_process"]:
            print(f"  again in the same process: segment {run_again['segment_s']:.2f} s, stages {run_again['stages_s']}")
        for key, value in figures.items():
            if key.startswith("agreement_with_"):
                print(f"  {key}: {value}")
    print(f"-> {path}")
    return 0


def _agreement(reference: "np.ndarray", labels: "np.ndarray") -> dict:
    """How far two runs' vertebra label maps differ: Dice of the vertebra voxels, the share of
    them labelled differently, and whether the same levels were found."""
    import numpy as np

    a, b = reference > 0, labels > 0
    both = int(a.sum() + b.sum())
    differ = int((reference != labels).sum())
    return {"vertebra_dice": round(2.0 * int((a & b).sum()) / both, 5) if both else 1.0,
            "voxels_labelled_differently": differ,
            "fraction_of_vertebra_voxels_differing": round(differ / max(1, int((a | b).sum())), 5),
            "same_levels": sorted(np.unique(reference).tolist()) == sorted(np.unique(labels).tolist())}


if __name__ == "__main__":
    raise SystemExit(main())
