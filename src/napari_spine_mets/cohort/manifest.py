"""The list of studies of a cohort, checked completely before any work starts.

INPUT is either a folder whose sub-folders are studies (no clinical values), or a CSV
manifest: one row per study with ``path`` (image: DICOM folder or NIfTI file; relative
paths are relative to the CSV), optional ``study_id`` (default: the path's name),
optional ``labels`` / ``parts`` / ``lesions`` (label maps given with the study) and any
number of clinical columns (age_years, alp_u_per_l, ca125_u_per_ml, outcome...).

A cohort of hundreds of studies must not fail after hours on a typo in row 187, so
:func:`load_manifest` collects *every* problem (missing files, duplicate or unsafe study
IDs, the same image listed twice, non-numeric values in numeric columns, values outside
the ranges the nomogram commands accept) and raises one :class:`ManifestError` listing them.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

from ..errors import InputError

__all__ = ["Study", "Manifest", "ManifestError", "load_manifest", "study_inputs_in_folder", "FILE_COLUMNS"]

#: Columns naming files of a study (everything else is clinical).
FILE_COLUMNS = ("path", "labels", "parts", "lesions")
_ID_COLUMN = "study_id"
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_MISSING = ("", "na", "nan", "n/a", "none", "null")
#: Names looked for inside a study folder, in order of preference.
_IMAGE_NAMES = ("dicom", "ct.nii.gz", "ct.nii", "image.nii.gz", "image.nii")
_LABEL_NAMES = {
    "labels": ("vertebrae.nii.gz", "vertebrae.nii", "totalsegmentator.nii.gz", "totalsegmentator"),
    "parts": ("parts.nii.gz", "parts.nii"),
    "lesions": ("lesions.nii.gz", "lesions.nii"),
}


class ManifestError(InputError):
    """Every problem of a manifest, one per line; raised before any study is processed."""

    def __init__(self, path: str | PathLike[str] | None, problems: list[str]) -> None:
        self.problems = list(problems)
        listing = "\n".join(f"  - {p}" for p in problems)
        super().__init__(path, f"{len(problems)} problem(s) in the cohort input, nothing was run:\n{listing}")


@dataclass(frozen=True)
class Study:
    """One study: its image, the label maps given with it, and its clinical values."""

    study_id: str
    path: Path
    labels: Path | None = None
    parts: Path | None = None
    lesions: Path | None = None
    #: Clinical values: float (NaN when missing) for numeric columns, str for text columns.
    clinical: dict[str, Any] = field(default_factory=dict)

    def files(self) -> dict[str, Path]:
        """The study's input files by role (only those given)."""
        return {k: v for k, v in (("path", self.path), ("labels", self.labels), ("parts", self.parts),
                                  ("lesions", self.lesions)) if v is not None}


@dataclass
class Manifest:
    """The validated studies, in input order, with how each clinical column was read."""

    studies: list[Study]
    source: Path
    numeric_columns: list[str] = field(default_factory=list)
    text_columns: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"source": str(self.source), "n_studies": len(self.studies),
                "numeric_columns": self.numeric_columns, "text_columns": self.text_columns}


def study_inputs_in_folder(folder: Path) -> dict[str, Path | None]:
    """Image and label files of a study folder by the project's names (synthetic/TotalSegmentator)."""
    found: dict[str, Path | None] = {"path": None, "labels": None, "parts": None, "lesions": None}
    for name in _IMAGE_NAMES:
        if (folder / name).exists():
            found["path"] = folder / name
            break
    if found["path"] is None:
        found["path"] = folder  # DICOM files directly in the study folder
    for role, names in _LABEL_NAMES.items():
        found[role] = next((folder / n for n in names if (folder / n).exists()), None)
    return found


def load_manifest(source: str | PathLike[str]) -> Manifest:
    """Studies of a folder of studies or of a CSV manifest; raises ManifestError listing every problem."""
    source = Path(source)
    if source.is_dir():
        return _from_folder(source)
    if not source.is_file():
        raise ManifestError(source, ["no such file or folder"])
    if source.suffix.lower() not in (".csv", ".tsv"):
        raise ManifestError(source, [f"unknown manifest format '{source.suffix}': give a folder of studies or a .csv"])
    return _from_csv(source)


def _from_folder(root: Path) -> Manifest:
    problems: list[str] = []
    studies = []
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        problems.append("the folder holds no study sub-folders")
    for folder in folders:
        if not _SAFE_ID.match(folder.name):
            problems.append(f"study folder '{folder.name}': unusable as a study ID (letters, digits, '.', '_', '-')")
            continue
        studies.append(Study(study_id=folder.name, **study_inputs_in_folder(folder)))  # type: ignore[arg-type]
    problems += _duplicate_problems(studies)
    if problems:
        raise ManifestError(root, problems)
    return Manifest(studies=studies, source=root)


def _from_csv(path: Path) -> Manifest:
    sep = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle, delimiter=sep))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ManifestError(path, [f"cannot read the manifest: {exc}"]) from None
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise ManifestError(path, ["the manifest is empty"])
    header = [h.strip() for h in rows[0]]
    problems: list[str] = []
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        problems.append(f"duplicated column name(s): {', '.join(dupes)}")
    if "path" not in header:
        raise ManifestError(path, problems + [f"no 'path' column (columns: {', '.join(header)})"])
    if len(rows) == 1:
        raise ManifestError(path, problems + ["the manifest has a header but no studies"])
    records = []
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            problems.append(f"line {line}: {len(row)} cells, the header has {len(header)}")
            continue
        records.append((line, {h: c.strip() for h, c in zip(header, row)}))
    clinical_cols = [h for h in header if h not in FILE_COLUMNS and h != _ID_COLUMN]
    numeric, text, parsed = _clinical_columns(records, clinical_cols, problems)
    studies = []
    for (line, rec), values in zip(records, parsed):
        studies.append(_study_from_row(path.parent, line, rec, values, problems))
    studies = [s for s in studies if s is not None]
    problems += _duplicate_problems(studies)
    if problems:
        raise ManifestError(path, problems)
    return Manifest(studies=studies, source=path, numeric_columns=numeric, text_columns=text)


def _study_from_row(base: Path, line: int, rec: dict[str, str], clinical: dict[str, Any],
                    problems: list[str]) -> Study | None:
    files: dict[str, Path | None] = {}
    for role in FILE_COLUMNS:
        text = rec.get(role, "")
        if not text:
            files[role] = None
            continue
        p = Path(text).expanduser()
        files[role] = p if p.is_absolute() else (base / p)
        if not files[role].exists():  # type: ignore[union-attr]
            problems.append(f"line {line}: {role} '{text}' does not exist ({files[role]})")
    if files["path"] is None:
        problems.append(f"line {line}: empty 'path'")
        return None
    study_id = rec.get(_ID_COLUMN) or _name_of(files["path"])
    if not _SAFE_ID.match(study_id):
        problems.append(f"line {line}: study ID '{study_id}' is unusable as a folder name "
                        "(letters, digits, '.', '_', '-'; at most 128 characters)")
        return None
    return Study(study_id=study_id, path=files["path"], labels=files["labels"], parts=files["parts"],
                 lesions=files["lesions"], clinical=clinical)


def _name_of(path: Path) -> str:
    name = path.name
    for suffix in (".nii.gz", ".nii"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _duplicate_problems(studies: list[Study]) -> list[str]:
    """Duplicate IDs (case-insensitively: folders collide on macOS/Windows) and images listed twice."""
    problems = []
    by_id: dict[str, list[str]] = {}
    by_path: dict[Path, list[str]] = {}
    for s in studies:
        by_id.setdefault(s.study_id.lower(), []).append(s.study_id)
        by_path.setdefault(s.path.resolve(), []).append(s.study_id)
    for ids in by_id.values():
        if len(ids) > 1:
            problems.append(f"duplicate study ID {ids[0]!r} ({len(ids)} rows: {', '.join(ids)})")
    for p, ids in by_path.items():
        if len(ids) > 1:
            problems.append(f"the same image {p} is listed for {len(ids)} studies: {', '.join(ids)}")
    return problems


def _number(text: str) -> float | None:
    """A float, NaN for a missing value, None for text that is not a number."""
    if text.strip().lower() in _MISSING:
        return math.nan
    try:
        value = float(text)
    except ValueError:
        return None
    return value


def _clinical_columns(records: list[tuple[int, dict[str, str]]], columns: list[str],
                      problems: list[str]) -> tuple[list[str], list[str], list[dict[str, Any]]]:
    """Decide numeric vs text per column; report non-numeric values in numeric columns and range errors.

    A column is text only when it is a known categorical column (sex, primary_site...) or
    when *no* present value is a number (e.g. a centre name); a column of numbers with a
    few words in it ("12,5", "unknown") is a typo to fix, not a text column.
    """
    from ..models.table import CATEGORICAL_LEVELS, CLINICAL_RANGES

    numeric: list[str] = []
    text: list[str] = []
    parsed: list[dict[str, Any]] = [{} for _ in records]
    for col in columns:
        values = [rec.get(col, "") for _, rec in records]
        numbers = [_number(v) for v in values]
        present = [n for n in numbers if n is not None and not math.isnan(n)]
        words = [(line, v) for (line, _), v, n in zip(records, values, numbers) if n is None]
        if col in CATEGORICAL_LEVELS or (col not in CLINICAL_RANGES and not present and words):
            text.append(col)
            for out, v in zip(parsed, values):
                out[col] = v
            continue
        numeric.append(col)
        if words:
            shown = ", ".join(f"line {line}: {v!r}" for line, v in words[:8])
            more = f" and {len(words) - 8} more" if len(words) > 8 else ""
            problems.append(f"column '{col}': not a number ({shown}{more}); write missing values as empty or NA")
        for (line, _), out, n in zip(records, parsed, numbers):
            out[col] = math.nan if n is None else n
            if n is not None and math.isinf(n):
                problems.append(f"column '{col}': infinite value at line {line}")
        if col in CLINICAL_RANGES:
            lo, hi, whole, unit = CLINICAL_RANGES[col]
            bad = [(line, n) for (line, _), n in zip(records, numbers)
                   if n is not None and not math.isnan(n) and not (lo <= n <= hi and (not whole or n == int(n)))]
            if bad:
                shown = ", ".join(f"line {line}: {n:g}" for line, n in bad[:8])
                problems.append(f"column '{col}': outside {lo:g}-{hi:g} {unit}{' (whole numbers)' if whole else ''} "
                                f"({shown})")
    return numeric, text, parsed
