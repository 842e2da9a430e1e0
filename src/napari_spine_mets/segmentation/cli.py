"""``spine-mets segment PATH --out DIR``: vertebra and part labels as NIfTI plus a JSON summary."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..devices import PRECISION_CHOICES

__all__ = ["register"]


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = subparsers.add_parser(
        "segment",
        help="segment and name the vertebrae of a CT (DICOM folder or NIfTI)",
        description="Writes vertebrae.nii.gz (TotalSegmentator ids), parts.nii.gz (body, posterior "
        "elements, pedicles, canal, discs) in the input's geometry, and segmentation.json.",
    )
    parser.add_argument("path", type=Path, help="a DICOM folder/file or a NIfTI/NRRD file")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, mps")
    parser.add_argument("--precision", default="auto", choices=PRECISION_CHOICES,
                        help="the network's arithmetic: auto = float16 on CUDA, bfloat16 on a CPU with hardware "
                        "bfloat16, float32 otherwise; float32 everywhere reproduces results across machines")
    parser.add_argument("--series", help="series key when the folder holds several (see spine-mets info)")
    parser.add_argument("--anchor", help="name one vertebra when the sacrum is not in view, e.g. 3=T12 (3rd from the top)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from ..io.atomic import atomic_write_text
    from ..io.nifti import write_nifti
    from .inference import segment_vertebrae

    volume = _read(args.path, args.series)
    anchor = None
    if args.anchor:
        index, _, level = args.anchor.partition("=")
        anchor = (int(index), level)
    result = segment_vertebrae(volume, device=args.device, precision=args.precision, anchor=anchor)
    args.out.mkdir(parents=True, exist_ok=True)
    write_nifti(result.vertebrae, args.out / "vertebrae.nii.gz")
    write_nifti(result.parts, args.out / "parts.nii.gz")
    summary = {"input": str(args.path), **result.to_json(), "notice": "Decision support, not a diagnosis."}
    atomic_write_text(args.out / "segmentation.json", json.dumps(summary, indent=2) + "\n")
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        levels = ", ".join(str(s["level"] or s["name"]) for s in result.vertebra_stats) or "none"
        print(f"{len(result.vertebra_stats)} vertebrae ({levels}); anchor: {result.anchor}; device: {result.provenance['device']} "
              f"({result.provenance['precision']})")
        for note in result.notes:
            print(f"note: {note}")
        print(f"written to {args.out}")
    return 0


def _read(path: Path, series: str | None):  # -> Volume
    from ..io.nifti import is_nifti_path

    if is_nifti_path(path):
        from ..io.nifti import read_nifti

        return read_nifti(path)
    if path.name.lower().endswith((".nrrd", ".nhdr")):
        from ..io.nrrd import read_nrrd

        return read_nrrd(path)
    from ..io.dicom import read_dicom_series

    return read_dicom_series(path, series=series, require_ct_hu=True)
