"""``spine-mets lesions PATH --out DIR [--labels LABELS] [--parts PARTS] [--json]``.

Writes ``DIR/lesions.nii.gz`` (lesion instance ids on the CT's grid) and
``DIR/lesions.json`` (per-lesion and per-vertebra records, normal bone, parameters).
PATH is a DICOM folder or a NIfTI CT; LABELS is TotalSegmentator output (multilabel NIfTI
or a folder of masks) or any label map with TotalSegmentator vertebra ids.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

__all__ = ["register", "run_lesions", "format_report"]


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = subparsers.add_parser(
        "lesions",
        help="find lytic/blastic/mixed lesions in the vertebrae and grade compression fractures",
        description=("Lesions as departures from the patient's own normal bone inside the labelled vertebrae and "
                     "sacrum; per lesion level, kind, volume, HU, body and posterolateral involvement; per vertebra "
                     "height loss and Genant grade. Decision support, not a diagnosis."),
    )
    parser.add_argument("path", type=Path, help="CT: DICOM folder or NIfTI file")
    parser.add_argument("--out", type=Path, required=True, help="output folder (created)")
    parser.add_argument("--labels", type=Path, help="vertebra labels (TotalSegmentator NIfTI or mask folder)")
    parser.add_argument("--parts", type=Path, help="optional parts label map (NIfTI, project's VertebraPart codes)")
    parser.add_argument("--json", action="store_true", help="print the JSON report instead of a table")
    parser.set_defaults(handler=run_lesions)


def _load(args: argparse.Namespace) -> tuple[Any, Any, Any]:
    from ..io.nifti import is_nifti_path, read_label_nifti, read_nifti
    from ..io.resample import labels_onto_grid
    from ..io.totalsegmentator import read_totalsegmentator
    from .inputs import NoVertebraError

    if is_nifti_path(args.path):
        volume = read_nifti(args.path, name="CT")
    else:
        from ..io.dicom import read_dicom_series

        volume = read_dicom_series(args.path)
    if args.labels is None:
        raise NoVertebraError(f"{args.path}: no vertebra labels given: run the vertebra segmentation first and pass "
                              "its output with --labels (TotalSegmentator output works)")
    vertebrae = read_totalsegmentator(args.labels, target=volume)
    parts = None
    if args.parts is not None:
        parts = labels_onto_grid(read_label_nifti(args.parts, name="parts"), volume.shape, volume.affine)
    return volume, vertebrae, parts


def run_lesions(args: argparse.Namespace) -> int:
    from ..io.nifti import write_nifti
    from .pipeline import detect_lesions

    volume, vertebrae, parts = _load(args)
    report = detect_lesions(volume, vertebrae, parts)
    args.out.mkdir(parents=True, exist_ok=True)
    write_nifti(report.labels, args.out / "lesions.nii.gz")
    data = report.to_json()
    data["input"] = {"ct": str(args.path), "labels": str(args.labels), "parts": None if args.parts is None else str(args.parts)}
    (args.out / "lesions.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(data, indent=2) if args.json else format_report(data, args.out))
    return 0


def format_report(data: dict[str, Any], out: Path) -> str:
    """Plain-text summary: one line per lesion and per graded vertebra."""
    lines = [data["disclaimer"], f"source: {data['source']}", f"written: {out / 'lesions.nii.gz'}, {out / 'lesions.json'}",
             f"{len(data['lesions'])} lesion(s) proposed"]
    for les in data["lesions"]:
        pl = les["posterolateral_fraction"]
        lines.append(f"  #{les['id']} {les['level']} {les['kind']}: {les['volume_mm3']:.0f} mm3, mean "
                     f"{les['hu']['mean']:.0f} HU, body {les['body_fraction_involved']}, pedicle/facet L {pl['left']} "
                     f"R {pl['right']}, confidence {les['confidence']} ({les['status']})")
    for v in data["vertebrae"]:
        if v["genant_grade"]:
            lines.append(f"  {v['level']}: height loss {v['max_height_loss']:.0%}, Genant grade {v['genant_grade']}"
                         + (" (lesion in the body: possibly pathologic)" if v["possibly_pathologic"] else ""))
    lines += [f"note: {n}" for n in data["notes"]]
    return "\n".join(lines)
