"""Benchmark: load the real CT series with our reader and with SimpleITK, alternating.

Run ``python benchmarks/bench_load.py [--repeats 7]``. Writes
``benchmarks/results/bench_load.json`` (medians, every sample, ratio ours/SimpleITK,
machine info) and prints a short summary. The first, untimed run of each reader is the
warm-up (file cache, imports); its time is recorded apart
as ``cold_s`` so the one-off start-up cost stays visible.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO_ROOT, machine_info, shared_data_dir, write_results  # noqa: E402


def find_series() -> Path:
    series = shared_data_dir() / "ct-chest-abdomen-dicom" / "series"
    if not series.is_dir():
        sys.exit(f"{series} is missing from the shared data")
    return series


def load_ours(folder: Path):
    from napari_spine_mets.io.dicom import read_dicom_series

    return read_dicom_series(folder).array


def load_sitk(folder: Path):
    import SimpleITK as sitk

    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(folder)))
    return sitk.GetArrayFromImage(reader.Execute())


def _timed(fn, folder: Path) -> float:
    start = time.perf_counter()
    fn(folder)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    folder = find_series()
    cold = {"ours": _timed(load_ours, folder), "simpleitk": _timed(load_sitk, folder)}
    samples: dict[str, list[float]] = {"ours": [], "simpleitk": []}
    for i in range(args.repeats):
        order = (("ours", load_ours), ("simpleitk", load_sitk))
        for name, fn in order if i % 2 == 0 else order[::-1]:
            samples[name].append(_timed(fn, folder))
    medians = {k: statistics.median(v) for k, v in samples.items()}
    ratio = medians["ours"] / medians["simpleitk"]
    from napari_spine_mets.io.dicom_pixels import worker_count

    result = {
        "series": str(folder),
        "repeats": args.repeats,
        "median_s": medians,
        "samples_s": samples,
        "cold_s": cold,
        "ratio_ours_over_simpleitk": ratio,
        "decode_threads": worker_count(),
        "machine": machine_info(("numpy", "pydicom", "pylibjpeg", "pylibjpeg-openjpeg", "imagecodecs", "SimpleITK")),
    }
    path = write_results("bench_load", result)
    print(f"series: {folder} ({args.repeats} repeats after 1 warm-up each)")
    print(f"ours      median {medians['ours']:.3f} s   (cold {cold['ours']:.3f} s)")
    print(f"SimpleITK median {medians['simpleitk']:.3f} s   (cold {cold['simpleitk']:.3f} s)")
    print(f"ratio ours/SimpleITK = {ratio:.2f}   -> {path.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
