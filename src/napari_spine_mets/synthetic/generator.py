"""``generate_spine_ct``: build the column, paint every tissue, render the CT, measure the truth."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..anatomy import TOTALSEG_NAMES, VertebraPart
from ..volume import LabelMap, PatientIdentity, Volume, VolumeMetadata
from .anatomy_model import LevelGeometry, build_chain
from .column import draw_column, sacral_segments
from .lesions import draw_lesions
from .neck import draw_neck
from .params import SpineParams
from .render import render_ct
from .ribs_pelvis import draw_pelvis, draw_ribs
from .shapes import Grid
from .shoulder_girdle import draw_shoulder_girdle
from .skull_base import draw_skull_base, paint_brain
from .soft_tissue import Track, draw_soft_tissue, fat_thickness, spine_track
from .tissues import TISSUE_NAMES, hu_table
from .truth import FractureTruth, LesionTruth, VertebraTruth, fracture_truth, lesion_truth, vertebra_truth
from .upper_thorax import draw_upper_thorax
from .vertebra import CaseArrays

__all__ = ["GENERATOR_VERSION", "SyntheticCase", "generate_spine_ct", "PART_NAMES"]

log = logging.getLogger(__name__)

#: Bumped whenever the same parameters would give different voxels.
GENERATOR_VERSION = "1.0.0"

PART_NAMES: dict[int, str] = {int(p): p.name.lower() for p in VertebraPart}

Progress = Callable[[float, str], None]


@dataclass
class SyntheticCase:
    """A synthetic spine CT with its complete ground truth (all on the CT's grid)."""

    ct: Volume
    vertebrae: LabelMap  # TotalSegmentator ids (levels, 25 sacrum, 79 spinal cord)
    parts: LabelMap  # VertebraPart codes
    lesions: LabelMap  # lesion instances 1..n
    lesion_truth: list[LesionTruth]
    fracture_truth: FractureTruth | None
    params: SpineParams
    #: Tissue classes the image was rendered from (see ``synthetic.tissues.Tissue``).
    tissues: LabelMap | None = None
    vertebra_truth: list[VertebraTruth] = field(default_factory=list)


#: How far (mm) the field of view reaches above C1's top, to show the skull base.
SKULL_VIEW_MM = 40.0


def _make_grid(column: list, sacrum: list, params: SpineParams) -> Grid:
    sz, sy, sx = params.spacing_mm
    top = column[0].center[2] + column[0].height / 2 + 4.0
    if column[0].level == "C1":
        top += SKULL_VIEW_MM
    lowest = sacrum if sacrum else column[-1:]
    bottom = min(g.center[2] - max(g.height, g.depth) / 2 for g in lowest) - 6.0
    nz = int(np.ceil((top - bottom) / sz)) + 1
    ny, nx = int(round(params.fov_mm / sy)), int(round(params.fov_mm / sx))
    y_mid = float(np.mean([g.center[1] for g in column])) - 8.0
    origin = (-(nx - 1) / 2 * sx, y_mid - (ny - 1) / 2 * sy, top - (nz - 1) * sz)
    return Grid(shape=(nz, ny, nx), spacing=(sz, sy, sx), origin_xyz=origin)


def generate_spine_ct(params: SpineParams | None = None, progress: Progress | None = None) -> SyntheticCase:
    """Generate the synthetic case for ``params`` (deterministic: same params, same voxels).

    ``progress(fraction, message)`` is called between stages, for a progress bar.
    """
    params = params or SpineParams()
    report = progress or (lambda fraction, message: None)
    t0 = time.perf_counter()
    chain = build_chain(params)
    column = [g for g in chain if g.level in params.levels]
    sacrum = sacral_segments(column[-1]) if column[-1].level == "S1" and params.include_sacrum else []
    grid = _make_grid(column, sacrum, params)
    track = spine_track(column, sacrum, grid, params, chain)
    report(0.05, "soft tissue")
    tissue, cavity = draw_soft_tissue(grid, track, params, np.random.default_rng([params.seed, 1]))
    if track.upper_thorax:
        draw_upper_thorax(tissue, cavity, grid, track, params)
    if track.cervical:
        draw_neck(tissue, grid, track, chain)
    if column[0].level == "C1":
        paint_brain(tissue, grid, column[0])
    lut = hu_table(params)
    arrays = CaseArrays(tissue=tissue, vlabel=np.zeros(grid.shape, np.uint8), parts=np.zeros(grid.shape, np.uint8),
                        hu=lut[tissue], lut=lut, spacing=grid.spacing, joint_space_mm=params.joint_space_mm)
    report(0.35, "vertebrae")
    draw_column(column, sacrum, grid, arrays, axis=next(g for g in chain if g.level == "C2"))
    if params.ribs:
        _draw_ribs(chain, column, grid, track, arrays, params)
    if track.cervical:
        draw_shoulder_girdle(grid, track, arrays)
    if column[0].level == "C1":
        draw_skull_base(column[0], grid, arrays)
    if column[-1].level == "S1":
        draw_pelvis(column[-1], grid, track, arrays, track.levels.get("L5", column[-1].center[2] + 40.0))
    report(0.55, "lesions")
    geos = {g.level: g for g in column}
    lesion_map, records = draw_lesions(params.lesions, geos, grid, arrays, np.random.default_rng([params.seed, 2]))
    report(0.65, "rendering")
    hu = render_ct(arrays.hu, arrays.tissue, params, grid.spacing, np.random.default_rng([params.seed, 3]))
    affine = grid.affine()
    report(0.95, "ground truth")
    present = np.bincount(arrays.vlabel.ravel()) > 0
    case = SyntheticCase(
        ct=Volume(array=hu, affine=affine, metadata=_metadata(params), name="CT"),
        vertebrae=LabelMap(array=arrays.vlabel, affine=affine, name="vertebrae", source=_source(params),
                           names={k: v for k, v in TOTALSEG_NAMES.items() if k < present.size and present[k]}),
        parts=LabelMap(array=arrays.parts, affine=affine, names=dict(PART_NAMES), name="parts", source=_source(params)),
        lesions=LabelMap(array=lesion_map, affine=affine, name="lesions", source=_source(params),
                         names={r["id"]: f"lesion_{r['id']}_{r['level']}_{r['kind']}" for r in records}),
        lesion_truth=lesion_truth(records, lesion_map, hu, affine),
        fracture_truth=fracture_truth(column),
        params=params,
        tissues=LabelMap(array=arrays.tissue, affine=affine, names=dict(TISSUE_NAMES), name="tissues",
                         source=_source(params)),
        vertebra_truth=vertebra_truth(column),
    )
    report(1.0, "done")
    log.info("synthetic case seed=%d %s generated in %.2f s", params.seed, grid.shape, time.perf_counter() - t0)
    return case


def _draw_ribs(chain: list[LevelGeometry], column: list[LevelGeometry], grid: Grid, track: Track,
               arrays: CaseArrays, params: SpineParams) -> None:
    """Ribs of the drawn levels; in a chest case those of every thoracic level (ribs from
    vertebrae outside the field of view cross its edges, as in a real scan) and the sternum."""
    fat_mm = fat_thickness(params)
    if track.upper_thorax:
        draw_ribs([g for g in chain if g.thoracic], grid, track, arrays, fat_mm, sternum=True)
    else:
        draw_ribs(column, grid, track, arrays, fat_mm)


def _source(params: SpineParams) -> str:
    return f"synthetic:seed={params.seed}"


def _metadata(params: SpineParams) -> VolumeMetadata:
    return VolumeMetadata(
        modality="CT",
        manufacturer="napari-spine-mets synthetic",
        kvp=120.0,
        contrast_agent="IV iodinated (synthetic)" if params.contrast else "NONE",
        convolution_kernel="synthetic",
        series_description="Synthetic spine CT (demonstration data)",
        patient_age_years=float(params.age_years),
        patient_sex=params.sex,
        source=_source(params),
        warnings=["Synthetic demonstration data: not a patient, not for clinical use."],
        identity=PatientIdentity(name="SYNTHETIC^SPINE", patient_id=f"SYNTH-{params.seed:06d}", birth_date=""),
    )
