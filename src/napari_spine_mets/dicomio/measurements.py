"""The case's measurements as plain rows: what the SR, the CSV and the JSON exports share.

One row per finding (per-level trabecular HU, scores, flags...) and one per lesion with a
volume. Rejected lesions are kept in the rows (status says so) but left out of the SR.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from os import PathLike
from pathlib import Path
from typing import Any

from ..case import Case
from ..case_parts import DISCLAIMER, LesionStatus
from .deidentify import DeidProfile, deidentify_record

__all__ = ["COLUMNS", "measurement_rows", "export_csv", "export_json"]

log = logging.getLogger(__name__)

COLUMNS = ("patient_id", "case_id", "kind", "level", "name", "value", "unit", "status", "basis", "source", "disclaimer")


def measurement_rows(case: Case, *, volume: str | None = None, deidentify: DeidProfile | None = None) -> list[dict[str, Any]]:
    """Rows (dicts with :data:`COLUMNS`) for every finding and lesion of ``case``."""
    patient_id = _patient_id(case, volume)
    rows: list[dict[str, Any]] = []
    for f in case.findings:
        rows.append({
            "patient_id": patient_id, "case_id": case.case_id, "kind": "finding", "level": f.level or "",
            "name": f.name, "value": f.value, "unit": f.unit, "status": "", "basis": f.basis,
            "source": f.source, "disclaimer": f.disclaimer or DISCLAIMER,
        })
    for lesion in case.lesions:
        rows.append({
            "patient_id": patient_id, "case_id": case.case_id, "kind": "lesion", "level": lesion.level or "",
            "name": f"lesion {lesion.id} volume", "value": None if lesion.volume_mm3 is None else round(lesion.volume_mm3, 1),
            "unit": "mm3", "status": lesion.status.value, "basis": f"{lesion.kind.value} lesion; label {lesion.id}",
            "source": lesion.source, "disclaimer": DISCLAIMER,
        })
    if deidentify is not None:
        rows = [deidentify_record(r, deidentify) for r in rows]
    return rows


def _patient_id(case: Case, volume: str | None) -> str:
    volumes = [case.volumes[volume]] if volume else list(case.volumes.values())
    return volumes[0].metadata.identity.patient_id if volumes else ""


def export_csv(case: Case, path: str | PathLike[str], *, volume: str | None = None,
               deidentify: DeidProfile | None = None) -> Path:
    """Write the rows as CSV (UTF-8, header line, values as JSON where not plain)."""
    from ..io.atomic import atomic_write_text

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in measurement_rows(case, volume=volume, deidentify=deidentify):
        writer.writerow({k: _cell(row.get(k)) for k in COLUMNS})
    return atomic_write_text(Path(path), buffer.getvalue())


def export_json(case: Case, path: str | PathLike[str], *, volume: str | None = None,
                deidentify: DeidProfile | None = None) -> Path:
    """Write the rows as JSON with the disclaimer and the de-identification applied."""
    from ..io.atomic import atomic_write_text

    payload = {
        "schema": "napari-spine-mets.measurements/1",
        "case_id": case.case_id,
        "disclaimer": DISCLAIMER,
        "deidentified": deidentify.describe() if deidentify is not None else None,
        "rows": measurement_rows(case, volume=volume, deidentify=deidentify),
    }
    return atomic_write_text(Path(path), json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def is_reportable_lesion(status: LesionStatus) -> bool:
    """Lesions that go into the SR: everything but those a user rejected."""
    return status != LesionStatus.REJECTED
