"""``spine-mets report CASE_DIR --out DIR``: the report of a saved case as PDF, HTML and CSV.

Only argparse is imported at module level; printing happens here, never in the library.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

__all__ = ["register"]


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``report`` subcommand."""
    p = subparsers.add_parser(
        "report", help="PDF/HTML report and CSV tables of a case folder",
        description="Write the report of a saved case: header, decision-support notice, sagittal overview, lesion "
                    "and HU ROI images, per-level HU, lesions, scores and provenance. De-identified unless "
                    "--identified. Works on partial cases (it says what is missing). Decision support, not a "
                    "diagnosis.")
    p.add_argument("case", type=Path, help="case folder (case.json)")
    p.add_argument("--out", type=Path, required=True, help="folder to write report.pdf, report.html and the CSVs into")
    p.add_argument("--format", default="pdf,html,csv", help="comma-separated: pdf, html, csv (default all three)")
    p.add_argument("--identified", action="store_true",
                   help="show the patient's name, ID and birth date when the case has them (default: de-identified)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from ..case_store import load_case
    from .writer import parse_formats, write_report

    formats = parse_formats(args.format)  # checked before the case is read
    case = load_case(args.case)
    written = write_report(case, args.out, formats=formats, identified=args.identified)
    if args.json:
        print(json.dumps({"case_id": case.case_id, "identified": bool(args.identified),
                          "written": {k: str(v) for k, v in written.items()}}, indent=2))
        return 0
    print(f"report of case {case.case_id} ({'identified' if args.identified else 'de-identified'}):")
    for kind, path in written.items():
        print(f"  {kind:<20} {path}")
    return 0
