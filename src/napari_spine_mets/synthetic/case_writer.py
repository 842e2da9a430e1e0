"""Save a synthetic case: DICOM series, NIfTI ground truth and ``truth.json``.

Files are byte-identical for identical parameters: UIDs are derived from the seed,
dates are fixed, and the JSON is written with sorted keys.
"""

from __future__ import annotations

import json
import logging
from os import PathLike
from pathlib import Path

from .generator import GENERATOR_VERSION, SyntheticCase

__all__ = ["write_synthetic_case"]

log = logging.getLogger(__name__)


def write_synthetic_case(case: SyntheticCase, folder: str | PathLike[str]) -> dict[str, Path]:
    """Write ``case`` under ``folder``; returns the written paths by role.

    Roles: "dicom" (folder of the CT series), "vertebrae", "parts", "lesions", "tissues"
    (NIfTI label maps on the CT grid) and "truth" (JSON: lesions, fracture, vertebrae,
    parameters, generator version).
    """
    from ..io.dicom_write import write_dicom_series
    from ..io.nifti import write_nifti

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    seed = f"napari-spine-mets-synthetic-{GENERATOR_VERSION}-seed-{case.params.seed}"
    dicom = folder / "dicom"
    if dicom.is_dir():  # a smaller earlier case must not leave extra slices behind
        for old in dicom.glob("IM*.dcm"):
            old.unlink()
    write_dicom_series(case.ct, dicom, modality="CT", uid_seed=seed)
    out: dict[str, Path] = {"dicom": dicom}
    maps = {"vertebrae": case.vertebrae, "parts": case.parts, "lesions": case.lesions}
    if case.tissues is not None:
        maps["tissues"] = case.tissues
    for role, labels in maps.items():
        out[role] = write_nifti(labels, folder / f"{role}.nii.gz")
    truth = {
        "generator": "napari_spine_mets.synthetic",
        "generator_version": GENERATOR_VERSION,
        "note": "Synthetic demonstration data; not a patient.",
        "params": case.params.to_json(),
        "shape_zyx": list(case.ct.shape),
        "affine_lps": [[float(v) for v in row] for row in case.ct.affine],
        "lesions": [lesion.to_json() for lesion in case.lesion_truth],
        "fracture": case.fracture_truth.to_json() if case.fracture_truth else None,
        "vertebrae": [v.to_json() for v in case.vertebra_truth],
        "label_names": {
            "vertebrae": {str(k): v for k, v in sorted(case.vertebrae.names.items())},
            "parts": {str(k): v for k, v in sorted(case.parts.names.items())},
            "lesions": {str(k): v for k, v in sorted(case.lesions.names.items())},
        },
    }
    path = folder / "truth.json"
    path.write_text(json.dumps(truth, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    out["truth"] = path
    log.info("synthetic case written to %s", folder)
    return out
