"""Benchmark: radiomics on the real T12 mask, pyradiomics and ours in one run, alternating.

Run ``python benchmarks/bench_radiomics.py [--repeats 5] [--device auto]``. Same ROI,
same settings (Original + LoG sigma 1, 2, 3 mm + 8 wavelets, bin width 25: 1,130
features). Writes ``benchmarks/results/bench_radiomics.json`` with both medians, every
sample, the ratio, feature counts, the largest relative difference between the two, the
device ours ran on and machine info. The first run of each is an untimed warm-up.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, shared_data_dir, write_results  # noqa: E402

SIGMAS = [1.0, 2.0, 3.0]


def find_data() -> Path:
    return shared_data_dir() / "ct-chest-abdomen-dicom"


def load_t12(folder: Path):
    from napari_spine_mets.io.dicom import read_dicom_series
    from napari_spine_mets.io.totalsegmentator import read_totalsegmentator

    ct = read_dicom_series(folder / "series")
    labels = read_totalsegmentator(folder / "reference-totalsegmentator.nii.gz", target=ct)
    return np.asarray(ct.array), (np.asarray(labels.array) == 32).astype(np.uint8), tuple(ct.spacing)


def make_pyradiomics(image, mask, spacing):
    import SimpleITK as sitk
    from radiomics import featureextractor

    logging.getLogger("radiomics").setLevel(logging.ERROR)
    extractor = featureextractor.RadiomicsFeatureExtractor(binWidth=25, additionalInfo=False)
    extractor.enableImageTypes(Original={}, LoG={"sigma": SIGMAS}, Wavelet={})
    img, msk = sitk.GetImageFromArray(image), sitk.GetImageFromArray(mask)
    for s in (img, msk):
        s.SetSpacing(tuple(float(v) for v in spacing[::-1]))
    return lambda: {k: float(v) for k, v in extractor.execute(img, msk).items()}


def make_ours(image, mask, spacing, device):
    from napari_spine_mets.radiomics import RadiomicsSettings
    from napari_spine_mets.radiomics.engine import extract

    settings = RadiomicsSettings(bin_width=25, log_sigma=SIGMAS, wavelet=True)
    return lambda: extract(image, mask, spacing, settings, device)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    image, mask, spacing = load_t12(find_data())
    run_ref = make_pyradiomics(image, mask, spacing)
    run_ours = make_ours(image, mask, spacing, args.device)
    ref = run_ref()  # warm-up
    ours = run_ours()
    worst = max(abs(ours.features[k] - v) / max(abs(v), 1e-12) if abs(v) > 1e-6 else abs(ours.features[k] - v) for k, v in ref.items())
    t_ref, t_ours = [], []
    for _ in range(args.repeats):
        start = time.perf_counter()
        run_ref()
        t_ref.append(time.perf_counter() - start)
        start = time.perf_counter()
        run_ours()
        t_ours.append(time.perf_counter() - start)
    med_ref, med_ours = statistics.median(t_ref), statistics.median(t_ours)
    result = {
        "roi": "real CT, TotalSegmentator T12 (label 32, 23,576 voxels)",
        "settings": "Original + LoG sigma 1, 2, 3 mm + 8 wavelets (coif1), bin width 25, all classes",
        "features_pyradiomics": len(ref),
        "features_ours": len(ours.features),
        "max_relative_difference": worst,
        "pyradiomics_median_s": med_ref,
        "ours_median_s": med_ours,
        "speedup": med_ref / med_ours,
        "samples_pyradiomics_s": t_ref,
        "samples_ours_s": t_ours,
        "device": ours.device,
        "machine": machine_info(("numpy", "torch", "pyradiomics", "SimpleITK", "PyWavelets")),
    }
    write_results("bench_radiomics", result)
    print(f"pyradiomics {med_ref:.3f} s, ours {med_ours:.3f} s ({ours.device['device']}): {med_ref / med_ours:.1f}x; "
          f"{len(ours.features)} features, max rel. diff {worst:.1e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
