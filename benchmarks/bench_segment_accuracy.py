"""Vertebra segmentation accuracy: Dice per vertebra and level naming.

``python benchmarks/bench_segment_accuracy.py [--cases 4] [--upper-cases 4] [--cervical-cases 0]
[--lumbosacral-cases 0] [--device auto] [--precision auto] [--joint-space-mm 0]``

(a) held-out synthetic cases (seeds from 200000, never used in training or validation),
levels T8–S1 as in every earlier session, and ``--upper-cases`` more from seeds 210000 drawn
from T1–S1, whose T1–T7 vertebrae are reported on their own; ``--cervical-cases`` more from
seeds 220000 drawn from C1–T4, whose C1–C7 are reported on their own;
``--lumbosacral-cases`` more from seeds 540000, 3 to 8 levels of T11–S1 ending at S1, for naming
from the sacrum;
(b) the real CT in ../shared/data against TotalSegmentator's labels (T11 = 33, T12 = 32).
Synthetic Dice is given twice: by level name (a wrongly named or unnamed vertebra scores 0)
and by best overlap (segmentation quality alone), over the levels in view (below). A level the
view cuts down to a sliver (under 1.5 cm³ of body: a spinous process tip, a corner of a body)
is reported apart (``dice_best_match_cut_by_view``); until session 20 it was averaged in, and
that figure is kept as ``mean_vertebra_dice_best_match_with_slivers``.
Level accuracy: a case counts as right when the levels found, cranial to caudal, are exactly
the levels in view (drawn and with at least 1.5 cm³ of body in the image: ``levels_in_view``)
and each is named right. Where no anchor is in view the pipeline names nothing and asks the
user for one level, by design: such a case scores wrong in ``level_accuracy`` and is counted
apart as ``cases_asked_user``; ``level_accuracy_where_named`` is over the other cases and
``misnamed_while_confident`` counts the worst outcome: a vertebra named wrong (its name not
the level it overlaps most) in a naming called sure.
The real series shows no sacrum, so its vertebrae cannot be named by counting from it:
for (b) each reference vertebra is matched to the predicted one it overlaps most, one to
one (``one_to_one_matches``), the Dice of that match is reported, and naming is reported
separately.

What the reference allows: TotalSegmentator's labels for this series come from a model
working at about 3 mm (its label runs in-plane are multiples of three 0.98 mm voxels:
``reference_grid``), so its boundaries are 3 mm steps. Two figures put the real Dice in
that light: the Dice of the prediction and the reference both taken to a 3 mm grid
(``dice_at_3mm``), and, on the synthetic cases, the Dice a perfect segmentation scores
against a perfect 3 mm copy of itself (``ceiling_vs_3mm_copy``): no segmentation at the
scan's resolution can score above that against a 3 mm reference, however right it is.
``--joint-space-mm`` draws every synthetic case with facet joint spaces that wide
(``SpineParams.joint_space_mm``; the same seeds, the same cases apart from their joints).
Writes benchmarks/results/bench_segment_accuracy.json.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, shared_data_dir, write_results  # noqa: E402

from napari_spine_mets.anatomy import TOTALSEG_VERTEBRA_IDS, level_of_label  # noqa: E402
from napari_spine_mets.synthetic.params import THORACOLUMBAR_LEVELS  # noqa: E402


def dice(a: np.ndarray, b: np.ndarray) -> float:
    return float(2 * (a & b).sum() / max(1, int(a.sum() + b.sum())))


def best_match_dice(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Dice with the predicted vertebra that overlaps ``truth`` most, whatever its name."""
    overlap = predicted[truth]
    candidates = [int(v) for v in np.unique(overlap) if v]
    if not candidates:
        return 0.0
    best = max(candidates, key=lambda v: int((overlap == v).sum()))
    return dice(predicted == best, truth)


def one_to_one_matches(predicted: np.ndarray, reference: np.ndarray, reference_ids: tuple[int, ...]) -> dict[int, int]:
    """Reference vertebra -> the predicted label it overlaps most, each predicted label used
    once, the largest overlaps matched first (one predicted vertebra spanning two reference
    ones is scored against the one it covers most, and the other gets its next best)."""
    overlaps = []
    for ref_id in reference_ids:
        inside = predicted[reference == ref_id]
        labels, counts = np.unique(inside[inside > 0], return_counts=True)
        overlaps += [(int(c), ref_id, int(v)) for v, c in zip(labels, counts)]
    matched: dict[int, int] = {}
    for _, ref_id, label in sorted(overlaps, reverse=True):
        if ref_id not in matched and label not in matched.values():
            matched[ref_id] = label
    return matched


REFERENCE_MM = 3.0


def at_resolution(mask: np.ndarray, spacing: tuple[float, ...], mm: float = REFERENCE_MM) -> np.ndarray:
    """The mask on a ``mm`` grid: the fraction of each coarse voxel it covers, more than half."""
    from scipy import ndimage

    return ndimage.zoom(mask.astype(np.float32), [s / mm for s in spacing], order=1) > 0.5


def copy_at_resolution(mask: np.ndarray, spacing: tuple[float, ...], mm: float = REFERENCE_MM) -> np.ndarray:
    """What an exact model working at ``mm`` would label, brought back to the scan's grid (nearest)."""
    from skimage.transform import resize

    coarse = at_resolution(mask, spacing, mm)
    return resize(coarse, mask.shape, order=0, preserve_range=True, anti_aliasing=False).astype(bool)


def reference_grid(labels: np.ndarray) -> dict:
    """How many voxels the reference's in-plane label runs are multiples of (its model's grid)."""
    runs = []
    for row in (labels > 0).reshape(-1, labels.shape[-1]):
        edges = np.nonzero(np.diff(row.astype(np.int8)))[0]
        runs.extend(np.diff(edges).tolist())
    runs_arr = np.asarray(runs)
    return {"in_plane_runs": int(runs_arr.size),
            "fraction_multiple_of_3_voxels": round(float(np.mean(runs_arr % 3 == 0)), 3) if runs_arr.size else None}


UPPER_THORACIC = ("T1", "T2", "T3", "T4", "T5", "T6", "T7")
CERVICAL = ("C1", "C2", "C3", "C4", "C5", "C6", "C7")
#: Where the cervical held-out cases are drawn from: every case shows the neck or the
#: cervicothoracic junction (3 to 11 contiguous levels of C1-T4).
CERVICAL_RANGE = ("C1", "C2", "C3", "C4", "C5", "C6", "C7", "T1", "T2", "T3", "T4")


LUMBOSACRAL = ("T11", "T12", "L1", "L2", "L3", "L4", "L5", "S1")


def ending_at_s1(params: "SpineParams") -> "SpineParams":
    """The same case with its levels moved down to end at S1 (the sacrum in view: naming from it)."""
    import dataclasses

    levels = LUMBOSACRAL[len(LUMBOSACRAL) - len(params.levels):]
    fracture = params.fracture if params.fracture is None or params.fracture.level in levels else None
    return dataclasses.replace(params, levels=levels, lesions=tuple(le for le in params.lesions if le.level in levels),
                               fracture=fracture)


def synthetic(cases: int, device: str, weights_dir: Path | None, seed_base: int = 200_000,
              supported: tuple[str, ...] | None = None, precision: str = "auto", to_s1: bool = False,
              joint_space_mm: float = 0.0) -> dict:
    from napari_spine_mets.segmentation.inference import segment_vertebrae
    from napari_spine_mets.segmentation.training_data import random_params
    from napari_spine_mets.synthetic import generate_spine_ct

    per_case = []
    for i in range(cases):
        seed = seed_base + i
        params = random_params(seed, joint_space_mm=joint_space_mm) if supported is None else random_params(
            seed, supported, joint_space_mm)
        case = generate_spine_ct(ending_at_s1(params) if to_s1 else params)
        result = segment_vertebrae(case.ct, device=device, precision=precision, weights_dir=weights_dir)
        truth, predicted = case.vertebrae.array, result.vertebrae.array
        truth_levels = levels_in_view(case)
        scores, matched, ceiling, cut_by_view = {}, {}, {}, {}
        for label in np.unique(truth):
            level = level_of_label(int(label))
            if level is None:
                continue
            if level not in truth_levels:  # a sliver the view cut off: reported, not averaged
                cut_by_view[level] = best_match_dice(predicted, truth == label)
                continue
            scores[level] = dice(predicted == label, truth == label)
            matched[level] = best_match_dice(predicted, truth == label)
            ceiling[level] = dice(copy_at_resolution(truth == label, case.ct.spacing), truth == label)
        found = [s["level"] for s in result.vertebra_stats]
        asked = bool(found) and all(level is None for level in found)
        misnamed = misnamed_vertebrae(predicted, truth, result.vertebrae.names)
        per_case.append({"seed": seed, "levels": truth_levels, "levels_drawn": list(case.params.levels), "found": found,
                         "dice": scores, "dice_best_match": matched, "dice_best_match_cut_by_view": cut_by_view,
                         "levels_correct": found == truth_levels, "asked_user": asked, "misnamed": misnamed,
                         "anchor": result.anchor,
                         "naming_confident": result.naming_confident, "ceiling_vs_3mm_copy": ceiling})
    all_dice = [d for c in per_case for d in c["dice"].values()]
    all_matched = [d for c in per_case for d in c["dice_best_match"].values()]
    with_slivers = all_matched + [d for c in per_case for d in c["dice_best_match_cut_by_view"].values()]
    return {
        "cases": per_case,
        "mean_vertebra_dice": float(np.mean(all_dice)) if all_dice else None,
        "mean_vertebra_dice_best_match": float(np.mean(all_matched)) if all_matched else None,
        "mean_vertebra_dice_best_match_with_slivers": float(np.mean(with_slivers)) if with_slivers else None,
        "level_accuracy": float(np.mean([c["levels_correct"] for c in per_case])) if per_case else None,
        **naming_summary(per_case),
        "mean_ceiling_vs_3mm_copy": float(np.mean([d for c in per_case for d in c["ceiling_vs_3mm_copy"].values()]))
        if per_case else None,
        **_group(per_case, UPPER_THORACIC, "t1_t7"),
        **_group(per_case, CERVICAL, "c1_c7"),
    }


def levels_in_view(case: "SyntheticCase") -> list[str]:
    """The drawn levels whose body is in the image with at least ``MIN_BODY_MM3`` (the least
    body the pipeline counts as a vertebra; C1, which has no body, by its whole bone): a level
    drawn but cut off by the view down to its spinous process, or to a sliver, cannot be found
    or named by anyone. A body wholly inside the view counts from ``MIN_CUT_PIECE_MM3``: a
    vertebra crushed by a fracture is in view, and the pipeline counts it."""
    from napari_spine_mets.anatomy import VertebraPart
    from napari_spine_mets.segmentation.labelling import MIN_BODY_MM3, MIN_CUT_PIECE_MM3

    voxel_mm3 = float(np.prod(case.ct.spacing))
    labels = case.vertebrae.array
    is_body = case.parts.array == int(VertebraPart.BODY)
    body = np.bincount(labels[is_body], minlength=256)
    whole = np.bincount(labels.ravel(), minlength=256)
    at_edge = np.bincount(np.concatenate([labels[0][is_body[0]], labels[-1][is_body[-1]]]), minlength=256)

    def in_view(level: str) -> bool:
        label = TOTALSEG_VERTEBRA_IDS[level]
        if level == "C1":
            return whole[label] * voxel_mm3 >= MIN_BODY_MM3
        least = MIN_CUT_PIECE_MM3 if at_edge[label] == 0 else MIN_BODY_MM3
        return body[label] * voxel_mm3 >= least

    return [lv for lv in case.params.levels if in_view(lv)]


def misnamed_vertebrae(predicted: np.ndarray, truth: np.ndarray, names: dict[int, str]) -> list[list[str]]:
    """[given name, true level] of each named vertebra whose name is not the level it overlaps most.

    A missed or extra vertebra spoils the level list but not the names of the others; a
    misnamed one is the error that misleads a reader.
    """
    wrong = []
    for label, name in names.items():
        given = name.removeprefix("vertebrae_") if name.startswith("vertebrae_") else None
        if given is None:
            continue
        overlap = np.bincount(truth[predicted == label], minlength=256)
        overlap[0] = 0
        true_level = level_of_label(int(overlap.argmax())) if overlap.any() else None
        if true_level != given:
            wrong.append([given, true_level or "no vertebra"])
    return wrong


def naming_summary(per_case: list[dict]) -> dict:
    """Naming split three ways: named (right or wrong) and asked of the user (no anchor in view,
    which is the pipeline's answer by design, not an error); a named case is right only when
    every level in view is found and named right. A case with a misnamed vertebra (not one
    missed) called sure is the worst outcome."""
    named = [c for c in per_case if not c["asked_user"]]
    return {
        "cases_named": len(named),
        "cases_named_right": sum(c["levels_correct"] for c in named),
        "cases_with_a_misnamed_vertebra": sum(1 for c in named if c["misnamed"]),
        "cases_asked_user": len(per_case) - len(named),
        "level_accuracy_where_named": float(np.mean([c["levels_correct"] for c in named])) if named else None,
        "misnamed_while_confident": sum(1 for c in named if c["misnamed"] and c["naming_confident"]),
    }


def _naming_text(group: dict) -> str:
    return (f"named {group['cases_named']}, {group['cases_named_right']} of them right, "
            f"{group['cases_with_a_misnamed_vertebra']} with a misnamed vertebra "
            f"({group['misnamed_while_confident']} called sure); asked the user {group['cases_asked_user']}")


def _group(per_case: list[dict], levels: tuple[str, ...], prefix: str) -> dict:
    """Mean Dice of one group of vertebrae alone (T1–T7, C1–C7: the levels added to training later)."""
    by_name = [d for c in per_case for level, d in c["dice"].items() if level in levels]
    matched = [d for c in per_case for level, d in c["dice_best_match"].items() if level in levels]
    if not by_name:
        return {}
    per_level = {lv: float(np.mean([c["dice_best_match"][lv] for c in per_case if lv in c["dice_best_match"]]))
                 for lv in levels if any(lv in c["dice_best_match"] for c in per_case)}
    return {f"{prefix}_vertebrae": len(by_name), f"{prefix}_mean_dice": float(np.mean(by_name)),
            f"{prefix}_mean_dice_best_match": float(np.mean(matched)), f"{prefix}_best_match_by_level": per_level}


def real(device: str, weights_dir: Path | None, precision: str = "auto") -> dict:
    from napari_spine_mets.io.dicom import read_dicom_series
    from napari_spine_mets.io.totalsegmentator import read_totalsegmentator
    from napari_spine_mets.segmentation.inference import segment_vertebrae

    base = shared_data_dir() / "ct-chest-abdomen-dicom"
    ct = read_dicom_series(base / "series")
    reference = read_totalsegmentator(base / "reference-totalsegmentator.nii.gz", target=ct).array
    result = segment_vertebrae(ct, device=device, precision=precision, weights_dir=weights_dir)
    predicted = result.vertebrae.array
    matches = {}
    pairs = one_to_one_matches(predicted, reference, (32, 33))
    for ref_label, level in ((32, "T12"), (33, "T11")):
        ref = reference == ref_label
        best = pairs.get(ref_label)
        overlap = predicted[ref]
        most = np.bincount(overlap[overlap > 0]).argmax() if (overlap > 0).any() else None
        matches[level] = {
            "reference_voxels": int(ref.sum()),
            "best_match_label": best,
            "best_match_name": result.vertebrae.names.get(best) if best else None,
            "dice": dice(predicted == best, ref) if best else 0.0,
            "dice_at_3mm": dice(at_resolution(predicted == best, ct.spacing), at_resolution(ref, ct.spacing))
            if best else 0.0,
            # before 2026-11-23 each reference vertebra took the prediction it overlapped most, even one
            # already matched to another: T12's label could score as T11 (kept for comparison)
            "dice_most_overlapping_any": dice(predicted == most, ref) if most else 0.0,
        }
    aorta = reference == 52  # contrast-filled: as dense as marrow
    return {"matches": matches, "reference_grid": reference_grid(np.isin(reference, (32, 33))),
            "aorta_fraction_labelled_vertebra": round(float((predicted[aorta] > 0).mean()), 4) if aorta.any() else None,
            "anchor": result.anchor, "notes": result.notes,
            "found": [s["name"] for s in result.vertebra_stats], "timings_s": result.provenance["timings_s"],
            # what "auto" became on this machine: bfloat16 on a CPU with it in hardware, else float32
            "precision_used": result.provenance["precision"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=4)
    parser.add_argument("--weights-dir", type=Path, help="evaluate the weights in this folder (default: the package's)")
    parser.add_argument("--out-name", default="bench_segment_accuracy", help="results file name (benchmarks/results/NAME.json)")
    parser.add_argument("--upper-cases", type=int, default=4, help="held-out cases drawn from T1–S1 (seeds 210000+)")
    parser.add_argument("--cervical-cases", type=int, default=0,
                        help="held-out cases drawn from C1–T4 (seeds 220000+; the shipped network before 0.3 "
                             "never saw cervical levels)")
    parser.add_argument("--lumbosacral-cases", type=int, default=0,
                        help="held-out cases ending at S1 (3-8 levels of T11-S1, seeds 540000+): naming from the sacrum")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default="auto", help="the network's arithmetic: auto, float32, bfloat16, float16")
    parser.add_argument("--joint-space-mm", type=float, default=0.0,
                        help="draw the synthetic cases with facet joint spaces this wide (0: touching, as every "
                             "session before 35 measured)")
    args = parser.parse_args()
    started = time.time()
    from napari_spine_mets.segmentation.weights import default_weights_dir
    import json

    card = json.loads(((args.weights_dir or default_weights_dir()) / "vertebrae-ct.json").read_text())
    joints = args.joint_space_mm
    data = {
        "model": {"name": card["name"], "version": card["version"], "sha256": card["weights_sha256"]},
        "precision": args.precision,
        "joint_space_mm": joints,
        "synthetic": synthetic(args.cases, args.device, args.weights_dir, precision=args.precision,
                               joint_space_mm=joints),
        "synthetic_t1_s1": synthetic(args.upper_cases, args.device, args.weights_dir, seed_base=210_000,
                                     supported=THORACOLUMBAR_LEVELS, precision=args.precision, joint_space_mm=joints),
        "synthetic_cervical": synthetic(args.cervical_cases, args.device, args.weights_dir, seed_base=220_000,
                                        supported=CERVICAL_RANGE, precision=args.precision, joint_space_mm=joints)
        if args.cervical_cases else None,
        "synthetic_lumbosacral": synthetic(args.lumbosacral_cases, args.device, args.weights_dir, seed_base=540_000,
                                           supported=LUMBOSACRAL, precision=args.precision, to_s1=True,
                                           joint_space_mm=joints)
        if args.lumbosacral_cases else None,
        "real_ct_vs_totalsegmentator": real(args.device, args.weights_dir, args.precision),
        "machine": machine_info(),
        "wall_s": round(time.time() - started, 1),
    }
    path = write_results(args.out_name, data)
    s, r = data["synthetic"], data["real_ct_vs_totalsegmentator"]
    if s["cases"]:
        print(f"synthetic: mean vertebra Dice {s['mean_vertebra_dice']:.3f} by level name, "
              f"{s['mean_vertebra_dice_best_match']:.3f} by best overlap; level accuracy {s['level_accuracy']:.2f} over {args.cases} cases ({_naming_text(s)}); "
              f"a perfect segmentation against its own 3 mm copy: {s['mean_ceiling_vs_3mm_copy']:.3f}")
    u = data["synthetic_t1_s1"]
    if u["cases"]:
        print(f"synthetic T1–S1 ({args.upper_cases} cases): best overlap {u['mean_vertebra_dice_best_match']:.3f}, "
              f"by name {u['mean_vertebra_dice']:.3f}, level accuracy {u['level_accuracy']:.2f} ({_naming_text(u)}); "
              f"T1–T7 alone ({u.get('t1_t7_vertebrae', 0)} vertebrae): {u.get('t1_t7_mean_dice_best_match', float('nan')):.3f} "
              f"best overlap, {u.get('t1_t7_mean_dice', float('nan')):.3f} by name; with the slivers the view cut off "
              f"averaged in: {u['mean_vertebra_dice_best_match_with_slivers']:.3f} best overlap")
    c = data["synthetic_cervical"]
    if c:
        anchors = sum("dens" in case["anchor"] for case in c["cases"])
        print(f"synthetic C1–T4 ({args.cervical_cases} cases): best overlap {c['mean_vertebra_dice_best_match']:.3f}, "
              f"by name {c['mean_vertebra_dice']:.3f}, level accuracy {c['level_accuracy']:.2f} ({_naming_text(c)}), named from the dens "
              f"in {anchors}; C1–C7 alone ({c.get('c1_c7_vertebrae', 0)}): "
              f"{c.get('c1_c7_mean_dice_best_match', float('nan')):.3f} best overlap, "
              f"{c.get('c1_c7_mean_dice', float('nan')):.3f} by name")
    ls = data["synthetic_lumbosacral"]
    if ls:
        wrong = [(case["seed"], case["levels"], case["found"]) for case in ls["cases"] if not case["levels_correct"]]
        print(f"synthetic lumbosacral, ending at S1 ({args.lumbosacral_cases} cases): level accuracy "
              f"{ls['level_accuracy']:.2f} ({_naming_text(ls)}), best overlap {ls['mean_vertebra_dice_best_match']:.3f}; named wrong: {wrong}")
    for level, m in r["matches"].items():
        print(f"real {level}: Dice {m['dice']:.3f}, at 3 mm {m['dice_at_3mm']:.3f} (matched {m['best_match_name']}, one to one; "
              f"the most overlapping label, matched or not: {m['dice_most_overlapping_any']:.3f})")
    print(f"network arithmetic: {r['precision_used']} (asked: {args.precision})")
    print(f"real: reference runs multiple of 3 voxels {r['reference_grid']['fraction_multiple_of_3_voxels']}, "
          f"aorta labelled vertebra {r['aorta_fraction_labelled_vertebra']}")
    print(f"-> {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
