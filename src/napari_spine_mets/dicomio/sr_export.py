"""The case's measurements as a DICOM Structured Report (TID 1500 Measurement Report).

Built with highdicom's Comprehensive 3D SR: one measurement group (TID 1501) per vertebral
level (trabecular HU, scores and flags at that level, finding site = the level's SNOMED CT
code), one per lesion (volume), and one for case-level findings. Trabecular HU is coded
as DCM 112031 "Attenuation Coefficient" with derivation SCT "Mean" in UCUM [hnsf'U];
lesion volume as SCT 118565006 "Volume" in mm3; scores without a standard code get a
local code (scheme 99NSM, see :mod:`.codes`). Yes/no flags become qualitative
evaluations (SCT Yes/No). Text-valued findings (e.g. a Bilsky grade) have no numeric
value and no standard coded value: they stay in the CSV/JSON export and are counted in
the log. The report is marked not complete, not verified: decision support, not a diagnosis.
"""

from __future__ import annotations

import logging
from os import PathLike
from pathlib import Path
from typing import Any

from .. import __version__
from ..case import Case
from .deidentify import DeidProfile
from .errors import DicomExportError
from .export_file import source_series_of, write_dataset
from .measurements import is_reportable_lesion, measurement_rows
from .source_series import SourceSeries

__all__ = ["export_sr", "build_sr", "HU_FINDING"]

log = logging.getLogger(__name__)

#: The finding name of per-level trabecular HU in the case (see measure.hu_roi).
HU_FINDING = "trabecular_hu"
DEVICE_UID_SEED = "napari-spine-mets/device"


def export_sr(
    case: Case,
    source: str | PathLike[str] | SourceSeries,
    out_path: str | PathLike[str],
    *,
    series: str | None = None,
    deidentify: DeidProfile | None = None,
    series_number: int = 400,
    uid_seed: str | None = None,
) -> Path:
    """Write the TID 1500 SR of ``case`` (referencing the ``source`` series) at ``out_path``."""
    src = source_series_of(source, series)
    sr = build_sr(case, src, series_number=series_number, uid_seed=uid_seed)
    out = write_dataset(sr, out_path, deidentify)
    log.info("wrote SR with %d measurement group(s) to %s", _n_groups(sr), out.name)
    return out


def _n_groups(sr: Any) -> int:
    return sum(1 for item in sr.ContentSequence if item.ConceptNameCodeSequence[0].CodeValue == "126010")


def build_sr(case: Case, src: SourceSeries, *, series_number: int = 400, uid_seed: str | None = None) -> Any:
    """The highdicom Comprehensive3DSR dataset for ``case`` (not yet written)."""
    import highdicom as hd
    from pydicom.sr.codedict import codes
    from pydicom.uid import generate_uid

    uid = (lambda *p: str(generate_uid(entropy_srcs=[uid_seed, *p]))) if uid_seed else (lambda *_: str(generate_uid()))
    groups = _groups(case, uid)
    if not groups:
        raise DicomExportError(None, "the case has no numeric measurements or flags to report")
    device = hd.sr.DeviceObserverIdentifyingAttributes(
        uid=str(generate_uid(entropy_srcs=[DEVICE_UID_SEED])), name="napari-spine-mets",
        manufacturer_name="napari-spine-mets", model_name="napari-spine-mets", serial_number="none",
    )
    context = hd.sr.ObservationContext(
        observer_device_context=hd.sr.ObserverContext(observer_type=codes.DCM.Device, observer_identifying_attributes=device)
    )
    report = hd.sr.MeasurementReport(
        observation_context=context,
        procedure_reported=codes.LN.CTUnspecifiedBodyRegion,
        imaging_measurements=groups,
    )
    sr = hd.sr.Comprehensive3DSR(
        evidence=src.datasets,
        content=report,
        series_instance_uid=uid("sr-series", src.series_uid),
        series_number=series_number,
        sop_instance_uid=uid("sr-sop", src.series_uid, case.case_id),
        instance_number=1,
        manufacturer="napari-spine-mets",
        is_complete=False,
        is_final=False,
        is_verified=False,
    )
    sr.SeriesDescription = "napari-spine-mets measurements (decision support)"
    sr.SoftwareVersions = str(__version__)
    return sr


def _groups(case: Case, uid: Any) -> list[Any]:
    import highdicom as hd
    from pydicom.sr.codedict import codes

    from .codes import level_code, local_code, ucum_unit

    by_level: dict[str, tuple[list[Any], list[Any]]] = {}
    skipped = 0
    for row in measurement_rows(case):
        if row["kind"] != "finding":
            continue
        value = row["value"]
        measurements, evaluations = by_level.setdefault(row["level"], ([], []))
        if isinstance(value, bool):
            answer = codes.SCT.Yes if value else codes.SCT.No
            evaluations.append(hd.sr.QualitativeEvaluation(name=local_code(row["name"]), value=answer))
        elif isinstance(value, (int, float)):
            if row["name"] == HU_FINDING:
                measurements.append(hd.sr.Measurement(
                    name=codes.DCM.AttenuationCoefficient, value=float(value), unit=codes.UCUM.HounsfieldUnit,
                    derivation=codes.SCT.Mean,
                ))
            else:
                measurements.append(hd.sr.Measurement(name=local_code(row["name"]), value=float(value), unit=ucum_unit(row["unit"])))
        else:
            skipped += 1
    if skipped:
        log.info("%d text-valued or empty finding(s) left out of the SR (they are in the CSV/JSON)", skipped)
    groups = []
    for level, (measurements, evaluations) in sorted(by_level.items()):
        if not measurements and not evaluations:
            continue
        site = level_code(level) if level else None
        groups.append(hd.sr.MeasurementsAndQualitativeEvaluations(
            tracking_identifier=hd.sr.TrackingIdentifier(uid=uid("group", level), identifier=f"level {level}" if level else "case"),
            finding_sites=[hd.sr.FindingSite(site)] if site is not None else None,
            measurements=measurements or None,
            qualitative_evaluations=evaluations or None,
        ))
    for lesion in case.lesions:
        if lesion.volume_mm3 is None or not is_reportable_lesion(lesion.status):
            continue
        site = level_code(lesion.level) if lesion.level else None
        groups.append(hd.sr.MeasurementsAndQualitativeEvaluations(
            tracking_identifier=hd.sr.TrackingIdentifier(
                uid=uid("lesion", str(lesion.id)),
                identifier=f"lesion {lesion.id} ({lesion.kind.value}, {lesion.status.value})"),
            finding_type=codes.SCT.Lesion,
            finding_sites=[hd.sr.FindingSite(site)] if site is not None else None,
            measurements=[hd.sr.Measurement(name=codes.SCT.Volume, value=float(lesion.volume_mm3), unit=codes.UCUM.CubicMillimeter)],
        ))
    return groups
