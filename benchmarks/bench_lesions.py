"""Lesion detection on synthetic cases with known lesions, and on the real series.

Synthetic: cases ``random_params(seed)`` in two sets. ``tuning``: seeds 300000.. (never used
for the segmentation network, whose training seeds are lower; the detector's method 1.1 was
tuned on them, so their figures are optimistic). ``heldout``: seeds 400000.., never looked
at while tuning: the figures to quote. The *ground-truth* vertebra labels of each synthetic
case are the labels input (so the figures measure detection alone, not segmentation),
whole-vertebra labels only (no parts map), as TotalSegmentator gives. A detection matches a
true lesion when at least 10 % of its voxels lie in it; lesions smaller than a 5 mm sphere
are not counted. Candidates the detector screened out (``report.not_proposed``) are counted
too: one whose centroid lies in a true lesion is a lesion lost to screening. Real: the
20-slice CT in ../shared/data with TotalSegmentator's labels, which has no known metastasis:
every lesion proposed there is a false positive.

``--labels network`` segments each synthetic case with the shipped network first and
detects on its labels and parts, as a user does (vertebrae left unnamed, with no anchor in
view, get the level they overlap most, as the user naming one would give them) (figures then measure both steps; the
network's seconds are not counted in ``seconds``); the results go to
``bench_lesions_network_labels.json``.

Seconds are wall and CPU time of ``detect_lesions`` alone (the time after segmentation);
the machine's load average is recorded before and after, as other work skews them.

Run: ``python benchmarks/bench_lesions.py [--sets tuning heldout] [--cases N] [--labels truth|network]``;
writes benchmarks/results/bench_lesions.json (or bench_lesions_network_labels.json).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, shared_data_dir, write_results  # noqa: E402

MIN_VOLUME_MM3 = float(np.pi / 6 * 5.0**3)
SEED_SETS = {"tuning": 300000, "heldout": 400000}
KINDS = ("lytic", "blastic", "mixed")


def _screened_in_truth(report, truth: np.ndarray, affine: np.ndarray) -> list[dict]:
    """Screened candidates whose centroid voxel lies in a true lesion."""
    from napari_spine_mets.io.geometry import index_from_world

    lost = []
    for c in report.not_proposed:
        idx = np.rint(index_from_world(affine, np.asarray(c.centroid_lps_mm))).astype(int)
        if all(0 <= i < n for i, n in zip(idx, truth.shape)) and truth[tuple(idx)] > 0:
            lost.append({"truth_id": int(truth[tuple(idx)]), "level": c.level, "reason": c.reason})
    return lost


def _named_as_the_user_would(vertebrae, truth: np.ndarray):
    """Vertebrae the network left unnamed (no anchor in view) get the level they overlap most,
    as the user naming one vertebra would give them; detection needs named levels."""
    from dataclasses import replace

    from napari_spine_mets.segmentation.labelling import FIRST_UNNAMED_ID

    array = vertebrae.array.copy()
    for label in np.unique(array[array >= FIRST_UNNAMED_ID]):
        under = truth[vertebrae.array == label]
        under = under[under > 0]
        array[vertebrae.array == label] = np.bincount(under).argmax() if under.size else 0
    return replace(vertebrae, array=array)


def evaluate_case(seed: int, labels: str = "truth") -> dict:
    from napari_spine_mets.detection.pipeline import detect_lesions
    from napari_spine_mets.segmentation.training_data import random_params
    from napari_spine_mets.synthetic import generate_spine_ct

    case = generate_spine_ct(random_params(seed))
    vertebrae, parts = case.vertebrae, None
    if labels == "network":
        from napari_spine_mets.segmentation.inference import segment_vertebrae

        segmented = segment_vertebrae(case.ct, device="cpu")
        vertebrae, parts = _named_as_the_user_would(segmented.vertebrae, case.vertebrae.array), segmented.parts
    t0, c0 = time.perf_counter(), time.process_time()
    report = detect_lesions(case.ct, vertebrae, parts)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
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
            ev = rec.evidence
            entry.update(found_kind=rec.lesion.kind.value, dice=round(2 * float((a & b).sum()) / float(a.sum() + b.sum()), 3),
                         found_volume_mm3=round(float(b.sum()) * voxel, 1),
                         lytic_fraction=None if ev is None else round(ev.lytic_fraction, 3),
                         sclerotic_fraction=None if ev is None else round(ev.blastic_fraction, 3))
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
            "levels": list(case.params.levels), "seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2),
            "step_seconds": {k: round(v, 3) for k, v in report.timings_s.items()}, "lesions": lesions,
            "false_positives": false_pos, "not_proposed": len(report.not_proposed),
            "screened_true_lesions": _screened_in_truth(report, truth, case.ct.affine),
            "fracture": fracture, "false_fracture_levels": false_fractures,
            "normal_levels_graded": len([lv for lv in graded if ft is None or lv != ft.level])}


def summarise(cases: list[dict]) -> dict:
    counted = [les for c in cases for les in c["lesions"] if les["counted"]]
    detected = [les for les in counted if les["detected"]]
    by = {}
    for key in ("kind", "site"):
        for value in sorted({les[key] for les in counted}):
            group = [les for les in counted if les[key] == value]
            by[f"{key}={value}"] = {"n": len(group), "sensitivity": round(sum(les["detected"] for les in group) / len(group), 3)}
    confusion = {t: {f: sum(1 for les in detected if les["kind"] == t and les["found_kind"] == f) for f in KINDS}
                 for t in KINDS}
    fractures = [c["fracture"] for c in cases if c["fracture"]]
    graded = [f for f in fractures if f["found_grade"] is not None]
    normal_graded = sum(c["normal_levels_graded"] for c in cases)
    false_fr = sum(len(c["false_fracture_levels"]) for c in cases)
    return {
        "n_cases": len(cases), "n_lesions_counted": len(counted), "n_detected": len(detected),
        "sensitivity": round(len(detected) / max(len(counted), 1), 3),
        "false_positives_per_scan": round(sum(len(c["false_positives"]) for c in cases) / max(len(cases), 1), 3),
        "n_false_positives": sum(len(c["false_positives"]) for c in cases),
        "type_accuracy": round(sum(les["found_kind"] == les["kind"] for les in detected) / max(len(detected), 1), 3),
        "type_confusion_true_by_found": confusion,
        "dice_matched_mean": round(float(np.mean([les["dice"] for les in detected])), 3) if detected else None,
        "dice_matched_median": round(float(np.median([les["dice"] for les in detected])), 3) if detected else None,
        "by_group": by,
        "not_proposed_total": sum(c["not_proposed"] for c in cases),
        "true_lesions_lost_to_screening": sum(len(c["screened_true_lesions"]) for c in cases),
        "missed": [{"seed": c["seed"], **{k: les[k] for k in ("level", "kind", "site", "volume_mm3")}}
                   for c in cases for les in c["lesions"] if les["counted"] and not les["detected"]],
        "mistyped": [{"seed": c["seed"], **{k: les[k] for k in ("level", "kind", "site", "found_kind", "lytic_fraction",
                                                                 "sclerotic_fraction")}}
                     for c in cases for les in c["lesions"] if les["counted"] and les["detected"]
                     and les["found_kind"] != les["kind"]],
        "fracture_cases": len(fractures),
        "fracture_grade_accuracy": round(sum(f["found_grade"] == f["true_grade"] for f in graded) / max(len(graded), 1), 3),
        "fracture_grade_within_one": round(sum(abs(f["found_grade"] - f["true_grade"]) <= 1 for f in graded) / max(len(graded), 1), 3),
        "fractures_not_graded": len(fractures) - len(graded),
        "normal_levels_graded": normal_graded, "normal_levels_given_grade_ge1": false_fr,
        "seconds_per_case_median": round(float(np.median([c["seconds"] for c in cases])), 2),
        "seconds_per_case_max": round(float(np.max([c["seconds"] for c in cases])), 2),
        "cpu_seconds_per_case_median": round(float(np.median([c["cpu_seconds"] for c in cases])), 2),
        "cpu_seconds_per_case_max": round(float(np.max([c["cpu_seconds"] for c in cases])), 2),
        "cases_over_5_s": sum(c["seconds"] > 5.0 for c in cases),
    }


def evaluate_real(labels_from: str = "truth") -> dict:
    from napari_spine_mets.detection.pipeline import detect_lesions
    from napari_spine_mets.io.dicom import read_dicom_series
    from napari_spine_mets.io.totalsegmentator import read_totalsegmentator

    folder = shared_data_dir() / "ct-chest-abdomen-dicom"
    ct = read_dicom_series(folder / "series")
    parts = None
    if labels_from == "network":
        from napari_spine_mets.segmentation.inference import segment_vertebrae

        segmented = segment_vertebrae(ct, device="cpu")
        reference = read_totalsegmentator(folder / "reference-totalsegmentator.nii.gz", target=ct).array
        labels, parts = _named_as_the_user_would(segmented.vertebrae, reference), segmented.parts
        source = "the shipped network (unnamed vertebrae given the reference level they overlap most)"
    else:
        labels = read_totalsegmentator(folder / "reference-totalsegmentator.nii.gz", target=ct)
        source = "TotalSegmentator reference"
    t0 = time.perf_counter()
    report = detect_lesions(ct, labels, parts)
    return {"series": "ct-chest-abdomen-dicom (T11, T12 partly in view; no known metastasis)",
            "labels": source, "seconds": round(time.perf_counter() - t0, 2),
            "false_positives": len(report.lesions),
            "found": [{"level": r.lesion.level, "kind": r.lesion.kind.value, "volume_mm3": round(r.lesion.volume_mm3 or 0, 1),
                       "mean_hu": round(r.lesion.hu.mean or 0, 1)} for r in report.lesions],
            "not_proposed": [c.to_json() for c in report.not_proposed],
            "normal_bone": {lv["level"]: lv["trabecular_median_hu"] for lv in report.normal_bone.to_json()["levels"]},
            "graded_vertebrae": [v.to_json() for v in report.vertebrae if v.genant_grade is not None]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=40, help="cases per seed set")
    parser.add_argument("--sets", nargs="+", choices=sorted(SEED_SETS), default=["tuning", "heldout"],
                        help="seed sets: tuning (300000.., tuned on) and heldout (400000.., never tuned on)")
    parser.add_argument("--labels", choices=("truth", "network"), default="truth",
                        help="vertebra labels detection runs on: the case's ground truth, or the shipped network's")
    args = parser.parse_args()
    load_before = os.getloadavg()
    labels_input = ("ground-truth vertebra labels of each synthetic case (whole-vertebra ids, no parts map)"
                    if args.labels == "truth" else "the shipped network's vertebra labels and parts of each case")
    data = {"benchmark": "bench_lesions", "machine": machine_info(("numpy", "scipy", "torch")),
            "labels_input": labels_input,
            "min_lesion_volume_mm3": round(MIN_VOLUME_MM3, 1), "seed_sets": {}, "synthetic": {}, "cases": {}}
    for name in args.sets:
        first = SEED_SETS[name]
        cases = []
        for seed in range(first, first + args.cases):
            cases.append(evaluate_case(seed, args.labels))
            print(f"{name} seed {seed}: {cases[-1]['seconds']} s, FP {len(cases[-1]['false_positives'])}", file=sys.stderr)
        data["seed_sets"][name] = [first, first + args.cases - 1]
        data["synthetic"][name] = summarise(cases)
        data["cases"][name] = cases
    data["real"] = evaluate_real(args.labels)
    data["load_average_before_after"] = [list(load_before), list(os.getloadavg())]
    path = write_results("bench_lesions" if args.labels == "truth" else "bench_lesions_network_labels", data)
    print(path)
    import json

    print(json.dumps({"synthetic": data["synthetic"], "load_average_before_after": data["load_average_before_after"],
                      "real": {k: v for k, v in data["real"].items() if k != "graded_vertebrae"}}, indent=2))


if __name__ == "__main__":
    main()
