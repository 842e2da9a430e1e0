"""Shared inputs of the dicomio tests: a small synthetic case written as DICOM, with known identity."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from napari_spine_mets.synthetic import LesionSpec, SpineParams, generate_spine_ct
from napari_spine_mets.volume import LabelMap, PatientIdentity

#: Identifiers written into the synthetic DICOM, so de-identification can be checked.
NAME, PATIENT_ID, BIRTH_DATE = "DOE^JANE", "PID-4711-XYZ", "19470315"
STUDY_DATE = "20000101"  # the writer's fixed date


def write_case(folder: Path, seed: str = "dicomio-tests", study_uid: str | None = None, modality: str = "CT"):
    """(synthetic case, DICOM folder, label maps on the grid read back from the DICOM)."""
    from napari_spine_mets.io.dicom import read_dicom_series
    from napari_spine_mets.io.dicom_write import write_dicom_series

    case = generate_spine_ct(SpineParams(levels=("L1", "L2", "L3"), spacing_mm=(2.5, 1.2, 1.2), fov_mm=200,
                                         lesions=(LesionSpec("L2"),), fracture=None))
    metadata = dataclasses.replace(case.ct.metadata, identity=PatientIdentity(NAME, PATIENT_ID, BIRTH_DATE))
    ct = dataclasses.replace(case.ct, metadata=metadata)
    dicom = folder / "dicom"
    write_dicom_series(ct, dicom, modality=modality, uid_seed=seed, study_uid=study_uid)
    read = read_dicom_series(dicom)
    maps = {m.name: LabelMap(array=m.array, affine=read.affine, names=dict(m.names), name=m.name, source=m.source)
            for m in (case.vertebrae, case.parts, case.lesions)}
    return case, dicom, maps, read
