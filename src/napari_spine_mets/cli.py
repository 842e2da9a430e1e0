"""The ``spine-mets`` command line.

Each subcommand is added by a ``register(subparsers)`` function that adds its parser and
sets ``handler`` to a function ``(args) -> int``; a package adds its subcommands by
listing its ``cli`` module in :data:`COMMAND_MODULES`. Project errors become one line on
stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .errors import SpineMetsError

__all__ = ["main", "build_parser", "COMMAND_MODULES"]

EXIT_OK = 0
EXIT_ERROR = 2

Registrar = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]


# --------------------------------------------------------------------------- info
def _register_info(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = subparsers.add_parser(
        "info",
        help="list the image series (DICOM, NIfTI) under a file or folder",
        description="List every DICOM series and NIfTI image under PATH, and every file skipped with the reason.",
    )
    parser.add_argument("path", type=Path, help="a file or folder (searched recursively)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(handler=_run_info)


def _run_info(args: argparse.Namespace) -> int:
    from .io.dicom_scan import scan_dicom
    from .io.nifti import is_nifti_path

    scan = scan_dicom(args.path)
    entries = [s.to_json() for s in scan.series]
    skipped = []
    for item in scan.skipped:
        if is_nifti_path(item.path):
            entries.append(_nifti_entry(item.path, scan.root))
        else:
            skipped.append(item.to_json())
    report = {"root": str(scan.root), "series": entries, "skipped": skipped}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(_format_info(report))
    return EXIT_OK


def _nifti_entry(path: Path, root: Path) -> dict[str, Any]:
    """A NIfTI file described from its header only (no voxel data read)."""
    try:
        key = str(path.relative_to(root)) if root.is_dir() else path.name
    except ValueError:
        key = str(path)
    entry: dict[str, Any] = {
        "key": key,
        "modality": "unknown (NIfTI)",
        "series_description": path.name,
        "n_files": 1,
        "files": [str(path)],
        "problems": [],
    }
    try:
        import nibabel as nib

        image = nib.load(str(path))
        shape = tuple(int(v) for v in image.shape)
        zooms = tuple(float(v) for v in image.header.get_zooms()[:3])
        codes = "".join(nib.orientations.aff2axcodes(image.affine))
    except Exception as exc:  # noqa: BLE001 - any failure is reported in the listing
        entry["problems"].append(f"cannot read NIfTI header: {type(exc).__name__}: {exc}")
        return entry
    if len(shape) < 3:
        entry["problems"].append("a single 2D image, not a 3D volume")
    spatial = shape[:3]
    # Report in the project's (z, y, x) order: NIfTI stores (i, j, k).
    entry.update(
        n_slices=spatial[2] if len(spatial) == 3 else 1,
        shape=list(spatial[::-1]),
        spacing=list(zooms[::-1]),
        orientation={"S": "axial", "I": "axial", "A": "coronal", "P": "coronal"}.get(codes[2], "sagittal")
        if len(codes) == 3 else "",
        axis_codes=codes,
        kvp=None,
        contrast_agent="",
    )
    if len(shape) > 3:
        entry["problems"].append(f"{len(shape)}D image {shape}: only the first volume would be used")
    return entry


def _format_info(report: dict[str, Any]) -> str:
    lines = [f"{report['root']}: {len(report['series'])} series, {len(report['skipped'])} file(s) skipped"]
    header = ("key", "modality", "description", "slices", "shape (z,y,x)", "spacing mm", "orientation", "kVp", "contrast")
    rows = [header]
    for s in report["series"]:
        spacing = s.get("spacing") or []
        rows.append((
            str(s.get("key", "")),
            str(s.get("modality", "")),
            str(s.get("series_description", ""))[:32],
            str(s.get("n_slices", "")),
            "x".join(str(v) for v in s.get("shape") or []),
            "x".join("?" if v is None else f"{v:.4g}" for v in spacing),
            str(s.get("orientation", "")),
            "" if s.get("kvp") is None else f"{s['kvp']:g}",
            str(s.get("contrast_agent", "")),
        ))
    if len(rows) > 1:
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        for row in rows:
            lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    for s in report["series"]:
        for problem in s.get("problems", []):
            lines.append(f"  ! {str(s.get('key', ''))[-24:]}: {problem}")
    if report["skipped"]:
        lines.append("skipped:")
        lines.extend(f"  {item['path']}: {item['reason']}" for item in report["skipped"])
    return "\n".join(lines)


# --------------------------------------------------------------------------- main
#: Modules whose ``register(subparsers)`` adds their subcommands, in ``--help`` order.
#: Add a subcommand by adding its module here (imported only when the parser is built).
COMMAND_MODULES: tuple[str, ...] = (
    "napari_spine_mets.segmentation.cli",
    "napari_spine_mets.measure.cli",
    "napari_spine_mets.radiomics.cli",
    "napari_spine_mets.scores.cli",
    "napari_spine_mets.models.cli",
    "napari_spine_mets.cohort.cli",
    "napari_spine_mets.dicomio.cli",
    "napari_spine_mets.detection.cli",
    "napari_spine_mets.report.cli",
)


def _registrars() -> list[Registrar]:
    import importlib

    return [_register_info] + [importlib.import_module(name).register for name in COMMAND_MODULES]


def build_parser() -> argparse.ArgumentParser:
    """The full parser: global options plus every registered subcommand."""
    parser = argparse.ArgumentParser(prog="spine-mets", description="Spine metastasis imaging tools.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress (INFO) to stderr")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for register in _registrars():
        register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``spine-mets``; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(list(argv) if argv is not None else None)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return int(args.handler(args))
    except SpineMetsError as exc:
        print(f"spine-mets {args.command}: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("spine-mets: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
