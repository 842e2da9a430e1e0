"""Shared by the cohort tests: a small synthetic cohort on disk (built once per session).

Tiny studies (two lumbar levels, 3 mm slices, 160 mm field of view) with their synthetic
vertebra/parts labels as the given label source (segmentation weights may not exist),
one deliberately corrupt study, and a CSV manifest with clinical columns.
"""

from __future__ import annotations

import csv
from pathlib import Path

N_STUDIES = 20
CORRUPT = "study07"
#: Cheap radiomics (first order + shape) so a 20-study cohort runs in seconds on 2 cores.
FAST_RADIOMICS = {"features": {"firstorder": None, "shape": None}}


def fast_settings(**kwargs):
    from napari_spine_mets.cohort.settings import PipelineSettings
    from napari_spine_mets.radiomics.settings import RadiomicsSettings

    return PipelineSettings(radiomics=RadiomicsSettings(**FAST_RADIOMICS).to_dict(), **kwargs)


def ensure_cohort(base: Path, n: int = N_STUDIES) -> Path:
    """Write the cohort under ``base`` unless it is already there; returns the manifest path."""
    from napari_spine_mets.synthetic import SpineParams, generate_spine_ct, write_synthetic_case

    manifest = base / "manifest.csv"
    if manifest.is_file():
        return manifest
    rows = []
    for i in range(n):
        sid = f"study{i:02d}"
        params = SpineParams(seed=i, levels=("L1", "L2"), spacing_mm=(3.0, 1.5, 1.5), fov_mm=160, lesions=(),
                             fracture=None, age_years=50 + i)
        write_synthetic_case(generate_spine_ct(params), base / sid)
        rows.append({"study_id": sid, "path": f"{sid}/dicom", "labels": f"{sid}/vertebrae.nii.gz",
                     "parts": f"{sid}/parts.nii.gz", "age_years": 50 + i, "alp_u_per_l": 80 + 7 * i,
                     "centre": "A" if i % 2 else "B", "outcome": i % 2})
    for f in sorted((base / CORRUPT / "dicom").glob("*.dcm")):  # every slice cut short: unreadable
        f.write_bytes(f.read_bytes()[:300])
    tmp = manifest.with_suffix(".tmp")
    with tmp.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    tmp.rename(manifest)
    return manifest


def local_client(n_workers: int):
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None,
                           host="127.0.0.1")
    return Client(cluster), cluster
