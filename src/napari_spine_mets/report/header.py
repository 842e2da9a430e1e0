"""The report's header: who and what the study is, de-identified unless asked otherwise.

The de-identified view (the default) shows no name, patient ID, birth date, UIDs or
file paths: the case keeps those apart (:class:`~napari_spine_mets.volume.PatientIdentity`,
``identity.json``) and so does the report. Age and sex come from the clinical entries,
else from the image header, and say which.
"""

from __future__ import annotations

import dataclasses

from ..case import Case
from ..volume import Volume
from .model import ReportTable
from .text import DASH, clean, fmt

__all__ = ["header_lines", "clinical_table"]

_NOT_RECORDED = "not recorded in the case"


def header_lines(case: Case, volume: Volume | None, *, identified: bool) -> list[tuple[str, str]]:
    """(label, value) lines: patient, age, sex, study and acquisition, case ID."""
    meta = volume.metadata if volume is not None else None
    lines: list[tuple[str, str]] = []
    if identified:
        ident = meta.identity if meta is not None else None
        lines += [("Patient name", clean(ident.name) if ident and ident.name else _NOT_RECORDED),
                  ("Patient ID", clean(ident.patient_id) if ident and ident.patient_id else _NOT_RECORDED),
                  ("Birth date", clean(ident.birth_date) if ident and ident.birth_date else _NOT_RECORDED)]
    else:
        lines.append(("Patient", "de-identified report (no name, ID, birth date, UIDs or paths)"))
    lines.append(("Age", _age(case, meta)))
    lines.append(("Sex", _sex(case, meta)))
    if meta is None:
        lines.append(("Study", "no image in the case"))
    else:
        assert volume is not None
        lines.append(("Series", " / ".join(x for x in (clean(meta.modality), clean(meta.series_description),
                                                         clean(meta.manufacturer)) if x) or _NOT_RECORDED))
        lines.append(("Acquisition", f"tube voltage {fmt(meta.kvp, 0) + ' kVp' if meta.kvp else 'not recorded'}; "
                                     f"contrast {clean(meta.contrast_agent) or 'not recorded'}; "
                                     f"kernel {clean(meta.convolution_kernel) or 'not recorded'}"))
        spacing = " x ".join(f"{s:.2f}" for s in volume.spacing)
        lines.append(("Grid", f"{' x '.join(map(str, volume.shape))} voxels (z, y, x), {spacing} mm"))
        if identified:
            lines.append(("Study UID", clean(meta.study_instance_uid) or _NOT_RECORDED))
            lines.append(("Series UID", clean(meta.series_instance_uid) or _NOT_RECORDED))
            lines.append(("Image source", clean(meta.source) or _NOT_RECORDED))
    lines.append(("Case ID", f"{case.case_id} (random identifier of the case, not of the patient)"))
    return lines


def _age(case: Case, meta: object) -> str:
    if case.clinical.age_years is not None:
        return f"{fmt(case.clinical.age_years)} years (clinical entry)"
    age = getattr(meta, "patient_age_years", None)
    return f"{fmt(age)} years (image header)" if age is not None else _NOT_RECORDED


def _sex(case: Case, meta: object) -> str:
    if case.clinical.sex:
        return f"{clean(case.clinical.sex)} (clinical entry)"
    sex = getattr(meta, "patient_sex", "")
    return f"{clean(sex)} (image header)" if sex else _NOT_RECORDED


def clinical_table(case: Case) -> ReportTable:
    """The clinical entries as entered (units in the names); a row saying so when there are none."""
    table = ReportTable(key="clinical", title="Clinical entries", columns=["Entry", "Value"], widths=[2.0, 5.0])
    for f in dataclasses.fields(case.clinical):
        if f.name == "extras":
            continue
        value = getattr(case.clinical, f.name)
        if value is not None and value != "":
            table.rows.append([f.name, fmt(value)])
    for key, value in sorted(case.clinical.extras.items()):
        table.rows.append([clean(key), fmt(value)])
    if not table.rows:
        table.rows.append([DASH, "no clinical entries in the case"])
    table.notes.append("As entered by the user or given with the study; nothing is inferred.")
    return table
