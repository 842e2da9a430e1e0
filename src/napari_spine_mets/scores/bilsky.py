"""Epidural spinal cord compression: the Bilsky (ESCC) grade as an entry, and a CT estimate.

Grade: Bilsky MH, Laufer I, Fourney DR, et al. Reliability analysis of the epidural spinal
cord compression scale. J Neurosurg Spine 2010;13(3):324-328. doi:10.3171/2010.3.SPINE09459.
Six grades on axial T2 MRI at the level of worst compression: 0 bone only; 1a epidural
impingement without thecal-sac deformation; 1b thecal sac deformed, cord not abutted;
1c cord abutted, not compressed; 2 cord compressed, CSF visible; 3 cord compressed, no
CSF. Low grade 0-1b, high grade 2-3 (clinical-reference.md). Grade 1c is left unassigned:
sources differ (some treat it as debated, some group it with high grade, e.g. Hallinan
et al., Cancers 2022;14:4231).

CT estimate: CT does not show the cord and CSF as MRI does, so the grade itself cannot be
read from a canal segmentation. What CT can measure is the remaining canal area at the
lesion level against the mean of the levels above and below. The ratio -> grade mapping
in :data:`CT_RATIO_BANDS` is a **project heuristic** (no published mapping was found),
labelled "CT estimate" everywhere it appears; it proposes a range of grades to look for
on MRI, never a grade.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from ..anatomy import LEVELS, VertebraPart, level_of_label
from .result import Basis, Measurement, ScoreInputError, ScoreItem, ScoreResult, Threshold, choose, require_number

__all__ = [
    "CITATION",
    "GRADES",
    "CT_RATIO_BANDS",
    "bilsky_grade",
    "bilsky_ct_estimate",
    "CanalArea",
    "measure_canal_areas",
    "bilsky_ct_estimate_from_labels",
]

log = logging.getLogger(__name__)

CITATION = (
    "Bilsky MH, Laufer I, Fourney DR, et al. Reliability analysis of the epidural spinal cord "
    "compression scale. J Neurosurg Spine 2010;13(3):324-328. doi:10.3171/2010.3.SPINE09459"
)

GRADES: dict[str, str] = {
    "0": "bone-only disease",
    "1a": "epidural impingement, no deformation of the thecal sac",
    "1b": "deformation of the thecal sac, no abutment of the cord",
    "1c": "deformation of the thecal sac, cord abutted but not compressed",
    "2": "cord compressed, CSF still visible around the cord",
    "3": "cord compressed, no CSF visible around the cord",
}
_ORDER = {grade: index for index, grade in enumerate(GRADES)}

#: Project heuristic (not published): (ratio at or above, what the CT estimate says).
CT_RATIO_BANDS: tuple[tuple[float, str], ...] = (
    (0.90, "no measurable canal narrowing (CT estimate: consistent with grade 0-1a)"),
    (0.75, "mild canal narrowing (CT estimate: consider grade 1b-1c)"),
    (0.50, "moderate canal narrowing (CT estimate: consider grade 1c-2)"),
    (0.00, "severe canal narrowing (CT estimate: consider grade 2-3)"),
)
_HEURISTIC_NOTE = ("CT estimate: the ratio-to-grade bands are a project heuristic, not a published table; "
                   "grade epidural compression on axial T2 MRI")


def _grade_band(grade: str) -> str:
    if grade in ("0", "1a", "1b"):
        return "low grade (0-1b)"
    if grade in ("2", "3"):
        return "high grade (2-3)"
    return "1c: neither low nor high grade in the reference; sources differ"


def bilsky_grade(grade: str | int | None, level: str | None = None) -> ScoreResult:
    """The Bilsky grade a reader entered (from MRI), with its meaning and band."""
    text = str(grade).strip().lower() if grade is not None else None
    choice, index = choose("Bilsky grade", text, _ORDER)
    flags = []
    if choice in ("2", "3"):
        flags.append("high-grade epidural spinal cord compression: usually prompts surgical consideration")
    if choice == "3":
        flags.append("grade 3 is time-critical: weakness may follow within weeks (clinical-reference.md)")
    item = ScoreItem("Bilsky grade", choice, None, Basis.ENTRY, GRADES[choice])
    return ScoreResult(name="Bilsky/ESCC grade", total=choice, unit="", band=_grade_band(choice), items=[item],
                       flags=flags, citation=CITATION, level=level.strip().upper() if level else None,
                       notes=["graded on axial T2-weighted MRI at the level of worst compression"])


def bilsky_ct_estimate(
    *,
    lesion_area_mm2: float | None,
    above_area_mm2: float | None,
    below_area_mm2: float | None,
    level: str | None = None,
    measurements: tuple[Measurement, ...] = (),
) -> ScoreResult:
    """CT estimate from canal areas: remaining area at the lesion level / mean of the levels above and below.

    One neighbour may be missing (end of the scan); the ratio then uses the other and says
    so. Both missing is an error: there is nothing to compare against.
    """
    area = require_number("canal area at the lesion level", lesion_area_mm2, minimum=0.0, maximum=2000.0,
                          unit="mm2")
    neighbours = {}
    for name, value in (("above", above_area_mm2), ("below", below_area_mm2)):
        if value is not None:
            neighbours[name] = require_number(f"canal area of the level {name}", value, minimum=0.0,
                                              maximum=2000.0, unit="mm2")
            if neighbours[name] == 0.0:
                raise ScoreInputError(f"canal area of the level {name} is 0 mm2: no canal was measured there")
    if not neighbours:
        raise ScoreInputError("the CT estimate needs the canal area of the level above or below (or both)")
    reference = float(np.mean(list(neighbours.values())))
    ratio = round(area / reference, 6)
    band = next(text for cutoff, text in CT_RATIO_BANDS if ratio >= cutoff)
    items = [ScoreItem("canal area ratio", f"{ratio:.2f}", None, Basis.IMAGE,
                       f"{area:.0f} mm2 / mean of {' and '.join(neighbours)} {reference:.0f} mm2",
                       measurements or (Measurement("canal area at lesion level", area, "mm2"),
                                        *(Measurement(f"canal area {k}", v, "mm2") for k, v in neighbours.items())))]
    thresholds = [Threshold(f"heuristic band boundary {cutoff:.2f}", cutoff, "ratio", "<", ratio < cutoff,
                            "project heuristic") for cutoff, _ in CT_RATIO_BANDS[:-1]]
    notes = [_HEURISTIC_NOTE]
    if len(neighbours) == 1:
        notes.append(f"only the level {next(iter(neighbours))} was available for comparison")
    flags = []
    if ratio < CT_RATIO_BANDS[2][0]:
        flags.append("CT estimate suggests marked canal narrowing: check for high-grade compression on MRI")
    return ScoreResult(name="Bilsky/ESCC CT estimate", total=ratio, unit="canal area ratio", band=band,
                       items=items, thresholds=thresholds, flags=flags, citation=CITATION + " (grade definitions)",
                       notes=notes, level=level.strip().upper() if level else None)


# ---------------------------------------------------------------------------- measuring
@dataclass(frozen=True)
class CanalArea:
    """Axial canal area of one level: median over the slices assigned to that level."""

    level: str
    median_mm2: float
    n_slices: int


def measure_canal_areas(parts: object, vertebrae: object) -> dict[str, CanalArea]:
    """Canal area per level from a parts LabelMap (CANAL and CORD) and a vertebrae LabelMap.

    Each axial slice goes to the vertebra with the most voxels in it; the canal area of
    the slice (canal + cord voxels x pixel area) is counted for that level, and each level
    reports the median over its slices. Areas are axial, not perpendicular to the canal:
    obliquity inflates them alike at neighbouring levels, which the ratio partly cancels.
    """
    parts_array = np.asarray(getattr(parts, "array", None))
    vert_array = np.asarray(getattr(vertebrae, "array", None))
    if parts_array.ndim != 3 or vert_array.ndim != 3:
        raise ScoreInputError("canal measurement needs two 3D label maps (parts and vertebrae)")
    if parts_array.shape != vert_array.shape or not np.allclose(parts.affine, vertebrae.affine):  # type: ignore[attr-defined]
        raise ScoreInputError(f"parts {parts_array.shape} and vertebrae {vert_array.shape} label maps are not on "
                              "the same voxel grid: resample one onto the other first")
    _, sy, sx = parts.spacing  # type: ignore[attr-defined]
    pixel_mm2 = float(sy) * float(sx)
    canal = np.isin(parts_array, (int(VertebraPart.CANAL), int(VertebraPart.CORD)))
    per_level: dict[str, list[float]] = {}
    for z in range(parts_array.shape[0]):
        n_canal = int(canal[z].sum())
        if n_canal == 0:
            continue
        labels, counts = np.unique(vert_array[z][vert_array[z] > 0], return_counts=True)
        levels = [(int(c), level_of_label(int(lab))) for lab, c in zip(labels, counts) if level_of_label(int(lab))]
        if not levels:
            continue
        level = max(levels)[1]
        per_level.setdefault(level, []).append(n_canal * pixel_mm2)  # type: ignore[arg-type]
    result = {level: CanalArea(level, float(np.median(areas)), len(areas)) for level, areas in per_level.items()}
    log.info("canal areas measured at %s", ", ".join(sorted(result, key=LEVELS.index)))
    return dict(sorted(result.items(), key=lambda kv: LEVELS.index(kv[0])))


def bilsky_ct_estimate_from_labels(parts: object, vertebrae: object, level: str) -> ScoreResult:
    """Measure canal areas and return the CT estimate at ``level`` against its measured neighbours."""
    key = level.strip().upper()
    if key not in LEVELS:
        raise ScoreInputError(f"level {level!r} is not a vertebral level: accepted are {', '.join(LEVELS)}")
    areas = measure_canal_areas(parts, vertebrae)
    if key not in areas:
        raise ScoreInputError(f"no canal was measured at {key}: measured levels are "
                              f"{', '.join(areas) or 'none'}")
    index = LEVELS.index(key)
    above = areas.get(LEVELS[index - 1]) if index > 0 else None
    below = areas.get(LEVELS[index + 1]) if index + 1 < len(LEVELS) else None
    source = getattr(parts, "source", "") or "parts label map"
    measurements = [Measurement(f"canal area {key} (median of {areas[key].n_slices} slices)",
                                areas[key].median_mm2, "mm2", source)]
    for neighbour in (above, below):
        if neighbour is not None:
            measurements.append(Measurement(f"canal area {neighbour.level} (median of {neighbour.n_slices} slices)",
                                            neighbour.median_mm2, "mm2", source))
    return bilsky_ct_estimate(lesion_area_mm2=areas[key].median_mm2,
                              above_area_mm2=above.median_mm2 if above else None,
                              below_area_mm2=below.median_mm2 if below else None,
                              level=key, measurements=tuple(measurements))
