"""``spine-mets hu PATH [--labels LABELS] [--json]``: trabecular HU and flags per level.

PATH is a DICOM folder, a NIfTI CT or a case folder (``case.json``). LABELS is
TotalSegmentator output (multilabel NIfTI or a folder of masks) or any label map with
TotalSegmentator vertebra ids; it is placed on the CT's grid. A case folder supplies its
own "vertebrae"/"totalsegmentator", "parts" and "lesions" label maps when present.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

__all__ = ["register", "run_hu", "format_report"]


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = subparsers.add_parser(
        "hu",
        help="trabecular bone HU of each vertebral body (automatic ROIs) with flags and caveats",
        description=(
            "Automatic elliptical trabecular ROIs on three axial slices of each vertebral body; per level the "
            "per-slice and combined mean, median, SD and voxel count, the screw-failure (127 HU) and L1 "
            "osteoporosis-band flags with their sources, and the caveats (kVp, contrast, lesions). "
            "Decision support, not a diagnosis."
        ),
    )
    parser.add_argument("path", type=Path, help="CT: DICOM folder, NIfTI file or case folder")
    parser.add_argument("--labels", type=Path, help="vertebra labels: TotalSegmentator NIfTI or mask folder, or a label map")
    parser.add_argument("--parts", type=Path, help="optional parts label map (NIfTI, project's VertebraPart codes)")
    parser.add_argument("--lesions", type=Path, help="optional lesion label map (NIfTI): lesion voxels are excluded")
    parser.add_argument("--fractured", nargs="*", default=[], metavar="LEVEL", help="fractured levels (measured, not flagged)")
    parser.add_argument("--levels", nargs="*", metavar="LEVEL", help="only these levels (default: every level labelled)")
    parser.add_argument("--uiv", metavar="LEVEL", help="upper instrumented vertebra (screw-failure flag there)")
    parser.add_argument("--liv", metavar="LEVEL", help="lowest instrumented vertebra (screw-failure flag there)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(handler=run_hu)


def _load_inputs(args: argparse.Namespace) -> tuple[Any, Any, Any, Any]:
    from ..errors import InputError
    from ..io.nifti import is_nifti_path, read_label_nifti, read_nifti
    from ..io.resample import labels_onto_grid
    from ..io.totalsegmentator import read_totalsegmentator

    path: Path = args.path
    vertebrae = parts = lesions = None
    if path.is_dir() and (path / "case.json").is_file():
        from ..case_store import load_case

        case = load_case(path)
        volume = case.volumes.get("CT") or next((v for v in case.volumes.values()
                                                 if (v.metadata.modality or "").upper() == "CT"), None)
        if volume is None:
            volume = next(iter(case.volumes.values()), None)
        if volume is None:
            raise InputError(path, "the case holds no image")
        for key in ("vertebrae", "totalsegmentator", "levels"):
            if key in case.label_maps:
                vertebrae = case.label_maps[key]
                break
        parts = case.label_maps.get("parts")
        lesions = case.label_maps.get("lesions")
    elif is_nifti_path(path):
        volume = read_nifti(path, name="CT")
    else:
        from ..io.dicom import read_dicom_series

        volume = read_dicom_series(path)
    if args.labels is not None:
        vertebrae = read_totalsegmentator(args.labels, target=volume)
    if vertebrae is None:
        raise InputError(path, "no vertebra labels: give --labels (TotalSegmentator output or a label map on this CT)")
    if args.parts is not None:
        parts = labels_onto_grid(read_label_nifti(args.parts, name="parts"), volume.shape, volume.affine)
    if args.lesions is not None:
        lesions = labels_onto_grid(read_label_nifti(args.lesions, name="lesions"), volume.shape, volume.affine)
    return volume, vertebrae, parts, lesions


def run_hu(args: argparse.Namespace) -> int:
    from .hu_flags import evaluate_flags
    from .hu_roi import check_hu_volume, measure_trabecular_hu

    volume, vertebrae, parts, lesions = _load_inputs(args)
    check_hu_volume(volume)
    report = measure_trabecular_hu(volume, vertebrae, parts=parts, lesions=lesions, fractured_levels=args.fractured,
                                   levels=args.levels)
    evaluate_flags(report, uiv=args.uiv, liv=args.liv)
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(format_report(report))
    return 0


def format_report(report: Any) -> str:
    """The report as a plain-text table with flags and caveats under each level."""
    def f(v: float | None) -> str:
        return "—" if v is None else f"{v:.0f}"

    lines = [report.notice, f"source: {report.source}", f"method: {report.method}"]
    lines += [f"caveat (all levels): {c}" for c in report.volume_caveats]
    header = ("level", "slices", "mean", "median", "SD", "voxels", "per-slice means", "origin")
    rows = [header]
    for lv in report.levels.values():
        c = lv.combined
        rows.append((lv.level, ",".join(str(s.slice_index) for s in lv.slices) or "—", f(c.mean), f(c.median), f(c.sd),
                     str(c.n_voxels), "/".join(f(s.stats.mean) for s in lv.slices) or "—", lv.origin))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines.append("")
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    volume_caveats = set(report.volume_caveats)
    for lv in report.levels.values():
        extra = [c for c in lv.caveats if c not in volume_caveats]
        if lv.problem or lv.flags or extra:
            lines.append(f"{lv.level}:")
        if lv.problem:
            lines.append(f"  ! {lv.problem}")
        for flag in lv.flags:
            lines.append(f"  {'FLAG' if flag.raised else 'ok  '} {flag.message}")
            lines.append(f"       source: {flag.source}")
        lines += [f"  caveat: {c}" for c in extra]
    return "\n".join(lines)
