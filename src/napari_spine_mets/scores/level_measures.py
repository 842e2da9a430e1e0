"""What the images say at each lesion level of a Case: the measurements behind the SINS proposals.

For every vertebral level holding a lesion: which lesions (id, kind, HU, review status),
the fraction of the body and of each side's posterolateral elements (pedicle, facets,
costovertebral region) the lesions replace, the body's height loss against its normal
neighbours, and the CT estimate of canal compromise. Regions and heights come from the
lesion detector's own code (:func:`~napari_spine_mets.detection.regions.vertebra_regions`,
:func:`~napari_spine_mets.detection.fracture.assess_fractures`) and the canal from
:func:`~napari_spine_mets.scores.bilsky.bilsky_ct_estimate_from_labels`, so a proposal and
the detector measure alike; where the detector recorded a level's height loss (finding
``vertebral_height_loss``) that figure is used, so the Scores and Lesions docks agree. Only label maps are read (no HU), so edited labels are
measured as they are now. Nothing here scores: :mod:`.from_case` turns this into proposals.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..anatomy import LEVELS, level_of_label
from ..case_parts import LesionKind, LesionStatus

if TYPE_CHECKING:
    from ..case import Case
    from ..volume import LabelMap
    from .result import ScoreResult

__all__ = ["ROLE_NAMES", "LesionAtLevel", "LevelMeasures", "CaseLevels", "find_label_map", "measure_levels"]

log = logging.getLogger(__name__)

#: For each role, the exact label-map names tried first, then (keyword, words to avoid) for other names
#: (layers opened in napari keep their layer name, e.g. "vertebrae (ground truth)").
ROLE_NAMES: dict[str, tuple[tuple[str, ...], str, tuple[str, ...]]] = {
    "vertebrae": (("vertebrae", "totalsegmentator", "levels"), "vertebra", ("part", "lesion")),
    "parts": (("vertebra parts", "parts"), "part", ("lesion",)),
    "lesions": (("lesions",), "lesion", ("roi",)),
}

#: The label names the lesion detector (and the synthetic generator) write: lesion_<id>_<level>_<kind>.
_DETECTOR_NAME = re.compile(r"^lesion_(\d+)_([A-Z]+\d+)_(lytic|blastic|mixed|unknown)$")
_MARGIN = 3
#: The lesion detector's per-level finding (detection.record), in % of the expected height.
HEIGHT_LOSS_FINDING = "vertebral_height_loss"


@dataclass
class LesionAtLevel:
    """One lesion as the SINS proposal reads it."""

    id: int
    level: str
    kind: str  # lytic / blastic / mixed / unknown
    #: Where the kind came from, in words (a lesion record and its status, or the label's name).
    kind_source: str
    status: str = LesionStatus.PROPOSED.value
    hu_mean: float | None = None
    n_voxels: int = 0


@dataclass
class LevelMeasures:
    """Measurements at one lesion level (fractions are 0-1; None = could not be measured)."""

    level: str
    lesions: list[LesionAtLevel] = field(default_factory=list)
    body_fraction: float | None = None
    left_fraction: float | None = None
    right_fraction: float | None = None
    #: Largest of the anterior/middle/posterior height losses against the normal neighbours.
    height_loss: float | None = None
    height_source: str = ""
    genant_grade: int | None = None
    reference_levels: list[str] = field(default_factory=list)
    #: The Bilsky CT estimate at this level, or why it could not be made.
    bilsky: "ScoreResult | None" = None
    bilsky_problem: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def lesion_text(self) -> str:
        """"lesion 1 (lytic), lesion 5 (blastic)": for bases shown to the user."""
        return ", ".join(f"lesion {les.id} ({les.kind})" for les in self.lesions)


@dataclass
class CaseLevels:
    """Every lesion level of a case, and which label maps were read."""

    levels: dict[str, LevelMeasures] = field(default_factory=dict)
    #: role ("vertebrae", "parts", "lesions") -> the case's label-map name used.
    maps_used: dict[str, str] = field(default_factory=dict)
    #: Levels labelled in the vertebra map, cranial to caudal (the scanned range).
    levels_present: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def find_label_map(case: "Case", role: str) -> tuple[str, "LabelMap"] | None:
    """(name, label map) of the case playing ``role`` ("vertebrae", "parts", "lesions"), or None."""
    exact, keyword, avoid = ROLE_NAMES[role]
    for name in exact:
        if name in case.label_maps:
            return name, case.label_maps[name]
    for name, labels in case.label_maps.items():
        low = name.lower()
        if keyword in low and not any(word in low for word in avoid):
            return name, labels
    return None


def _pick(case: "Case", role: str, name: str | None) -> tuple[str, "LabelMap"] | None:
    if name is None:
        return find_label_map(case, role)
    if name not in case.label_maps:
        from ..errors import InputError

        raise InputError(None, f"the case has no label map '{name}' (it has: {', '.join(case.label_maps) or 'none'})")
    return name, case.label_maps[name]


def measure_levels(case: "Case", *, vertebrae: str | None = None, parts: str | None = None,
                   lesions: str | None = None) -> CaseLevels:
    """Measure every lesion level of ``case`` (label maps found by role unless named)."""
    out = CaseLevels()
    picked = {role: _pick(case, role, name) for role, name in
              (("vertebrae", vertebrae), ("parts", parts), ("lesions", lesions))}
    out.maps_used = {role: p[0] for role, p in picked.items() if p is not None}
    vert = picked["vertebrae"][1] if picked["vertebrae"] else None
    part = picked["parts"][1] if picked["parts"] else None
    les = picked["lesions"][1] if picked["lesions"] else None
    for role, labels in (("parts", part), ("lesions", les)):
        if labels is not None and vert is not None and labels.array.shape != vert.array.shape:
            out.notes.append(f"the {role} map '{out.maps_used[role]}' {labels.array.shape} is not on the grid of the "
                             f"vertebra labels {vert.array.shape}: not used")
            if role == "parts":
                part = None
            else:
                les = None
    if vert is None:
        out.notes.append("no vertebra labels in the case: collapse, body and posterolateral involvement cannot be "
                         "measured (run the vertebra segmentation)")
    found = _lesions(case, les, vert, out.notes)
    for lesion in found:
        out.levels.setdefault(lesion.level, LevelMeasures(lesion.level)).lesions.append(lesion)
    out.levels = dict(sorted(out.levels.items(), key=lambda kv: _level_index(kv[0])))
    if vert is not None:
        out.levels_present = sorted({lv for lv in (level_of_label(int(v)) for v in np.unique(vert.array)) if lv},
                                    key=LEVELS.index)
        if out.levels:
            _measure_regions(out, vert, part, les)
    _recorded_height_loss(case, out)
    if not found:
        out.notes.append("no lesion in the case (run lesion detection or draw one): no level to propose SINS for")
    return out


def _level_index(level: str) -> int:
    return LEVELS.index(level) if level in LEVELS else len(LEVELS)


def _lesions(case: "Case", les: "LabelMap | None", vert: "LabelMap | None", notes: list[str]) -> list[LesionAtLevel]:
    """Lesions not rejected: the case's records first, then ids of the lesion map without a record."""
    records = {r.id: r for r in case.lesions}
    rejected = {r.id for r in case.lesions if r.status is LesionStatus.REJECTED}
    overlap: dict[int, str | None] = {}
    counts: dict[int, int] = {}
    if les is not None:
        idx = np.nonzero(les.array)
        ids = les.array[idx].astype(np.int64)
        uniq, n = np.unique(ids, return_counts=True)
        counts = {int(i): int(c) for i, c in zip(uniq, n)}
        if vert is not None:
            overlap = _majority_levels(ids, vert.array[idx].astype(np.int64))
    out = []
    for lesion_id in sorted(set(records) | set(counts)):
        if lesion_id in rejected:
            continue
        record = records.get(lesion_id)
        level = (record.level if record is not None and record.level else None) or overlap.get(lesion_id)
        if not level:
            notes.append(f"lesion {lesion_id} lies outside the labelled vertebrae and has no level: not scored")
            continue
        kind, source = _kind(lesion_id, record, les)
        hu = record.hu.mean if record is not None else None
        status = record.status.value if record is not None else "in the lesion map, no record"
        out.append(LesionAtLevel(lesion_id, level.upper(), kind, source, status, hu, counts.get(lesion_id, 0)))
    return out


def _majority_levels(lesion_ids: np.ndarray, vertebra_ids: np.ndarray) -> dict[int, str | None]:
    """Each lesion's level: the vertebra label holding most of its voxels (None outside every vertebra)."""
    out: dict[int, str | None] = {}
    pairs, n = np.unique(np.stack([lesion_ids, vertebra_ids]), axis=1, return_counts=True)
    best: dict[int, tuple[int, str]] = {}
    for (lesion_id, label), count in zip(pairs.T, n):
        level = level_of_label(int(label))
        if level and count > best.get(int(lesion_id), (0, ""))[0]:
            best[int(lesion_id)] = (int(count), level)
    for lesion_id in np.unique(lesion_ids):
        out[int(lesion_id)] = best[int(lesion_id)][1] if int(lesion_id) in best else None
    return out


def _kind(lesion_id: int, record: Any, les: "LabelMap | None") -> tuple[str, str]:
    if record is not None and record.kind is not LesionKind.UNKNOWN:
        return record.kind.value, f"lesion record ({record.status.value})"
    name = les.names.get(lesion_id, "") if les is not None else ""
    match = _DETECTOR_NAME.match(name)
    if match and match.group(3) != "unknown":
        return match.group(3), f"label name '{name}'"
    return LesionKind.UNKNOWN.value, "not classified"


def _measure_regions(out: CaseLevels, vert: "LabelMap", part: "LabelMap | None", les: "LabelMap | None") -> None:
    """Body/posterolateral fractions, height loss and canal estimate of each lesion level."""
    from ..detection.bone_grid import BoneGrid
    from ..detection.fracture import assess_fractures
    from ..detection.inputs import BONE_LABELS
    from ..detection.regions import vertebra_regions

    bone = np.isin(vert.array, BONE_LABELS)
    if not bone.any():
        out.notes.append(f"'{out.maps_used['vertebrae']}' holds no vertebra label (TotalSegmentator ids 25-50)")
        return
    coords = [np.nonzero(bone.any(axis=tuple(a for a in range(3) if a != axis)))[0] for axis in range(3)]
    box = tuple(slice(max(int(c[0]) - _MARGIN, 0), min(int(c[-1]) + 1 + _MARGIN, n))
                for c, n in zip(coords, vert.array.shape))
    labels = np.where(bone[box], vert.array[box], 0).astype(np.int16)
    empty = np.zeros((0, 0, 0), dtype=np.float32)
    # vertebra_regions reads only the grid's box, labels and spacing: no HU is needed here.
    grid = BoneGrid(box=box, labels=labels, hu=empty, smoothed=empty, depth_mm=empty, spacing=vert.spacing,
                    sigma_mm=0.0)
    by_label = vertebra_regions(grid, vert, part)
    regions = {r.level: r for r in by_label.values()}
    kept = sorted({lesion.id for m in out.levels.values() for lesion in m.lesions})
    lesion_crop = np.isin(les.array[box], kept) if les is not None else np.zeros(labels.shape, dtype=bool)
    in_body: dict[str, list[int]] = {}
    for level, m in out.levels.items():
        region = regions.get(level)
        if region is None:
            m.notes.append(f"{level} is not labelled in '{out.maps_used['vertebrae']}': nothing measured there")
            continue
        m.notes.extend(region.notes)
        if les is None:
            m.notes.append("no lesion map: body and posterolateral involvement not measured")
        else:
            if region.body is not None and region.body.any():
                m.body_fraction = float((lesion_crop & region.body).sum() / region.body.sum())
                if (lesion_crop & region.body).any():
                    in_body[level] = [lesion.id for lesion in m.lesions]
            else:
                m.notes.append(f"no vertebral body found at {level}: body involvement not measured")
            for side in ("left", "right"):
                mask = getattr(region, side)
                value = float((lesion_crop & mask).sum() / mask.sum()) if mask.any() else None
                setattr(m, f"{side}_fraction", value)
                if value is None:
                    m.notes.append(f"no {side} posterolateral bone found at {level}: not measured")
    for record in assess_fractures(by_label, vert.spacing, in_body):
        m = out.levels.get(record.level)
        if m is None:
            continue
        m.height_loss, m.genant_grade, m.reference_levels = record.max_loss, record.genant_grade, record.reference_levels
        m.height_source = "vertebral body heights measured now on the labels"
        if record.note:
            m.notes.append(record.note)
    _canal(out, vert, part)


def _recorded_height_loss(case: "Case", out: CaseLevels) -> None:
    """The lesion detector's recorded height loss (finding "vertebral_height_loss", %) where the case has one."""
    for finding in case.findings:
        m = out.levels.get(str(finding.level))
        if finding.name == HEIGHT_LOSS_FINDING and m is not None and isinstance(finding.value, (int, float)):
            m.height_loss = float(finding.value) / 100.0
            m.height_source = f"finding '{HEIGHT_LOSS_FINDING}' ({finding.basis})"


def _canal(out: CaseLevels, vert: "LabelMap", part: "LabelMap | None") -> None:
    from .bilsky import bilsky_ct_estimate_from_labels
    from .result import ScoreInputError

    for level, m in out.levels.items():
        if part is None:
            m.bilsky_problem = "no vertebra parts map: the canal cannot be measured"
            continue
        try:
            m.bilsky = bilsky_ct_estimate_from_labels(part, vert, level)
        except ScoreInputError as exc:
            m.bilsky_problem = str(exc)
