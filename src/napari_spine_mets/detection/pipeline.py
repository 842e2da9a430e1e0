"""``detect_lesions``: CT + vertebra labels -> lesion instances, per-lesion and per-vertebra records.

Steps (each module says why it does what it does): input checks (:mod:`.inputs`), the bone
grid (:mod:`.bone_grid`), the patient's normal bone (:mod:`.normal_bone`), candidates
(:mod:`.candidates`), kind (:mod:`.classify`), measurements (:mod:`.describe`), fractures
(:mod:`.fracture`). Vectorised numpy/scipy on the CPU: a thoracolumbar CT takes about a
second or two, so no GPU path is needed (see docs/lesions.md for measured times).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..case_parts import DISCLAIMER
from ..volume import LabelMap, Volume
from .bone_grid import prepare_bone_grid
from .candidates import CandidateParams, find_candidates
from .classify import ClassifyParams, classify_candidate
from .describe import SOURCE, LesionRecord, describe_candidate
from .fracture import VertebraFracture, assess_fractures
from .inputs import DetectionCancelled, check_inputs
from .normal_bone import NormalBone, estimate_normal_bone
from .regions import vertebra_regions
from .screen import ScreenedCandidate, ScreenParams, screen_candidate

__all__ = ["LesionReport", "detect_lesions", "METHOD_VERSION"]

log = logging.getLogger(__name__)
METHOD_VERSION = "1.2"
Progress = Callable[[float, str], None]


@dataclass
class LesionReport:
    """Everything detection found on one CT; ``labels`` holds lesion ``id``s on the CT's grid."""

    labels: LabelMap
    lesions: list[LesionRecord]
    vertebrae: list[VertebraFracture]
    normal_bone: NormalBone
    parameters: dict[str, Any] = field(default_factory=dict)
    timings_s: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    source: str = SOURCE
    disclaimer: str = DISCLAIMER
    #: Departures from normal bone not proposed as lesions (see :mod:`.screen`), with the reason.
    not_proposed: list[ScreenedCandidate] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "disclaimer": self.disclaimer, "source": self.source, "method_version": METHOD_VERSION,
            "method": "departure of smoothed HU from the patient's own normal bone at the same depth "
                      "(see docs/lesions.md); thresholds are project heuristics",
            "labels_name": self.labels.name,
            "lesions": [r.to_json() for r in self.lesions],
            "not_proposed": [c.to_json() for c in self.not_proposed],
            "vertebrae": [v.to_json() for v in self.vertebrae],
            "normal_bone": self.normal_bone.to_json(), "parameters": self.parameters,
            "timings_s": {k: round(v, 3) for k, v in self.timings_s.items()}, "notes": list(self.notes),
        }


def detect_lesions(volume: Volume, vertebrae: LabelMap | None, parts: LabelMap | None = None,
                   progress: Progress | None = None, cancel: Callable[[], bool] | None = None,
                   candidate_params: CandidateParams = CandidateParams(),
                   classify_params: ClassifyParams = ClassifyParams(),
                   screen_params: ScreenParams = ScreenParams()) -> LesionReport:
    """Find, classify and measure lesions inside the labelled vertebrae and sacrum of a CT.

    Raises :class:`~napari_spine_mets.errors.ModalityError` for MR (or non-HU) input,
    :class:`~napari_spine_mets.errors.GridMismatchError` for labels on another grid,
    :class:`.inputs.NoVertebraError` when no vertebra is labelled, and
    :class:`.inputs.DetectionCancelled` when ``cancel()`` returns True between steps.
    """
    report = progress or (lambda fraction, message: None)
    timings: dict[str, float] = {}
    t = time.perf_counter()

    def step(name: str, fraction: float) -> None:
        nonlocal t
        now = time.perf_counter()
        timings[name] = now - t
        t = now
        if cancel is not None and cancel():
            raise DetectionCancelled("lesion detection cancelled; nothing was changed")
        report(fraction, name)

    present = check_inputs(volume, vertebrae, parts)
    assert vertebrae is not None
    grid = prepare_bone_grid(volume, vertebrae, present)
    step("bone grid", 0.2)
    normal = estimate_normal_bone(grid)
    step("normal bone", 0.35)
    candidates, _, _ = find_candidates(grid, normal, candidate_params)
    step("candidates", 0.6)
    regions = vertebra_regions(grid, vertebrae, parts)
    step("vertebra regions", 0.8)
    records: list[LesionRecord] = []
    screened: list[ScreenedCandidate] = []
    cropped = np.zeros(grid.labels.shape, dtype=np.uint16)
    level_sizes = np.bincount(grid.labels.ravel())  # bone voxels per label, for the whole-level rule
    for cand in sorted(candidates, key=lambda c: tuple(s.start for s in c.mask_box)):
        lesion_id = len(records) + 1
        evidence = classify_candidate(cand, grid, normal, classify_params)
        record = describe_candidate(lesion_id, cand, evidence, grid, regions, volume.affine)
        reason = screen_candidate(cand, grid, regions.get(cand.label), screen_params,
                                  level_voxels=int(level_sizes[cand.label]))
        if reason is not None:
            screened.append(ScreenedCandidate(record.lesion.level, record.lesion.kind.value,
                                              float(record.lesion.volume_mm3 or 0.0), record.centroid_lps_mm, reason,
                                              record.lesion.hu.mean))
            continue
        records.append(record)
        cropped[cand.mask_box][cand.mask] = lesion_id
    in_body: dict[str, list[int]] = {}
    for r in records:
        if r.fraction_in_body and r.lesion.level:
            in_body.setdefault(r.lesion.level, []).append(r.lesion.id)
    fractures = assess_fractures(regions, grid.spacing, in_body)
    step("classify, measure, fractures", 1.0)
    labels = LabelMap(array=grid.full(cropped, volume.shape, np.uint16), affine=volume.affine.copy(),
                      names={r.lesion.id: f"lesion_{r.lesion.id}_{r.lesion.level}_{r.lesion.kind.value}" for r in records},
                      name="lesions", source=SOURCE)
    notes = [n for reg in regions.values() for n in reg.notes]
    if normal.excluded_levels:
        notes.append(f"levels whose bone departs from the others as a whole (pooled reference used): "
                     f"{', '.join(normal.excluded_levels)}")
    if screened:
        notes.append(f"{len(screened)} departure(s) from normal bone not proposed as lesions (see not_proposed)")
    params = {"candidates": candidate_params.to_json(), "classify": classify_params.to_json(),
              "screen": screen_params.to_json(),
              "smoothing_sigma_mm": grid.sigma_mm, "parts_map_used": parts is not None}
    log.info("lesion detection: %d lesion(s), %d departure(s) not proposed, in %.2f s", len(records), len(screened),
             sum(timings.values()))
    return LesionReport(labels, records, fractures, normal, params, timings, notes, not_proposed=screened)
