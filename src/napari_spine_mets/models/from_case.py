"""Apply a model file (nomogram or Cox survival model) to a live Case, naming what is missing.

The values are the case's clinical entries (``clinical.extras`` included) and the
measurements of one chosen ROI (its radiomics features), as
:mod:`.case_inputs` reads them from a saved case folder. The ROI's features must have
been computed with the model's settings: the ROI's recorded ``feature_settings_sha256``
(else that of the case's latest "radiomics" step) is checked by the model's own apply.
Before applying, every input the model needs and the case lacks is listed by name,
so nothing is imputed and the user knows what to enter or compute.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from ..case_parts import DISCLAIMER, Finding

if TYPE_CHECKING:
    from ..case import Case

__all__ = ["ModelOutcome", "model_columns", "case_values", "apply_model_to_case", "record_model_in_case",
           "MODEL_FINDING"]

log = logging.getLogger(__name__)

#: Name of the finding a model's prediction is recorded under (one per case, replaced).
MODEL_FINDING = "model prediction"
_SETTINGS_KEY = "feature_settings_sha256"


@dataclass
class ModelOutcome:
    """A model applied to a case: its result (see ``apply_nomogram`` / ``apply_cox``) or what stopped it."""

    name: str
    kind: str
    demonstration: bool
    label: str
    disclaimer: str
    result: dict[str, Any] | None = None
    missing: list[str] = field(default_factory=list)
    problem: str | None = None
    roi_id: int | None = None


def model_columns(doc: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(clinical columns, radiomics feature columns) a model reads."""
    m = doc["model"]
    if doc["kind"] == "logistic_nomogram":
        clinical = [t["column"] for t in m["clinical_terms"]]
        features = list(m["radiomics"]["features"]) if m.get("radiomics") else []
        return list(dict.fromkeys(clinical)), features
    return list(dict.fromkeys(t["column"] for t in m["covariates"])), []


def clinical_values(case: "Case") -> dict[str, Any]:
    """The clinician's entries as model columns: every field entered, plus scalar extras."""
    values: dict[str, Any] = {}
    for f in fields(case.clinical):
        if f.name != "extras" and getattr(case.clinical, f.name) is not None:
            values[f.name] = getattr(case.clinical, f.name)
    values.update({k: v for k, v in case.clinical.extras.items() if not isinstance(v, (dict, list))})
    return values


def case_values(case: "Case", roi_id: int | None = None) -> tuple[dict[str, Any], str | None]:
    """(values by column, feature-settings hash) of ``case``: clinical entries plus one ROI's measurements."""
    values = clinical_values(case)
    sha = None
    if roi_id is not None:
        from .errors import ModelInputError

        roi = next((r for r in case.rois if r.id == roi_id), None)
        if roi is None:
            raise ModelInputError(None, f"the case has no ROI {roi_id} (ROIs: {[r.id for r in case.rois]})")
        values.update({k: v for k, v in roi.measurements.items() if k != _SETTINGS_KEY})
        sha = roi.measurements.get(_SETTINGS_KEY)
    if sha is None:
        steps = [s for s in case.provenance.steps if s.name == "radiomics"]
        sha = steps[-1].parameters.get(_SETTINGS_KEY) if steps else None
    return values, sha if isinstance(sha, str) else None


def apply_model_to_case(doc: dict[str, Any], case: "Case", roi_id: int | None = None) -> ModelOutcome:
    """The model's prediction for ``case``, or every input it lacks (nothing imputed)."""
    from ..errors import SpineMetsError

    outcome = ModelOutcome(name=doc["name"], kind=doc["kind"], demonstration=bool(doc.get("demonstration")),
                           label=doc.get("label", ""), disclaimer=doc.get("disclaimer", ""), roi_id=roi_id)
    try:
        values, sha = case_values(case, roi_id)
    except SpineMetsError as exc:
        outcome.problem = str(exc)
        return outcome
    clinical, features = model_columns(doc)
    outcome.missing = [f"{column} not entered" for column in clinical if values.get(column) is None]
    absent = [name for name in features if values.get(name) is None]
    if absent:
        where = f"ROI {roi_id}'s measurements" if roi_id is not None else "the case (choose an ROI with radiomics)"
        outcome.missing += [f"radiomics feature {name} not in {where}" for name in absent]
    if outcome.missing:
        return outcome
    try:
        if doc["kind"] == "logistic_nomogram":
            from .nomogram import apply_nomogram

            outcome.result = apply_nomogram(doc, values, settings_sha256=sha, source="live case")
        else:
            from .survival import apply_cox

            outcome.result = apply_cox(doc, values, settings_sha256=sha, source="live case")
    except SpineMetsError as exc:
        outcome.problem = str(exc)
    return outcome


def record_model_in_case(case: "Case", outcome: ModelOutcome) -> Finding | None:
    """Replace the case's model-prediction finding with ``outcome``'s (removed when it has no result)."""
    case.findings = [f for f in case.findings if f.name != MODEL_FINDING]
    if outcome.result is None:
        return None
    r = outcome.result
    label = f" [{outcome.label}]" if outcome.label else ""
    if outcome.kind == "logistic_nomogram":
        value: Any = round(float(r["probability"]), 4)
        basis = (f"probability of {r['outcome']} = 1; " + "; ".join(
            f"{t['term']} = {t['value']:.4g} ({t['points']:.1f} points)" for t in r["terms"]))
    else:
        value = {k: round(float(v), 4) for k, v in r["survival_probability"].items()}
        basis = "survival probability; " + "; ".join(
            f"{c['variable']} = {c['value']:.4g} (x{c['hazard_factor']:.2f} hazard)" for c in r["contributions"])
    if r.get("notes"):
        basis += "; notes: " + " | ".join(r["notes"])
    finding = Finding(name=MODEL_FINDING, value=value, basis=basis, source=f"{outcome.name}{label}",
                      disclaimer=outcome.disclaimer or DISCLAIMER)
    case.findings.append(finding)
    case.touch()
    return finding
