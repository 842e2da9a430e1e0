"""``spine-mets pacs configure | echo | find | get | send``: the PACS from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["register_pacs"]


def register_pacs(subparsers: Any) -> None:
    pacs = subparsers.add_parser("pacs", help="query, retrieve from and send to a PACS (DICOM network)")
    pacs.add_argument("--config", type=Path, help="settings file (default: the user's saved settings)")
    sub = pacs.add_subparsers(dest="pacs_command", metavar="ACTION")
    sub.required = True

    p = sub.add_parser("configure", help="save the PACS settings (show them without options)")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--called-aet", help="the PACS's AE title")
    p.add_argument("--calling-aet", help="our AE title (registered at the PACS)")
    p.add_argument("--timeout", type=float, dest="timeout_s")
    p.add_argument("--retrieve", choices=("get", "move"))
    p.add_argument("--store-host", help="address our C-MOVE storage SCP listens on ('' = all)")
    p.add_argument("--store-port", type=int)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_configure)

    p = sub.add_parser("echo", help="C-ECHO: check that the PACS answers")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_echo)

    p = sub.add_parser("find", help="C-FIND studies by patient, date and modality")
    p.add_argument("--patient-id", default="")
    p.add_argument("--patient-name", default="", help="DICOM wildcards allowed, e.g. 'DOE^*'")
    p.add_argument("--date", default="", help="YYYYMMDD or YYYYMMDD-YYYYMMDD")
    p.add_argument("--modality", default="", help="e.g. CT")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_find)

    p = sub.add_parser("get", help="retrieve a study's series (CT by default) into a new folder")
    p.add_argument("study_uid")
    p.add_argument("folder", type=Path, help="new folder (written completely or not at all)")
    p.add_argument("--modality", default="CT", help="series modality to retrieve; 'all' for every series")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_get)

    p = sub.add_parser("send", help="C-STORE DICOM files (e.g. exported SEG/SR) to the PACS")
    p.add_argument("files", nargs="+", type=Path)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_send)


def _config(args: argparse.Namespace) -> Any:
    from .pacs_config import load_config

    return load_config(args.config)


def _print(args: argparse.Namespace, payload: Any, text: str) -> None:
    """The command's answer on stdout (this module is the CLI face of the PACS code)."""
    sys.stdout.write((json.dumps(payload, indent=2, default=str) if args.json else text) + "\n")


def _configure(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from .pacs_config import PacsConfig, config_path, load_config, save_config

    path = args.config or config_path()
    current = load_config(path) if path.is_file() else PacsConfig()
    keys = ("host", "port", "called_aet", "calling_aet", "timeout_s", "retrieve", "store_host", "store_port")
    changes = {k: getattr(args, k) for k in keys if getattr(args, k) is not None}
    config = replace(current, **changes)
    if changes or not path.is_file():
        save_config(config, path)
    _print(args, {"file": str(path), **config.to_json()},
           f"{path}:\n" + "\n".join(f"  {k} = {v!r}" for k, v in config.to_json().items()))
    return 0


def _echo(args: argparse.Namespace) -> int:
    from .pacs import echo

    config = _config(args)
    seconds = echo(config)
    _print(args, {"ok": True, "seconds": seconds}, f"{config.describe()}: C-ECHO OK in {seconds * 1000:.0f} ms")
    return 0


def _find(args: argparse.Namespace) -> int:
    from .pacs import find_studies

    studies = find_studies(_config(args), patient_id=args.patient_id, patient_name=args.patient_name,
                           study_date=args.date, modality=args.modality)
    lines = [f"{len(studies)} study(ies)"]
    for s in studies:
        lines.append(f"  {s.study_uid}  {s.study_date}  {'/'.join(s.modalities)}  {s.n_instances or '?'} inst.  "
                     f"{s.identity.patient_id}  {s.identity.name}  {s.study_description}")
    _print(args, [s.to_json() for s in studies], "\n".join(lines))
    return 0


def _get(args: argparse.Namespace) -> int:
    from .pacs_retrieve import retrieve_study

    modality = None if args.modality.lower() == "all" else args.modality
    result = retrieve_study(_config(args), args.study_uid, args.folder, modality=modality)
    _print(args, {"folder": str(result.folder), "n_instances": result.n_instances,
                  "series": [s.series_uid for s in result.series]},
           f"retrieved {result.n_instances} instance(s) in {len(result.series)} series into {result.folder}")
    return 0


def _send(args: argparse.Namespace) -> int:
    from .errors import PacsOperationError
    from .pacs import send_files

    result = send_files(_config(args), args.files)
    _print(args, {"sent": [str(p) for p in result.sent], "failed": [[str(p), why] for p, why in result.failed]},
           "\n".join([f"sent {len(result.sent)} file(s)"] + [f"  failed: {p}: {why}" for p, why in result.failed]))
    if result.failed:
        raise PacsOperationError(f"{len(result.failed)} of {len(args.files)} file(s) not stored by the PACS")
    return 0
