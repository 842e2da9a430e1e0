"""The de-identification profile applied, on request, to every export (SEG, SR, CSV, JSON).

Profile "napari-spine-mets deid 1", a subset of DICOM PS3.15 Annex E's Basic Application
Level Confidentiality Profile suited to derived objects (SEG, SR) and tables:

* PatientName and PatientID are replaced by a pseudonym (default ``ANONYMOUS``);
* other identifiers are removed: birth date/time/name, other IDs and names, address,
  telephone, insurance, military rank, medical record locator, ethnic group, patient
  comments, accession number, study ID, referring/performing/reading/requesting
  physicians, operators, institution name/address/department, station name, admission
  and procedure-step IDs, content creator and verifying observer names; every other
  person name (PN) anywhere is emptied (or ``ANONYMOUS`` where DICOM requires a value);
* private tags are removed;
* dates (DA, and the date part of DT) are either shifted by a fixed number of days
  (the "Modified Dates" option, which keeps intervals between studies) or removed;
* retained on purpose: UIDs (so the SEG/SR still overlay the source series in the PACS:
  "Retain UIDs" option), patient sex, size, weight and age (age above 89 becomes 090Y),
  device identity, and descriptions (which may still hold free text: review them).

Burned-in text in pixel data is not examined (SEG/SR carry no such pixels). The applied
options are recorded in the standard attributes PatientIdentityRemoved,
DeidentificationMethod and DeidentificationMethodCodeSequence.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

__all__ = ["PROFILE_NAME", "DeidProfile", "deidentify_dataset", "deidentify_record", "find_phi"]

log = logging.getLogger(__name__)

PROFILE_NAME = "napari-spine-mets deid 1"

_REPLACE_WITH_PSEUDONYM = ("PatientName", "PatientID")
_REMOVE = (
    "PatientBirthDate", "PatientBirthTime", "PatientBirthName", "PatientMotherBirthName",
    "OtherPatientIDs", "OtherPatientIDsSequence", "OtherPatientNames", "PatientAddress",
    "PatientTelephoneNumbers", "PatientTelecomInformation", "PatientInsurancePlanCodeSequence",
    "MilitaryRank", "BranchOfService", "MedicalRecordLocator", "EthnicGroup", "PatientComments",
    "AdditionalPatientHistory", "PatientReligiousPreference", "IssuerOfPatientID",
    "AccessionNumber", "StudyID", "ReferringPhysicianName", "ReferringPhysicianAddress",
    "ReferringPhysicianTelephoneNumbers", "PerformingPhysicianName", "NameOfPhysiciansReadingStudy",
    "PhysiciansOfRecord", "OperatorsName", "RequestingPhysician", "ScheduledPerformingPhysicianName",
    "InstitutionName", "InstitutionAddress", "InstitutionalDepartmentName", "StationName",
    "AdmissionID", "PerformedProcedureStepID", "ScheduledProcedureStepID", "RequestedProcedureID",
    "RequestAttributesSequence", "ContentCreatorName", "ReferencedPatientSequence",
    "OriginalAttributesSequence", "ResponsiblePerson", "ResponsibleOrganization",
)
#: Type 1 person names (DICOM requires a value): replaced, not emptied.
_TYPE1_PERSON_NAMES = ("PersonName", "VerifyingObserverName")


@dataclass(frozen=True)
class DeidProfile:
    """Options of the profile: the pseudonym and what happens to dates."""

    pseudonym: str = "ANONYMOUS"
    #: None: remove dates; an integer: shift every date by that many days (keep it secret).
    date_shift_days: int | None = None

    def describe(self) -> str:
        dates = "dates removed" if self.date_shift_days is None else "dates shifted"
        return f"{PROFILE_NAME}: PS3.15 basic profile subset; UIDs retained; {dates}"

    def shift_date(self, value: str) -> str:
        """A DA value shifted by the profile (or '' when dates are removed or unreadable)."""
        value = value.strip()
        if self.date_shift_days is None or not re.fullmatch(r"\d{8}", value):
            return ""
        try:
            day = date(int(value[:4]), int(value[4:6]), int(value[6:]))
        except ValueError:
            return ""
        return (day + timedelta(days=self.date_shift_days)).strftime("%Y%m%d")


def deidentify_dataset(ds: Any, profile: DeidProfile) -> Any:
    """Apply the profile to a pydicom Dataset in place (recursively) and return it."""
    from pydicom.dataset import Dataset

    ds.remove_private_tags()
    _clean(ds, profile, top=True)
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = profile.describe()[:64]
    codes_ = [("113100", "Basic Application Confidentiality Profile"), ("113110", "Retain UIDs Option"),
              ("113108", "Retain Patient Characteristics Option"), ("113109", "Retain Device Identity Option")]
    if profile.date_shift_days is not None:
        codes_.append(("113107", "Retain Longitudinal Temporal Information Modified Dates Option"))
    items = []
    for value, meaning in codes_:
        item = Dataset()
        item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, "DCM", meaning
        items.append(item)
    ds.DeidentificationMethodCodeSequence = items
    return ds


def _clean(ds: Any, profile: DeidProfile, top: bool) -> None:
    for keyword in _REPLACE_WITH_PSEUDONYM:
        if keyword in ds:
            setattr(ds, keyword, profile.pseudonym)
    for keyword in _REMOVE:
        if keyword in ds:
            delattr(ds, keyword)
    if top:
        for keyword in ("PatientBirthDate", "ReferringPhysicianName", "AccessionNumber", "StudyID"):
            setattr(ds, keyword, "")  # type 2 in most IODs: present but empty
        age = str(ds.get("PatientAge", "") or "")
        if re.fullmatch(r"\d{3}Y", age) and int(age[:3]) > 89:
            ds.PatientAge = "090Y"
    for element in list(ds):
        if element.VR == "SQ":
            for item in element.value:
                _clean(item, profile, top=False)
        elif element.VR == "PN" and element.keyword not in _REPLACE_WITH_PSEUDONYM:
            element.value = "ANONYMOUS" if element.keyword in _TYPE1_PERSON_NAMES else ""
        elif element.VR == "DA" and element.value:
            values = element.value if element.VM > 1 else [element.value]
            shifted = [profile.shift_date(str(v)) for v in values]
            element.value = shifted if element.VM > 1 else shifted[0]
        elif element.VR == "DT" and element.value:
            text = str(element.value)
            day = profile.shift_date(text[:8])
            element.value = day + text[8:] if day else ""


def deidentify_record(record: dict[str, Any], profile: DeidProfile) -> dict[str, Any]:
    """A copy of a table row / JSON dict with the same profile applied to its known fields."""
    out = dict(record)
    for key in ("patient_name", "patient_id"):
        if key in out:
            out[key] = profile.pseudonym
    for key in ("patient_birth_date", "accession_number", "institution_name", "referring_physician"):
        out.pop(key, None)
    for key in ("study_date", "series_date"):
        if key in out and out[key]:
            out[key] = profile.shift_date(str(out[key]))
    return out


def find_phi(ds: Any, needles: Iterable[str]) -> list[str]:
    """Keywords (paths) of elements anywhere in ``ds`` whose value contains one of ``needles``.

    A check, not a guarantee: used by tests and by :func:`deidentify_dataset`'s callers to
    verify that known identifiers (name, ID, birth date) are gone from an output.
    """
    wanted = [n.strip().lower() for n in needles if n and n.strip()]
    hits: list[str] = []

    def walk(node: Any, path: str) -> None:
        for element in node:
            name = f"{path}{element.keyword or element.tag}"
            if element.VR == "SQ":
                for i, item in enumerate(element.value):
                    walk(item, f"{name}[{i}].")
                continue
            value = element.value
            if isinstance(value, (bytes, bytearray)):
                text = bytes(value[:65536]).decode("latin-1").lower()
            else:
                text = str(value).lower()
            if any(n in text for n in wanted):
                hits.append(name)

    if getattr(ds, "file_meta", None) is not None:
        walk(ds.file_meta, "file_meta.")
    walk(ds, "")
    return hits
