"""Model files: versioned JSON (never pickles), validated on load.

Every model file is one JSON object::

    {
      "schema": "napari-spine-mets/model",
      "schema_version": 1,
      "kind": "logistic_nomogram" | "cox_survival",
      "name": "...", "demonstration": true|false,
      "label": "demonstration — not for clinical use" (demonstrations) or "",
      "disclaimer": "decision support, not a diagnosis",
      "software_version": "...", "created": "...",
      "feature_settings": {...} | null, "feature_settings_sha256": "..." | null,
      "training": {...},            # cohort summary and apparent metrics
      "validation": {...} | null,   # metrics on a validation cohort, when evaluated
      "model": {...}                # kind-specific: see docs/models.md
    }

``feature_settings`` are the settings the radiomics features were computed with (bin
width, resampling, normalisation, image types...); a case whose features carry another
settings hash is refused on apply (:func:`check_feature_settings`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from os import PathLike
from pathlib import Path
from typing import Any

from .errors import ModelFileError, ModelSettingsMismatchError

__all__ = [
    "SCHEMA",
    "SCHEMA_VERSION",
    "KINDS",
    "settings_hash",
    "validate_model",
    "load_model",
    "save_model",
    "dumps_model",
    "check_feature_settings",
    "new_model_doc",
]

log = logging.getLogger(__name__)

SCHEMA = "napari-spine-mets/model"
SCHEMA_VERSION = 1
KINDS = ("logistic_nomogram", "cox_survival")

_NUM = (int, float)


def settings_hash(settings: dict[str, Any] | None) -> str | None:
    """SHA-256 of the settings as canonical JSON (sorted keys, no spaces); None for None."""
    if settings is None:
        return None
    text = json.dumps(settings, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _where(path: Any) -> Path | None:
    return Path(path) if path is not None else None


def _need(doc: dict[str, Any], key: str, types: Any, where: str, path: Any, nullable: bool = False) -> Any:
    if key not in doc:
        raise ModelFileError(_where(path), f"missing '{where}{key}'")
    value = doc[key]
    if value is None and nullable:
        return value
    if isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        raise ModelFileError(_where(path), f"'{where}{key}' must be {_type_name(types)}, not a boolean")
    if not isinstance(value, types):
        raise ModelFileError(_where(path), f"'{where}{key}' must be {_type_name(types)}, not {type(value).__name__}")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and not _finite_number(value):
        raise ModelFileError(_where(path), f"'{where}{key}' is not finite")
    return value


def _finite_number(value: int | float) -> bool:
    """False for NaN, infinities and integers too large for a float (JSON allows 1e400 as an integer)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _type_name(types: Any) -> str:
    types = types if isinstance(types, tuple) else (types,)
    names = {int: "a number", float: "a number", str: "a string", bool: "true or false", list: "a list", dict: "an object"}
    return " or ".join(dict.fromkeys(names.get(t, t.__name__) for t in types))


def _numbers(doc: dict[str, Any], key: str, where: str, path: Any, length: int | None = None) -> list[float]:
    values = _need(doc, key, list, where, path)
    if not all(isinstance(v, _NUM) and not isinstance(v, bool) and _finite_number(v) for v in values):
        raise ModelFileError(_where(path), f"'{where}{key}' must be a list of finite numbers")
    if length is not None and len(values) != length:
        raise ModelFileError(_where(path), f"'{where}{key}' has {len(values)} values, expected {length}")
    return values


def _terms(doc: dict[str, Any], key: str, where: str, path: Any) -> list[dict[str, Any]]:
    terms = _need(doc, key, list, where, path)
    for i, term in enumerate(terms):
        if not isinstance(term, dict):
            raise ModelFileError(_where(path), f"'{where}{key}[{i}]' must be an object")
        for k in ("name", "column", "op", "value"):
            _need(term, k, str, f"{where}{key}[{i}].", path)
        if term["op"] not in ("", ">", ">=", "<", "<=", "="):
            raise ModelFileError(_where(path), f"'{where}{key}[{i}].op' is not a known operator: {term['op']!r}")
    return terms


def _validate_nomogram(m: dict[str, Any], path: Any) -> None:
    w = "model."
    rad = _need(m, "radiomics", dict, w, path, nullable=True)
    if rad is not None:
        feats = _need(rad, "features", list, w + "radiomics.", path)
        if not all(isinstance(f, str) for f in feats):
            raise ModelFileError(_where(path), f"'{w}radiomics.features' must be a list of column names")
        for key in ("mean", "sd", "coef"):
            _numbers(rad, key, w + "radiomics.", path, len(feats))
        if any(s <= 0 for s in rad["sd"]):
            raise ModelFileError(_where(path), f"'{w}radiomics.sd' must be positive")
        _need(rad, "intercept", _NUM, w + "radiomics.", path)
    terms = _terms(m, "clinical_terms", w, path)
    logistic = _need(m, "logistic", dict, w, path)
    names = _need(logistic, "names", list, w + "logistic.", path)
    expected = ["(intercept)"] + (["radscore"] if rad is not None else []) + [t["name"] for t in terms]
    if names != expected:
        raise ModelFileError(_where(path), f"'{w}logistic.names' is {names}, expected {expected}")
    _numbers(logistic, "coef", w + "logistic.", path, len(names))
    _numbers(logistic, "se", w + "logistic.", path, len(names))
    thr = _need(m, "threshold", dict, w, path)
    value = _need(thr, "value", _NUM, w + "threshold.", path)
    if not 0 < value < 1:
        raise ModelFileError(_where(path), f"'{w}threshold.value' must lie between 0 and 1, not {value}")
    points = _need(m, "points", dict, w, path)
    _need(points, "points_per_logit", _NUM, w + "points.", path)
    ranges = _need(points, "ranges", dict, w + "points.", path)
    for name in names[1:]:
        if name not in ranges:
            raise ModelFileError(_where(path), f"'{w}points.ranges' lacks the term '{name}'")
    _need(m, "outcome", str, w, path)
    _need(m, "comparison_models", dict, w, path)


def _validate_cox(m: dict[str, Any], path: Any) -> None:
    w = "model."
    terms = _terms(m, "covariates", w, path)
    k = len(terms)
    for key in ("coef", "se", "means"):
        _numbers(m, key, w, path, k)
    base = _need(m, "baseline_cumulative_hazard", dict, w, path)
    times = _numbers(base, "times", w + "baseline_cumulative_hazard.", path)
    values = _numbers(base, "values", w + "baseline_cumulative_hazard.", path, len(times))
    if any(b < a for a, b in zip(times, times[1:])) or any(b < a for a, b in zip(values, values[1:])):
        raise ModelFileError(_where(path), f"'{w}baseline_cumulative_hazard' must be non-decreasing in time and value")
    unit = _need(m, "time_unit", str, w, path)
    if unit not in ("days", "months"):
        raise ModelFileError(_where(path), f"'{w}time_unit' must be 'days' or 'months', not {unit!r}")
    _numbers(m, "horizons_months", w, path)
    _need(m, "duration_column", str, w, path)
    _need(m, "event_column", str, w, path)


def validate_model(doc: Any, path: str | PathLike[str] | None = None) -> dict[str, Any]:
    """Check a model document; returns it, or raises :class:`ModelFileError` naming the problem."""
    if not isinstance(doc, dict):
        raise ModelFileError(_where(path), "a model file must hold one JSON object")
    if doc.get("schema") != SCHEMA:
        raise ModelFileError(_where(path), f"not a napari-spine-mets model file (schema {doc.get('schema')!r}, "
                             f"expected {SCHEMA!r})")
    version = doc.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ModelFileError(_where(path), f"'schema_version' must be an integer, not {version!r}")
    if version != SCHEMA_VERSION:
        newer = " (written by a newer version of napari-spine-mets: upgrade to read it)" if version > SCHEMA_VERSION else ""
        raise ModelFileError(_where(path), f"unknown model schema_version {version}; this version reads "
                             f"{SCHEMA_VERSION}{newer}")
    kind = _need(doc, "kind", str, "", path)
    if kind not in KINDS:
        raise ModelFileError(_where(path), f"unknown model kind {kind!r} (known: {', '.join(KINDS)})")
    _need(doc, "name", str, "", path)
    demo = _need(doc, "demonstration", bool, "", path)
    label = _need(doc, "label", str, "", path)
    if demo and "not for clinical use" not in label:
        raise ModelFileError(_where(path), "a demonstration model must carry its label "
                             "'demonstration — not for clinical use'")
    _need(doc, "disclaimer", str, "", path)
    settings = _need(doc, "feature_settings", dict, "", path, nullable=True)
    sha = _need(doc, "feature_settings_sha256", str, "", path, nullable=True)
    if settings is not None and sha != settings_hash(settings):
        raise ModelFileError(_where(path), "'feature_settings_sha256' does not match 'feature_settings' "
                             "(the file was edited by hand or damaged)")
    _need(doc, "training", dict, "", path)
    _need(doc, "validation", dict, "", path, nullable=True)
    model = _need(doc, "model", dict, "", path)
    (_validate_nomogram if kind == "logistic_nomogram" else _validate_cox)(model, path)
    return doc


def _finite(obj: Any) -> Any:
    """NaN/inf -> None so the JSON is strict (RFC 8259)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def dumps_model(doc: dict[str, Any]) -> str:
    from ..case_parts import jsonable

    return json.dumps(_finite(jsonable(doc)), indent=1, ensure_ascii=False, allow_nan=False) + "\n"


def save_model(doc: dict[str, Any], path: str | PathLike[str]) -> Path:
    """Validate and write atomically; returns the path."""
    from ..io.atomic import atomic_write_text

    text = dumps_model(doc)
    validate_model(json.loads(text), path)
    path = Path(path)
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, text)
    log.info("wrote model %s", path)
    return path


def load_model(path: str | PathLike[str]) -> dict[str, Any]:
    """Read and validate a model file (refuses unknown schema versions)."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(path, "no such model file" if not path.exists() else "not a file")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(path, f"not a JSON model file: {exc}") from None
    return validate_model(doc, path)


def check_feature_settings(model: dict[str, Any], settings: dict[str, Any] | None = None,
                           sha256: str | None = None) -> list[str]:
    """Refuse features computed with other settings than the model's; returns notes for the user.

    The case's settings are given as the settings object or as its hash. A model that
    uses no radiomics features needs none. A model without recorded settings cannot check
    (a note says so). A model with recorded settings refuses a case that gives none.
    """
    expected = model.get("feature_settings_sha256")
    uses_features = model["kind"] == "logistic_nomogram" and model["model"].get("radiomics") is not None
    if model["kind"] == "cox_survival":
        uses_features = expected is not None
    given = settings_hash(settings) if settings is not None else sha256
    if settings is not None and sha256 is not None and settings_hash(settings) != sha256:
        raise ModelSettingsMismatchError(None, "the case's feature settings do not match their own recorded hash")
    if not uses_features:
        return []
    if expected is None:
        return ["the model does not record the settings its features were computed with: "
                "the case's feature settings could not be checked"]
    if given is None:
        raise ModelSettingsMismatchError(None, "the model's features were computed with recorded settings "
                                         f"(sha256 {expected[:12]}...) but the case gives no feature settings: "
                                         "cannot check that its features are comparable; refusing to apply")
    if given != expected:
        detail = ""
        if settings is not None and isinstance(model.get("feature_settings"), dict):
            ref = model["feature_settings"]
            keys = sorted(set(ref) | set(settings))
            diffs = [f"{k}: model {ref.get(k, '(absent)')!r}, case {settings.get(k, '(absent)')!r}"
                     for k in keys if ref.get(k, "(absent)") != settings.get(k, "(absent)")]
            detail = "; differences: " + "; ".join(diffs[:10])
        raise ModelSettingsMismatchError(None, f"the case's features were computed with different settings "
                                         f"(sha256 {given[:12]}...) than the model's (sha256 {expected[:12]}...)"
                                         f"{detail}; recompute the features with the model's settings")
    return []


def new_model_doc(kind: str, name: str, model: dict[str, Any], training: dict[str, Any], *,
                  demonstration: bool = False, feature_settings: dict[str, Any] | None = None,
                  created: str | None = None) -> dict[str, Any]:
    """A model document with the common header filled in."""
    from .. import __version__
    from ..case_parts import DISCLAIMER, utc_now
    from . import DEMO_LABEL

    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "kind": kind,
        "name": name,
        "demonstration": bool(demonstration),
        "label": DEMO_LABEL if demonstration else "",
        "disclaimer": DISCLAIMER,
        "software_version": __version__,
        "created": created if created is not None else utc_now().isoformat(timespec="seconds"),
        "feature_settings": feature_settings,
        "feature_settings_sha256": settings_hash(feature_settings),
        "training": training,
        "validation": None,
        "model": model,
    }
