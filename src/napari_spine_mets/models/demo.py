"""The demonstration models: fitted deterministically on synthetic cohorts the project generates.

No published coefficients exist in the project's sources and none are invented; these
models only show what the pipeline produces. Each file says "demonstration — not for
clinical use" (``label``), and so does every output made with it.

Rebuild the shipped files with ``python -m napari_spine_mets.models.demo``.
"""

from __future__ import annotations

import logging
from os import PathLike
from pathlib import Path
from typing import Any

from .model_file import load_model, save_model

__all__ = ["DEMO_DIR", "DEMO_NOMOGRAM", "DEMO_SURVIVAL", "DEMO_FEATURE_SETTINGS", "build_demo_nomogram",
           "build_demo_survival", "write_demo_models", "load_demo"]

log = logging.getLogger(__name__)

DEMO_DIR = Path(__file__).resolve().parent / "demo"
DEMO_NOMOGRAM = DEMO_DIR / "demo_nomogram.json"
DEMO_SURVIVAL = DEMO_DIR / "demo_survival.json"
#: The (fictitious) settings the synthetic features stand for: a case must present the same.
DEMO_FEATURE_SETTINGS: dict[str, Any] = {
    "extractor": "synthetic (napari_spine_mets.models.synthetic_cohort)",
    "images": ["T1WI", "T2WI", "fat-suppressed T2WI"],
    "resampled_spacing_mm": [1.0, 1.0, 1.0],
    "bin_width": 25,
    "normalise": True,
}
_CREATED = "deterministic build (napari_spine_mets.models.demo)"


def build_demo_nomogram() -> dict[str, Any]:
    """The demonstration Radscore + age > 60 + ALP > 120 nomogram, with synthetic validation."""
    from .nomogram import evaluate_nomogram, fit_nomogram, validation_summary
    from .synthetic_cohort import logistic_cohort
    from .table import parse_term

    train, _ = logistic_cohort(300, seed=101)
    valid, _ = logistic_cohort(300, seed=102)
    train = train.drop(columns=["ca125_u_per_ml", "posterior_involvement"])
    doc = fit_nomogram(train, outcome="outcome", clinical=[parse_term("age_years>60"), parse_term("alp_u_per_l>120")],
                       name="Demonstration nomogram (synthetic cohort): metastatic vs primary tumour, "
                            "Radscore + age>60 + ALP>120",
                       feature_settings=DEMO_FEATURE_SETTINGS, id_column="lesion_id", seed=0,
                       source="synthetic_cohort(seed=101, n=300)", demonstration=True, created=_CREATED)
    report = evaluate_nomogram(doc, valid, id_column="lesion_id", source="synthetic_cohort(seed=102, n=300)")
    doc["validation"] = validation_summary(report)
    return doc


def build_demo_survival() -> dict[str, Any]:
    """The demonstration Cox model (age, Karnofsky, albumin, visceral metastases, tumour volume)."""
    from .survival import evaluate_cox, fit_cox
    from .synthetic_cohort import cox_cohort
    from .table import parse_term

    train, _ = cox_cohort(400, seed=201)
    valid, _ = cox_cohort(400, seed=202)
    terms = [parse_term(c) for c in ("age_years", "karnofsky", "albumin_g_per_l", "visceral_metastases",
                                     "tumour_volume_ml")]
    doc = fit_cox(train, duration="survival_months", event="death", covariates=terms, time_unit="months",
                  name="Demonstration Cox survival model (synthetic cohort)", n_boot=100, seed=0,
                  id_column="patient_id", source="cox_cohort(seed=201, n=400)", demonstration=True, created=_CREATED)
    doc["validation"] = evaluate_cox(doc, valid, id_column="patient_id", source="cox_cohort(seed=202, n=400)",
                                     n_boot=100, seed=0)
    return doc


def write_demo_models(out_dir: str | PathLike[str] = DEMO_DIR) -> list[Path]:
    out_dir = Path(out_dir)
    return [save_model(build_demo_nomogram(), out_dir / DEMO_NOMOGRAM.name),
            save_model(build_demo_survival(), out_dir / DEMO_SURVIVAL.name)]


def load_demo(kind: str = "nomogram") -> dict[str, Any]:
    """The shipped demonstration model (``"nomogram"`` or ``"survival"``)."""
    return load_model(DEMO_NOMOGRAM if kind == "nomogram" else DEMO_SURVIVAL)


if __name__ == "__main__":  # pragma: no cover - regenerates the shipped files
    import logging

    logging.basicConfig(level=logging.INFO)
    for written in write_demo_models():
        logging.getLogger(__name__).info("wrote %s", written)
