"""One case's inputs for ``apply``: a case folder, or a one-row CSV / JSON of values.

* Case folder (:func:`napari_spine_mets.case_store.load_case`): the clinical entries
  (``age_years``, ``alp_u_per_l``... and ``clinical.extras``), plus the measurements of one
  ROI (the radiomics features; ``roi`` picks it when the case has several). The feature
  settings are ``parameters["feature_settings"]`` (or ``parameters["feature_settings_sha256"]``)
  of the case's most recent provenance step named ``"radiomics"``.
* JSON: an object of values, or ``{"values": {...}, "feature_settings": {...}}``; the keys
  ``feature_settings`` / ``feature_settings_sha256`` may also sit beside the values.
* CSV: exactly one row; a ``feature_settings_sha256`` column and/or a sidecar
  ``NAME.settings.json`` give the settings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

from .errors import ModelInputError
from .table import SETTINGS_HASH_COLUMN, read_table, table_feature_settings

__all__ = ["CaseInputs", "read_case_inputs"]


@dataclass
class CaseInputs:
    values: dict[str, Any]
    settings: dict[str, Any] | None
    settings_sha256: str | None
    source: str


def _from_case(folder: Path, roi: int | None) -> CaseInputs:
    from ..case_store import load_case

    from .from_case import clinical_values

    case = load_case(folder)
    values = clinical_values(case)
    measured = [r for r in case.rois if r.measurements]
    if roi is not None:
        chosen = [r for r in case.rois if r.id == roi]
        if not chosen:
            raise ModelInputError(folder, f"the case has no ROI {roi} (ROIs: {[r.id for r in case.rois]})")
        values.update(chosen[0].measurements)
    elif len(measured) == 1:
        values.update(measured[0].measurements)
    elif len(measured) > 1:
        raise ModelInputError(folder, f"the case has {len(measured)} ROIs with measurements "
                              f"({[r.id for r in measured]}): choose one with --roi")
    settings = sha = None
    steps = [s for s in case.provenance.steps if s.name == "radiomics"]
    if steps:
        params = steps[-1].parameters
        settings = params.get("feature_settings")
        sha = params.get("feature_settings_sha256")
    return CaseInputs(values, settings if isinstance(settings, dict) else None, sha, f"case {folder}")


def read_case_inputs(path: str | PathLike[str], roi: int | None = None) -> CaseInputs:
    """Values and feature settings of one case from a case folder, a JSON or a one-row CSV."""
    path = Path(path)
    if path.is_dir():
        return _from_case(path, roi)
    if not path.exists():
        raise ModelInputError(path, "no such case folder or file")
    if path.suffix.lower() == ".json":
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelInputError(path, f"cannot read the case values: {exc}") from None
        if isinstance(doc, list) and len(doc) == 1:
            doc = doc[0]
        if not isinstance(doc, dict):
            raise ModelInputError(path, "case values must be one JSON object (or a list holding exactly one)")
        values = dict(doc.get("values", doc)) if isinstance(doc.get("values", doc), dict) else None
        if values is None:
            raise ModelInputError(path, "'values' must be an object")
        settings = doc.get("feature_settings", values.pop("feature_settings", None))
        sha = doc.get("feature_settings_sha256", values.pop("feature_settings_sha256", None))
        values.pop("feature_settings", None)
        values.pop("feature_settings_sha256", None)
        if settings is not None and not isinstance(settings, dict):
            raise ModelInputError(path, "'feature_settings' must be an object")
        return CaseInputs(values, settings, sha, str(path))
    frame = read_table(path)
    if frame.shape[0] != 1:
        raise ModelInputError(path, f"a case table must have exactly one row, not {frame.shape[0]}")
    settings = table_feature_settings(path, frame)
    row = frame.iloc[0].to_dict()
    sha = row.pop(SETTINGS_HASH_COLUMN, None)
    return CaseInputs(row, settings, str(sha) if sha is not None else None, str(path))
