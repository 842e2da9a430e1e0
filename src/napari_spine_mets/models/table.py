"""Cohort tables: read a CSV (or JSON) feature table and validate the columns a model uses.

One row per lesion or patient. Column names for clinical values are those of
:class:`~napari_spine_mets.case_parts.ClinicalEntries` (``age_years``, ``alp_u_per_l``,
``ca125_u_per_ml``, ``karnofsky``...), whose plausible ranges are checked here; any other
numeric column (radiomics features, imaging measurements) must be finite.

Every problem names the column and the rows (1-based data rows, not counting the header,
and the row's id when the table has an id column). Nothing is imputed silently: missing
values are an error unless the caller asks for ``missing="drop"`` or ``missing="median"``,
and then what was dropped or filled in is returned in the report so it can be recorded in
the model file.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import re
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from ..scores.primary_sites import SITES as _SITES
from ..scores.primary_sites import canonical_site as _canonical_site
from ..scores.result import ScoreInputError as _ScoreInputError
from .errors import ModelInputError

__all__ = [
    "CLINICAL_RANGES",
    "CATEGORICAL_LEVELS",
    "KNOWN_PRIMARY_SITES",
    "Term",
    "parse_term",
    "read_table",
    "PreparedTable",
    "prepare_table",
    "check_binary_outcome",
    "table_feature_settings",
    "SETTINGS_HASH_COLUMN",
]

log = logging.getLogger(__name__)

#: Plausible ranges of the clinical columns (inclusive), with whether values must be whole.
CLINICAL_RANGES: dict[str, tuple[float, float, bool, str]] = {
    "age_years": (0.0, 120.0, False, "years"),
    "karnofsky": (0.0, 100.0, False, "% (Karnofsky performance status, 0-100)"),
    "ecog": (0.0, 5.0, True, "(ECOG 0-5)"),
    "alp_u_per_l": (0.0, math.inf, False, "U/L"),
    "albumin_g_per_l": (0.0, 100.0, False, "g/L"),
    "lymphocytes_1e9_per_l": (0.0, math.inf, False, "x10^9/L"),
    "ca125_u_per_ml": (0.0, math.inf, False, "U/mL"),
    "extraspinal_bone_metastases": (0.0, math.inf, True, "(count)"),
    "vertebral_metastases": (0.0, math.inf, True, "(count)"),
}

#: Primary tumour sites: the project's one vocabulary (``scores.primary_sites``, with aliases).
KNOWN_PRIMARY_SITES = tuple(_SITES)

#: Categorical clinical columns and their allowed levels.
CATEGORICAL_LEVELS: dict[str, tuple[str, ...]] = {
    "primary_site": KNOWN_PRIMARY_SITES,
    "sex": ("female", "male", "other"),
    "frankel_grade": ("A", "B", "C", "D", "E"),
    "pain": ("mechanical", "occasional_non_mechanical", "none"),
}

_MAX_ROWS_SHOWN = 8


def _canonical(column: str, value: Any) -> str | None:
    """A categorical value in canonical form (primary-site aliases resolved); None if unknown."""
    text = str(value).strip()
    if column == "primary_site":
        try:
            return _canonical_site(text)
        except _ScoreInputError:
            return None
    return text if text in CATEGORICAL_LEVELS.get(column, (text,)) else None
_TERM_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s*(>=|<=|>|<|=)?\s*(.*?)\s*$")


@dataclass(frozen=True)
class Term:
    """One model input made from one column: the value itself, an indicator, or a level.

    ``op`` is ``""`` (the column's value), ``">"``, ``">="``, ``"<"``, ``"<="`` (1 when the
    comparison holds, else 0: e.g. ``age_years>60``) or ``"="`` (1 when a categorical
    column equals ``value``: e.g. ``primary_site=lung``).
    """

    column: str
    op: str = ""
    value: str = ""

    @property
    def name(self) -> str:
        return f"{self.column}{self.op}{self.value}"

    @property
    def categorical(self) -> bool:
        return self.op == "="

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "column": self.column, "op": self.op, "value": self.value}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "Term":
        return cls(column=str(doc["column"]), op=str(doc.get("op", "")), value=str(doc.get("value", "")))

    def evaluate(self, values: Any) -> np.ndarray:
        """The term's numeric values (float array) from a column's (validated) values."""
        if self.op == "=":
            return np.array([1.0 if _canonical(self.column, v) == self.value else 0.0 for v in values])
        x = np.asarray(values, dtype=float)
        if self.op == "":
            return x
        threshold = float(self.value)
        result = {">": x > threshold, ">=": x >= threshold, "<": x < threshold, "<=": x <= threshold}[self.op]
        return result.astype(float)


def parse_term(text: str) -> Term:
    """``"age_years>60"`` -> Term("age_years", ">", "60"); ``"ca125_u_per_ml"`` -> the value."""
    match = _TERM_RE.match(text)
    if not match or (match.group(2) and not match.group(3)) or (not match.group(2) and match.group(3)):
        raise ModelInputError(None, f"cannot read the model term '{text}': write COLUMN, COLUMN>VALUE "
                              "(also >=, <, <=) or COLUMN=LEVEL, e.g. age_years>60 or primary_site=lung")
    column, op, value = match.group(1), match.group(2) or "", match.group(3)
    if op and op != "=":
        try:
            float(value)
        except ValueError:
            raise ModelInputError(None, f"model term '{text}': '{value}' is not a number") from None
    if op == "=" and column in CATEGORICAL_LEVELS:
        canonical = _canonical(column, value)
        if canonical is not None:
            value = canonical
    if op == "=" and column in CATEGORICAL_LEVELS and value not in CATEGORICAL_LEVELS[column]:
        raise ModelInputError(None, f"model term '{text}': unknown {column} '{value}'; known: "
                              f"{', '.join(CATEGORICAL_LEVELS[column])}")
    return Term(column, op, value)


def read_table(path: str | PathLike[str]) -> "Any":
    """A cohort table as a pandas DataFrame (CSV/TSV, or JSON: a list of row objects or one object).

    Raises :class:`ModelInputError` for a missing or unreadable file, an empty table or
    duplicated column names.
    """
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise ModelInputError(path, "no such file" if not path.exists() else "not a file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            doc = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(doc, dict):
                doc = [doc]
            if not isinstance(doc, list) or not all(isinstance(r, dict) for r in doc):
                raise ModelInputError(path, "a JSON table must be one object or a list of objects (one per row)")
            frame = pd.DataFrame(doc)
        elif suffix in (".csv", ".tsv", ".txt"):
            sep = "\t" if suffix == ".tsv" else ","
            with path.open(newline="", encoding="utf-8-sig") as handle:
                header = next(csv.reader(handle, delimiter=sep), [])
            seen: set[str] = set()
            dupes = sorted({h for h in header if h in seen or seen.add(h)})  # type: ignore[func-returns-value]
            if dupes:
                raise ModelInputError(path, f"duplicated column name(s): {', '.join(dupes)}")
            frame = pd.read_csv(path, sep=sep, encoding="utf-8-sig", skipinitialspace=True)
        else:
            raise ModelInputError(path, f"unknown table format '{suffix}': use .csv, .tsv or .json")
    except ModelInputError:
        raise
    except (OSError, UnicodeDecodeError, ValueError, pd.errors.ParserError) as exc:
        raise ModelInputError(path, f"cannot read the table: {exc}") from None
    if frame.shape[0] == 0:
        raise ModelInputError(path, "the table has no rows")
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _rows(frame: Any, mask: np.ndarray, id_column: str | None) -> str:
    idx = np.flatnonzero(mask)
    shown = []
    for i in idx[:_MAX_ROWS_SHOWN]:
        label = f"{i + 1}"
        if id_column and id_column in frame.columns:
            label += f" (id {frame[id_column].iloc[i]})"
        shown.append(label)
    more = f" and {len(idx) - _MAX_ROWS_SHOWN} more" if len(idx) > _MAX_ROWS_SHOWN else ""
    return f"row{'s' if len(idx) > 1 else ''} {', '.join(shown)}{more}"


def _is_missing(values: Any) -> np.ndarray:
    import pandas as pd

    out = np.asarray(pd.isna(values), dtype=bool)
    as_text = np.array([isinstance(v, str) and v.strip().lower() in ("", "na", "nan", "n/a", "none", "null")
                        for v in values], dtype=bool)
    return out | as_text


def _numeric(values: Any) -> tuple[np.ndarray, np.ndarray]:
    """(float values, mask of entries that are present but not numbers)."""
    out = np.full(len(values), np.nan)
    bad = np.zeros(len(values), dtype=bool)
    for i, v in enumerate(values):
        if isinstance(v, (bool, np.bool_)):
            out[i] = float(v)
            continue
        if isinstance(v, str):
            text = v.strip().lower()
            if text in ("true", "false", "yes", "no"):
                out[i] = 1.0 if text in ("true", "yes") else 0.0
                continue
        try:
            out[i] = float(v)
        except (TypeError, ValueError):
            bad[i] = True
    return out, bad


@dataclass
class PreparedTable:
    """Validated model inputs: one float column per term, plus the outcome/time columns."""

    #: Term name -> float values (no NaN).
    terms: dict[str, np.ndarray]
    #: Extra numeric columns asked for (outcome, duration, event), by name.
    columns: dict[str, np.ndarray]
    n_rows: int
    #: Rows kept, as 0-based indices into the original table.
    kept_rows: np.ndarray
    #: What was done about missing values: {"policy", "dropped_rows", "imputed": {column: {...}}}.
    missing: dict[str, Any] = field(default_factory=dict)

    def matrix(self, names: list[str]) -> np.ndarray:
        return np.column_stack([self.terms[n] for n in names]) if names else np.zeros((self.n_rows, 0))


def prepare_table(
    frame: Any,
    terms: list[Term],
    *,
    columns: tuple[str, ...] | list[str] = (),
    source: str | PathLike[str] | None = None,
    id_column: str | None = None,
    missing: str = "error",
    impute_values: dict[str, float] | None = None,
) -> PreparedTable:
    """Check and convert the columns behind ``terms`` (and ``columns``) of ``frame``.

    Every problem found (missing column, missing values, non-numbers, values out of range,
    unknown categories) is collected and raised together as one :class:`ModelInputError`.
    ``missing``: ``"error"`` (default), ``"drop"`` (drop incomplete rows, recorded) or
    ``"median"`` (fill numeric predictor columns with the median of the present values, or
    with ``impute_values`` when given, e.g. the training medians; recorded). The
    ``columns`` (outcome, time, event) are never imputed.
    """
    if missing not in ("error", "drop", "median"):
        raise ModelInputError(source, f"unknown missing-value policy '{missing}' (error, drop or median)")
    problems: list[str] = []
    needed = list(dict.fromkeys([t.column for t in terms] + list(columns)))
    absent = [c for c in needed if c not in frame.columns]
    if absent:
        have = ", ".join(map(str, frame.columns[:30])) + (" ..." if frame.shape[1] > 30 else "")
        raise ModelInputError(source, f"column(s) not in the table: {', '.join(absent)} (the table has: {have})")
    n = frame.shape[0]
    categorical_cols = {t.column for t in terms if t.categorical}
    numeric: dict[str, np.ndarray] = {}
    missing_masks: dict[str, np.ndarray] = {}
    for col in needed:
        values = frame[col].to_numpy(dtype=object)
        miss = _is_missing(values)
        missing_masks[col] = miss
        if col in categorical_cols or col in CATEGORICAL_LEVELS:
            levels = CATEGORICAL_LEVELS.get(col)
            if col not in categorical_cols:
                problems.append(f"column '{col}' is categorical: use it as {col}=LEVEL terms "
                                f"(e.g. {col}={levels[0] if levels else 'LEVEL'})")
                continue
            if levels is not None:
                unknown = np.array([not m and _canonical(col, v) is None for v, m in zip(values, miss)])
                if unknown.any():
                    names = sorted({str(v).strip() for v, u in zip(values, unknown) if u})
                    problems.append(f"column '{col}': unknown {col} {', '.join(repr(x) for x in names)} at "
                                    f"{_rows(frame, unknown, id_column)} (known: {', '.join(levels)})")
            continue
        x, bad = _numeric(values)
        bad &= ~miss
        if bad.any():
            examples = ", ".join(repr(values[i]) for i in np.flatnonzero(bad)[:3])
            problems.append(f"column '{col}': not a number ({examples}) at {_rows(frame, bad, id_column)}")
        infinite = np.isinf(x)
        if infinite.any():
            problems.append(f"column '{col}': infinite value at {_rows(frame, infinite, id_column)}")
        if col in CLINICAL_RANGES:
            lo, hi, whole, unit = CLINICAL_RANGES[col]
            present = ~np.isnan(x)
            out = present & ((x < lo) | (x > hi))
            if out.any():
                examples = ", ".join(f"{x[i]:g}" for i in np.flatnonzero(out)[:3])
                bound = f"{lo:g} to {hi:g}" if math.isfinite(hi) else f"at least {lo:g}"
                problems.append(f"column '{col}': out of range ({examples}; expected {bound} {unit}) at "
                                f"{_rows(frame, out, id_column)}")
            if whole:
                frac = present & ~out & (np.abs(x - np.round(x)) > 1e-9)
                if frac.any():
                    problems.append(f"column '{col}': not a whole number at {_rows(frame, frac, id_column)}")
        numeric[col] = x
    # Missing values.
    any_missing = np.zeros(n, dtype=bool)
    for col in needed:
        any_missing |= missing_masks[col]
    record: dict[str, Any] = {"policy": missing, "dropped_rows": [], "imputed": {}}
    keep = np.ones(n, dtype=bool)
    if any_missing.any():
        if missing == "error" or any(missing_masks[c].any() for c in columns):
            for col in needed:
                if missing_masks[col].any():
                    hint = "" if col in columns else " (or choose missing='drop'/'median' explicitly)"
                    problems.append(f"column '{col}': missing value at {_rows(frame, missing_masks[col], id_column)}"
                                    f"; nothing is imputed silently: complete the table{hint}")
        elif missing == "drop":
            keep = ~any_missing
            record["dropped_rows"] = [int(i) for i in np.flatnonzero(any_missing)]
            log.warning("dropping %d row(s) with missing values", int(any_missing.sum()))
        else:  # median
            for col in needed:
                if not missing_masks[col].any():
                    continue
                if col in categorical_cols:
                    problems.append(f"column '{col}': missing value at {_rows(frame, missing_masks[col], id_column)}"
                                    "; a categorical column cannot be imputed with a median")
                    continue
                present = numeric[col][~missing_masks[col]]
                fill = (impute_values or {}).get(col)
                if fill is None:
                    if present.size == 0:
                        problems.append(f"column '{col}': every value is missing")
                        continue
                    fill = float(np.median(present))
                numeric[col] = np.where(missing_masks[col], fill, numeric[col])
                record["imputed"][col] = {"value": float(fill), "rows": [int(i) for i in np.flatnonzero(missing_masks[col])]}
                log.warning("imputed %d missing value(s) of '%s' with %g", int(missing_masks[col].sum()), col, fill)
    if problems:
        raise ModelInputError(source, "; ".join(problems))
    if not keep.any():
        raise ModelInputError(source, "no complete rows are left after dropping rows with missing values")
    values_by_term: dict[str, np.ndarray] = {}
    for term in terms:
        raw = frame[term.column].to_numpy(dtype=object) if term.categorical else numeric[term.column]
        values_by_term[term.name] = term.evaluate(raw)[keep]
    extra = {c: numeric[c][keep] for c in columns if c in numeric}
    return PreparedTable(terms=values_by_term, columns=extra, n_rows=int(keep.sum()),
                         kept_rows=np.flatnonzero(keep), missing=record)


def check_binary_outcome(y: np.ndarray, name: str, source: Any = None, *, min_per_class: int = 1) -> np.ndarray:
    """``y`` as 0/1 integers; a clear error for other values or a single class."""
    y = np.asarray(y, dtype=float)
    bad = ~np.isin(y, (0.0, 1.0))
    if bad.any():
        vals = ", ".join(sorted({f"{v:g}" for v in y[bad]})[:5])
        raise ModelInputError(source, f"outcome '{name}' must be 0 or 1; found {vals} "
                              f"at {bad.sum()} row(s) (first: row {np.flatnonzero(bad)[0] + 1})")
    counts = (int((y == 0).sum()), int((y == 1).sum()))
    if min(counts) == 0:
        only = 1 if counts[0] == 0 else 0
        raise ModelInputError(source, f"outcome '{name}' has a single class (all {len(y)} rows are {only}): "
                              "a classifier cannot be fitted or evaluated without both outcomes")
    if min(counts) < min_per_class:
        raise ModelInputError(source, f"outcome '{name}' has only {min(counts)} row(s) in its smaller class "
                              f"({counts[0]} zeros, {counts[1]} ones); at least {min_per_class} are needed")
    return y.astype(int)


#: Column a cohort table may carry with each row's feature-settings hash.
SETTINGS_HASH_COLUMN = "feature_settings_sha256"


def table_feature_settings(path: str | PathLike[str] | None, frame: Any,
                           settings_path: str | PathLike[str] | None = None) -> dict[str, Any] | None:
    """The radiomics settings of a table: ``settings_path``, else the sidecar ``TABLE.settings.json``.

    When the table also has a ``feature_settings_sha256`` column, every row must carry the
    same hash and it must match the settings file: a table mixing settings is refused.
    """
    from .model_file import settings_hash

    settings = None
    candidate = Path(settings_path) if settings_path is not None else (
        Path(path).with_suffix(".settings.json") if path is not None else None)
    if candidate is not None and candidate.is_file():
        try:
            settings = json.loads(candidate.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelInputError(candidate, f"cannot read the feature settings: {exc}") from None
        if not isinstance(settings, dict):
            raise ModelInputError(candidate, "feature settings must be one JSON object")
    elif settings_path is not None:
        raise ModelInputError(settings_path, "no such feature-settings file")
    if SETTINGS_HASH_COLUMN in frame.columns:
        hashes = {str(h).strip() for h in frame[SETTINGS_HASH_COLUMN].to_numpy(dtype=object)}
        if len(hashes) > 1:
            raise ModelInputError(path, f"the table mixes {len(hashes)} feature-settings hashes in "
                                  f"'{SETTINGS_HASH_COLUMN}': features computed with different settings cannot be pooled")
        (only,) = hashes
        if settings is None:
            raise ModelInputError(path, f"the table's '{SETTINGS_HASH_COLUMN}' is {only[:12]}... but no settings "
                                  "file was given (TABLE.settings.json or --feature-settings)")
        if settings_hash(settings) != only:
            raise ModelInputError(path, f"the table's '{SETTINGS_HASH_COLUMN}' ({only[:12]}...) does not match "
                                  f"the settings file ({settings_hash(settings)[:12]}...)")
    return settings
