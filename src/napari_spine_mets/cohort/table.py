"""The cohort's tidy output: one row per ROI (vertebral body, lesion) and an errors table.

Rows come from the studies (imaging values only); the manifest's clinical columns are
joined here, at the end of every run, so correcting a clinical value never forces the
images to be processed again. Rows are sorted by study ID, ROI kind, level (cranial to
caudal) and lesion number, and columns are in a fixed order, so the table does not
depend on the number of workers or the order studies finished in.

Written as ``cohort.parquet`` and ``cohort.csv`` with the sidecar ``cohort.settings.json``
(the radiomics settings, whose hash every row carries in ``feature_settings_sha256``):
exactly what ``spine-mets nomogram fit cohort.csv`` reads (:mod:`napari_spine_mets.models.table`).
"""

from __future__ import annotations

import json
import logging
from os import PathLike
from pathlib import Path
from typing import Any

from ..io.atomic import atomic_write_bytes, atomic_write_text

__all__ = ["ID_COLUMNS", "DESCRIPTOR_COLUMNS", "ERROR_COLUMNS", "is_feature_column", "build_table", "write_tables",
           "TABLE_NAME", "ERRORS_NAME"]

log = logging.getLogger(__name__)

TABLE_NAME = "cohort"
ERRORS_NAME = "errors"
ID_COLUMNS = ["study_id", "roi_id", "roi_kind", "level", "lesion_id"]
#: Columns that are not radiomics features, in output order (the feature columns follow them).
DESCRIPTOR_COLUMNS = ID_COLUMNS + [
    "label_source", "lesion_source", "roi_voxels", "roi_problem",
    "hu_mean", "hu_median", "hu_sd", "hu_voxels", "hu_usable", "hu_problem", "hu_band",
    "bilsky_ct_ratio", "bilsky_ct_band", "bilsky_ct_problem", "pni",
]
PROVENANCE_COLUMNS = ["device", "pipeline_settings_sha256", "software_version", "feature_settings_sha256"]
ERROR_COLUMNS = ["study_id", "error_type", "error_message", "failed_step", "path", "case_dir"]
_KIND_ORDER = {"vertebral_body": 0, "lesion": 1}


def is_feature_column(name: str) -> bool:
    """True for radiomics feature names (pyradiomics style: original_, log-sigma-..., wavelet-...)."""
    return name.startswith(("original_", "log-sigma-", "wavelet-"))


def _sort_key(row: dict[str, Any]) -> tuple[Any, ...]:
    from ..anatomy import LEVELS

    level = row.get("level") or ""
    lesion = row.get("lesion_id")
    return (str(row["study_id"]), _KIND_ORDER.get(row.get("roi_kind", ""), 9),
            LEVELS.index(level) if level in LEVELS else len(LEVELS), level,
            -1 if lesion is None or lesion != lesion else int(lesion), str(row.get("roi_id", "")))


def build_table(rows: list[dict[str, Any]], clinical: dict[str, dict[str, Any]], clinical_columns: list[str],
                provenance: dict[str, str]) -> Any:
    """The tidy DataFrame: sorted rows, fixed column order, clinical columns joined by study ID."""
    import pandas as pd

    rows = sorted(rows, key=_sort_key)
    features: dict[str, None] = {}
    for row in rows:
        features.update((k, None) for k in row if is_feature_column(k))
    records = []
    for row in rows:
        rec = {c: row.get(c) for c in DESCRIPTOR_COLUMNS}
        rec.update({f: row.get(f) for f in features})
        rec.update({c: clinical.get(row["study_id"], {}).get(c) for c in clinical_columns})
        rec.update({"device": row.get("device", "")}, **{k: v for k, v in provenance.items()})
        records.append(rec)
    columns = DESCRIPTOR_COLUMNS + list(features) + [c for c in clinical_columns if c not in DESCRIPTOR_COLUMNS] \
        + PROVENANCE_COLUMNS
    frame = pd.DataFrame.from_records(records, columns=columns)
    # Keep only score/problem columns some row uses, so a cohort without lesions has no empty Bilsky columns.
    optional = ["hu_band", "bilsky_ct_ratio", "bilsky_ct_band", "bilsky_ct_problem", "pni", "lesion_id"]
    empty = [c for c in optional if frame[c].isna().all()]
    return frame.drop(columns=empty)


def build_errors(failures: list[dict[str, Any]]) -> Any:
    import pandas as pd

    return pd.DataFrame.from_records(sorted(failures, key=lambda f: str(f["study_id"])), columns=ERROR_COLUMNS)


def write_tables(out_dir: str | PathLike[str], table: Any, errors: Any, feature_settings: dict[str, Any]) -> dict[str, Path]:
    """Parquet + CSV of the table and of the errors, and the feature-settings sidecar; atomically."""
    import io

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for name, frame in ((TABLE_NAME, table), (ERRORS_NAME, errors)):
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        written[f"{name}_parquet"] = atomic_write_bytes(out_dir / f"{name}.parquet", buffer.getvalue())
        written[f"{name}_csv"] = atomic_write_text(out_dir / f"{name}.csv", frame.to_csv(index=False, lineterminator="\n"))
    written["feature_settings"] = atomic_write_text(out_dir / f"{TABLE_NAME}.settings.json",
                                                    json.dumps(feature_settings, indent=1, sort_keys=True))
    log.info("cohort table: %d rows, %d columns; %d errors", table.shape[0], table.shape[1], errors.shape[0])
    return written
