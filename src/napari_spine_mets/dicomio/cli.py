"""``spine-mets export-seg | import-seg | export-sr | assign-uids | pacs ...``.

Printing happens only here; the work is in the library modules. Every export takes the
de-identification options (``--deidentify``, ``--pseudonym``, ``--date-shift``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

__all__ = ["register"]

SubParsers = "argparse._SubParsersAction[argparse.ArgumentParser]"


def _deid_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("de-identification (docs/dicom.md)")
    group.add_argument("--deidentify", action="store_true", help="apply the de-identification profile")
    group.add_argument("--pseudonym", default="ANONYMOUS", help="PatientName/PatientID after de-identification")
    group.add_argument("--date-shift", type=int, default=None, metavar="DAYS",
                       help="shift dates by DAYS instead of removing them (implies --deidentify)")


def _profile(args: argparse.Namespace) -> Any:
    from .deidentify import DeidProfile

    if not args.deidentify and args.date_shift is None:
        return None
    return DeidProfile(pseudonym=args.pseudonym, date_shift_days=args.date_shift)


def _emit(args: argparse.Namespace, payload: dict[str, Any], text: str) -> None:
    print(json.dumps(payload, indent=2, default=str) if getattr(args, "json", False) else text)


def register(subparsers: SubParsers) -> None:  # type: ignore[valid-type]
    p = subparsers.add_parser("export-seg", help="export a case's label maps as DICOM-SEG files",
                              description="One DICOM-SEG per label map, referencing the source DICOM series.")
    p.add_argument("case", type=Path, help="case folder")
    p.add_argument("--source", type=Path, required=True, help="folder of the DICOM series the labels were made on")
    p.add_argument("--series", help="series key, when the folder holds several")
    p.add_argument("--out", type=Path, required=True, help="output folder (one <map>.seg.dcm per map)")
    p.add_argument("--maps", nargs="*", help="label maps to export (default: all)")
    p.add_argument("--json", action="store_true")
    _deid_options(p)
    p.set_defaults(handler=_export_seg)

    p = subparsers.add_parser("import-seg", help="read a DICOM-SEG as a label map on its source series")
    p.add_argument("seg", type=Path)
    p.add_argument("--source", type=Path, required=True, help="folder of the referenced DICOM series")
    p.add_argument("--series", help="series key, when the folder holds several")
    p.add_argument("--out", type=Path, help="write the labels as NIfTI here")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_import_seg)

    p = subparsers.add_parser("export-sr", help="export measurements as a DICOM SR (TID 1500), CSV and JSON")
    p.add_argument("case", type=Path, help="case folder")
    p.add_argument("--source", type=Path, help="folder of the source DICOM series (needed for the SR)")
    p.add_argument("--series", help="series key, when the folder holds several")
    p.add_argument("--out", type=Path, help="SR file to write")
    p.add_argument("--csv", type=Path, help="CSV file to write")
    p.add_argument("--json-out", type=Path, help="JSON file to write")
    p.add_argument("--json", action="store_true")
    _deid_options(p)
    p.set_defaults(handler=_export_sr)

    p = subparsers.add_parser("assign-uids", help="copy a series giving valid UIDs to instances whose UIDs are empty")
    p.add_argument("source", type=Path)
    p.add_argument("output", type=Path, help="new folder (must not exist)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_assign_uids)

    from .pacs_cli import register_pacs

    register_pacs(subparsers)


def _export_seg(args: argparse.Namespace) -> int:
    from ..case_store import load_case
    from .errors import DicomExportError
    from .seg_export import export_seg
    from .source_series import load_source_series

    case = load_case(args.case)
    names = args.maps or sorted(case.label_maps)
    missing = [n for n in names if n not in case.label_maps]
    if missing or not names:
        raise DicomExportError(args.case, f"no label map(s) {missing or ''} in the case (it has: {sorted(case.label_maps)})")
    src = load_source_series(args.source, args.series)
    levels = {lesion.id: lesion.level for lesion in case.lesions if lesion.level}
    written = []
    for name in names:
        labels = case.label_maps[name]
        levels_ = levels if name.startswith("lesion") else None
        written.append(str(export_seg(labels, src, args.out / f"{name}.seg.dcm", deidentify=_profile(args), lesion_levels=levels_)))
    _emit(args, {"written": written}, "\n".join(f"wrote {w}" for w in written))
    return 0


def _import_seg(args: argparse.Namespace) -> int:
    from .seg_import import import_seg

    labels = import_seg(args.seg, args.source, series=args.series)
    if args.out:
        from ..io.nifti import write_nifti

        write_nifti(labels, args.out)
    payload = {"name": labels.name, "shape": list(labels.array.shape), "labels": {str(k): v for k, v in sorted(labels.names.items())},
               "written": str(args.out) if args.out else None}
    _emit(args, payload, f"{labels.name}: {len(labels.names)} segment(s) on a {labels.array.shape} grid"
          + (f"; wrote {args.out}" if args.out else ""))
    return 0


def _export_sr(args: argparse.Namespace) -> int:
    from ..case_store import load_case
    from .errors import DicomExportError
    from .measurements import export_csv, export_json
    from .sr_export import export_sr

    if not (args.out or args.csv or args.json_out):
        raise DicomExportError(args.case, "nothing to write: give --out (SR), --csv and/or --json-out")
    if args.out and not args.source:
        raise DicomExportError(args.case, "the SR references the source images: give --source DICOM_FOLDER")
    case = load_case(args.case)
    profile = _profile(args)
    written = []
    if args.out:
        written.append(str(export_sr(case, args.source, args.out, series=args.series, deidentify=profile)))
    if args.csv:
        written.append(str(export_csv(case, args.csv, deidentify=profile)))
    if args.json_out:
        written.append(str(export_json(case, args.json_out, deidentify=profile)))
    _emit(args, {"written": written}, "\n".join(f"wrote {w}" for w in written))
    return 0


def _assign_uids(args: argparse.Namespace) -> int:
    from .uids import assign_uids

    mapping = assign_uids(args.source, args.output)
    _emit(args, mapping.to_json(), f"{args.output}: {mapping.n_changed} of {len(mapping.files)} file(s) given new UIDs; "
          f"mapping in {args.output.name}.uid-mapping.json")
    return 0
