"""Benchmark: radiomics on the real T12 mask, pyradiomics and ours in one run, alternating.

Run ``python benchmarks/bench_radiomics.py [--repeats 5] [--device auto] [--batch-rois 6]``.
Same ROI, same settings (Original + LoG sigma 1, 2, 3 mm + 8 wavelets, bin width 25: 1,130
features). Writes ``benchmarks/results/bench_radiomics.json`` with both medians, every
sample, the ratio, feature counts, the largest relative difference between the two, the
device ours ran on and machine info (with the load average before and after: the machine
is shared, and other work slows both engines). The first run of each is an untimed warm-up.

Batch figure (``--batch-rois N``, 0 to skip): N ROIs on the same CT (T12, T11 and ribs
from the TotalSegmentator reference), pyradiomics called once per ROI (its only way),
ours once per ROI (``extract`` in a loop) and ours batched (``extract_many``: one filter
pass per image type shared by all ROIs). pyradiomics runs once (it takes minutes), ours
``--repeats`` times.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, shared_data_dir, write_results  # noqa: E402

SIGMAS = [1.0, 2.0, 3.0]
# TotalSegmentator ids on the reference CT: T12, T11 and ribs (bone ROIs of the same image)
BATCH_LABELS = (32, 33, 98, 99, 100, 110, 111, 112)


def find_data() -> Path:
    return shared_data_dir() / "ct-chest-abdomen-dicom"


def load_labels(folder: Path):
    from napari_spine_mets.io.dicom import read_dicom_series
    from napari_spine_mets.io.totalsegmentator import read_totalsegmentator

    ct = read_dicom_series(folder / "series")
    labels = read_totalsegmentator(folder / "reference-totalsegmentator.nii.gz", target=ct)
    return np.asarray(ct.array), np.asarray(labels.array), tuple(ct.spacing)


def load_t12(folder: Path):
    image, labels, spacing = load_labels(folder)
    return image, (labels == 32).astype(np.uint8), spacing


def worst_difference(ours: dict, ref: dict) -> float:
    """Largest relative difference (absolute near zero), as the reference test measures it."""
    return max(abs(ours[k] - v) / max(abs(v), 1e-12) if abs(v) > 1e-6 else abs(ours[k] - v) for k, v in ref.items())


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


def batch_figure(image, labels, spacing, n_rois: int, repeats: int, device: str) -> dict:
    """N ROIs of one CT: pyradiomics looped, ours looped, ours batched (extract_many)."""
    from napari_spine_mets.radiomics import RadiomicsSettings
    from napari_spine_mets.radiomics.engine import extract_features, extract_many

    ids = [i for i in BATCH_LABELS if (labels == i).any()][:n_rois]
    masks = [(labels == i).astype(np.uint8) for i in ids]
    settings = RadiomicsSettings(bin_width=25, log_sigma=SIGMAS, wavelet=True)
    items = [(image, m, spacing) for m in masks]
    batched = extract_many(items, settings, device)  # warm-up, and the values to compare
    start = time.perf_counter()
    refs = [make_pyradiomics(image, m, spacing)() for m in masks]
    t_ref = time.perf_counter() - start
    t_loop, t_batch = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        looped = [extract_features(image, m, spacing, settings, device) for m in masks]
        t_loop.append(time.perf_counter() - start)
        start = time.perf_counter()
        extract_many(items, settings, device)
        t_batch.append(time.perf_counter() - start)
    med_loop, med_batch = statistics.median(t_loop), statistics.median(t_batch)
    return {
        "rois": [f"TotalSegmentator label {i}" for i in ids],
        "voxels": [int(m.sum()) for m in masks],
        "pyradiomics_looped_s": t_ref,
        "ours_looped_median_s": med_loop,
        "ours_batched_median_s": med_batch,
        "speedup_batched_vs_pyradiomics": t_ref / med_batch,
        "speedup_batched_vs_ours_looped": med_loop / med_batch,
        "samples_ours_looped_s": t_loop,
        "samples_ours_batched_s": t_batch,
        "max_relative_difference_batched_vs_pyradiomics": max(worst_difference(b, r) for b, r in zip(batched, refs)),
        "max_relative_difference_batched_vs_looped": max(worst_difference(b, r) for b, r in zip(batched, looped)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch-rois", type=int, default=6, help="ROIs for the batch figure (0: skip it)")
    args = parser.parse_args()
    load_before = os.getloadavg()
    image, labels, spacing = load_labels(find_data())
    mask = (labels == 32).astype(np.uint8)
    run_ref = make_pyradiomics(image, mask, spacing)
    run_ours = make_ours(image, mask, spacing, args.device)
    ref = run_ref()  # warm-up
    ours = run_ours()
    worst = worst_difference(ours.features, ref)
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
        "load_average_before": load_before,
        "machine": machine_info(("numpy", "torch", "pyradiomics", "SimpleITK", "PyWavelets")),
    }
    print(f"pyradiomics {med_ref:.3f} s, ours {med_ours:.3f} s ({ours.device['device']}): {med_ref / med_ours:.1f}x; "
          f"{len(ours.features)} features, max rel. diff {worst:.1e}; load {load_before[0]:.1f} -> {os.getloadavg()[0]:.1f}")
    if args.batch_rois > 0:
        batch = batch_figure(image, labels, spacing, args.batch_rois, args.repeats, args.device)
        result["batch"] = batch
        print(f"batch of {len(batch['rois'])} ROIs: pyradiomics looped {batch['pyradiomics_looped_s']:.2f} s, "
              f"ours looped {batch['ours_looped_median_s']:.2f} s, ours batched {batch['ours_batched_median_s']:.2f} s "
              f"({batch['speedup_batched_vs_pyradiomics']:.1f}x pyradiomics, {batch['speedup_batched_vs_ours_looped']:.2f}x ours looped)")
    result["load_average_after"] = os.getloadavg()
    write_results("bench_radiomics", result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
