"""Lesion detection on held-out synthetic cases with known lesions, and on the real series.

Synthetic: cases ``random_params(seed)`` for seeds 300000.. (never used for tuning the
segmentation network, whose training seeds are lower); the *ground-truth* vertebra labels
of each synthetic case are the labels input (so the figures measure detection alone, not
segmentation), whole-vertebra labels only (no parts map), as TotalSegmentator gives.
A detection matches a true lesion when at least 10 % of its voxels lie in it; lesions
smaller than a 5 mm sphere are not counted. Real: the 20-slice CT in ../shared/data with
TotalSegmentator's labels, which has no known metastasis: every lesion found there is a
false positive.

Run: ``python benchmarks/bench_lesions.py [--cases N]``; writes benchmarks/results/bench_lesions.json.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, shared_data_dir, write_results  # noqa: E402

MIN_VOLUME_MM3 = float(np.pi / 6 * 5.0**3)
FIRST_SEED = 300000


def evaluate_case(seed: int) -> dict:
    from napari_spine_mets.detection.pipeline import detect_lesions
    from napari_spine_mets.segmentation.training_data import random_params
    from napari_spine_mets.synthetic import generate_spine_ct

    case = generate_spine_ct(random_params(seed))
    t0 = time.perf_counter()
    report = detect_lesions(case.ct, case.vertebrae)
    seconds = time.perf_counter() - t0
    truth = case.lesions.array
    found = report.labels.array
    voxel = float(np.prod(case.ct.spacing))
    matched: dict[int, int] = {}
    false_pos = []
    for rec in report.lesions:
        det = found == rec.lesion.id
        ids = truth[det]
        ids = ids[ids > 0]
        if ids.size >= 0.1 * det.sum():
            matched.setdefault(int(np.bincount(ids).argmax()), rec.lesion.id)
        else:
            false_pos.append({"level": rec.lesion.level, "kind": rec.lesion.kind.value,
                              "volume_mm3": round(rec.lesion.volume_mm3 or 0, 1)})
    lesions = []
    for t in case.lesion_truth:
        entry = {"level": t.level, "kind": t.kind, "site": t.site, "volume_mm3": t.volume_mm3,
                 "counted": t.volume_mm3 >= MIN_VOLUME_MM3, "detected": t.id in matched}
        if t.id in matched:
            rec = next(r for r in report.lesions if r.lesion.id == matched[t.id])
            a, b = truth == t.id, found == rec.lesion.id
            entry.update(found_kind=rec.lesion.kind.value, dice=round(2 * float((a & b).sum()) / float(a.sum() + b.sum()), 3),
                         found_volume_mm3=round(float(b.sum()) * voxel, 1))
        lesions.append(entry)
    fracture = None
    ft = case.fracture_truth
    graded = {v.level: v for v in report.vertebrae if v.genant_grade is not None}
    if ft is not None:
        v = graded.get(ft.level)
        fracture = {"level": ft.level, "shape": ft.shape, "true_grade": ft.genant_grade,
                    "true_loss": round(ft.height_loss, 3), "found_grade": None if v is None else v.genant_grade,
                    "found_loss": None if v is None else round(v.max_loss or 0, 3)}
    false_fractures = [lv for lv, v in graded.items() if v.genant_grade and (ft is None or lv != ft.level)]
    return {"seed": seed, "shape": list(case.ct.shape), "spacing_mm": [round(s, 3) for s in case.ct.spacing],
            "levels": list(case.params.levels), "seconds": round(seconds, 2), "lesions": lesions,
            "false_positives": false_pos, "fracture": fracture, "false_fracture_levels": false_fractures,
            "normal_levels_graded": len([lv for lv in graded if ft is None or lv != ft.level])}


def summarise(cases: list[dict]) -> dict:
    counted = [les for c in cases for les in c["lesions"] if les["counted"]]
    detected = [les for les in counted if les["detected"]]
    by = {}
    for key in ("kind", "site"):
        for value in sorted({les[key] for les in counted}):
            group = [les for les in counted if les[key] == value]
            by[f"{key}={value}"] = {"n": len(group), "sensitivity": round(sum(les["detected"] for les in group) / len(group), 3)}
    fractures = [c["fracture"] for c in cases if c["fracture"]]
    graded = [f for f in fractures if f["found_grade"] is not None]
    normal_graded = sum(c["normal_levels_graded"] for c in cases)
    false_fr = sum(len(c["false_fracture_levels"]) for c in cases)
    return {
        "n_cases": len(cases), "n_lesions_counted": len(counted),
        "sensitivity": round(len(detected) / max(len(counted), 1), 3),
        "false_positives_per_scan": round(sum(len(c["false_positives"]) for c in cases) / max(len(cases), 1), 3),
        "type_accuracy": round(sum(les["found_kind"] == les["kind"] for les in detected) / max(len(detected), 1), 3),
        "dice_matched_mean": round(float(np.mean([les["dice"] for les in detected])), 3) if detected else None,
        "dice_matched_median": round(float(np.median([les["dice"] for les in detected])), 3) if detected else None,
        "by_group": by,
        "fracture_cases": len(fractures),
        "fracture_grade_accuracy": round(sum(f["found_grade"] == f["true_grade"] for f in graded) / max(len(graded), 1), 3),
        "fracture_grade_within_one": round(sum(abs(f["found_grade"] - f["true_grade"]) <= 1 for f in graded) / max(len(graded), 1), 3),
        "fractures_not_graded": len(fractures) - len(graded),
        "normal_levels_graded": normal_graded, "normal_levels_given_grade_ge1": false_fr,
        "seconds_per_case_median": round(float(np.median([c["seconds"] for c in cases])), 2),
        "seconds_per_case_max": round(float(np.max([c["seconds"] for c in cases])), 2),
    }


def evaluate_real() -> dict:
    from napari_spine_mets.detection.pipeline import detect_lesions
    from napari_spine_mets.io.dicom import read_dicom_series
    from napari_spine_mets.io.totalsegmentator import read_totalsegmentator

    folder = shared_data_dir() / "ct-chest-abdomen-dicom"
    ct = read_dicom_series(folder / "series")
    labels = read_totalsegmentator(folder / "reference-totalsegmentator.nii.gz", target=ct)
    t0 = time.perf_counter()
    report = detect_lesions(ct, labels)
    return {"series": "ct-chest-abdomen-dicom (T11, T12 partly in view; no known metastasis)",
            "labels": "TotalSegmentator reference", "seconds": round(time.perf_counter() - t0, 2),
            "false_positives": len(report.lesions),
            "found": [{"level": r.lesion.level, "kind": r.lesion.kind.value, "volume_mm3": round(r.lesion.volume_mm3 or 0, 1),
                       "mean_hu": round(r.lesion.hu.mean or 0, 1)} for r in report.lesions],
            "normal_bone": {lv["level"]: lv["trabecular_median_hu"] for lv in report.normal_bone.to_json()["levels"]},
            "graded_vertebrae": [v.to_json() for v in report.vertebrae if v.genant_grade is not None]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=40)
    args = parser.parse_args()
    cases = []
    for seed in range(FIRST_SEED, FIRST_SEED + args.cases):
        cases.append(evaluate_case(seed))
        print(f"seed {seed}: {cases[-1]['seconds']} s, FP {len(cases[-1]['false_positives'])}", file=sys.stderr)
    data = {"benchmark": "bench_lesions", "machine": machine_info(("numpy", "scipy")),
            "labels_input": "ground-truth vertebra labels of each synthetic case (whole-vertebra ids, no parts map)",
            "seeds": [FIRST_SEED, FIRST_SEED + args.cases - 1], "min_lesion_volume_mm3": round(MIN_VOLUME_MM3, 1),
            "synthetic": summarise(cases), "real": evaluate_real(), "cases": cases}
    path = write_results("bench_lesions", data)
    print(path)
    import json

    print(json.dumps({"synthetic": data["synthetic"], "real": {k: v for k, v in data["real"].items() if k != "graded_vertebrae"}}, indent=2))


if __name__ == "__main__":
    main()
