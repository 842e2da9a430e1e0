"""Automatic trabecular HU ROIs in each vertebral body, placed as the literature measures.

Method (see ``docs/hu.md``; the clinical reference's "Bone quality from CT Hounsfield units"):

1. The body of each vertebra is found on each axial slice (:mod:`.vertebral_body`: the
   parts map's BODY, or derived from a whole-vertebra label such as TotalSegmentator's).
2. Three axial slices: the mid-body slice (middle of the body's axial extent) and one
   above and one below, at about ±25 % of the body's axial extent (the upper and lower
   thirds of the trabecular body, away from the endplates), rounded to whole slices, at
   least one slice away from the mid slice and at least one slice inside the body's first
   and last slice. With thick slices this becomes the nearest slices (mid ± 1); a body
   seen on fewer than 3 slices gets fewer ROIs (and a caveat).
3. On each slice, the ROI is an ellipse centred on the centroid of the body's
   cross-section, axes along anterior-posterior and right-left, half the body's AP depth
   and LR width (about 20 x 22 mm in an adult T12, like a careful manual ROI), shrunk
   until it lies ``margin_mm`` (3 mm) inside the body's edge (the cortex and its partial
   volume) and in front of the posterior ``posterior_fraction`` (1/4) of the body, where
   the basivertebral vein enters. A slice ROI with SD > 60 HU gets a note to check it
   (with contrast, the vein's central channels can still be inside on the mid-body slice).
4. Lesion voxels (any label of a lesion map, dilated by 2 mm) are removed from the ROI
   and counted; a level whose ROI touched a lesion carries a caveat. Fractured bodies
   (levels given by the caller) are measured but marked as not usable for bone quality.
5. Statistics per slice and combined (all voxels of the three ROIs pooled): mean,
   median, sample SD, voxel count; the mean of the three slice means is also given.

HU tools refuse MR (:class:`~napari_spine_mets.errors.ModalityError`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ..display import DECISION_SUPPORT_NOTICE, hu_caveats
from ..knobs import Knobs

from ..volume import LabelMap, Volume
from .manual_roi import (
    LESION_MARGIN_MM,
    Ellipse,
    RoiStats,
    SliceRoi,
    measure_ellipse_roi,
    pool_stats,
)
from .vertebral_body import NoBodyError, VertebralBody, find_vertebral_body, vertebra_levels_present

__all__ = [
    "HuParams",
    "LevelHu",
    "HuReport",
    "check_hu_volume",
    "choose_slices",
    "place_slice_ellipse",
    "note_heterogeneity",
    "measure_level",
    "measure_trabecular_hu",
    "record_hu_in_case",
]

METHOD_VERSION = "1.0"


@dataclass(frozen=True)
class HuParams(Knobs):
    """Every knob of the automatic ROI placement, with its unit (recorded with the results)."""

    json_digits: ClassVar[int | None] = 4

    #: Inset of the ROI from the body's outer edge (the cortex), mm.
    margin_mm: float = 3.0
    #: Posterior fraction of the body's AP depth left out (basivertebral vein), 0-0.6.
    posterior_fraction: float = 0.25
    #: Intended ROI axes as a fraction of the body's AP depth and LR width.
    size_fraction: float = 0.5
    #: Offset of the upper and lower slices from mid-body, as a fraction of the body's axial extent.
    offset_fraction: float = 0.25
    #: Lesion voxels are removed with this margin, mm.
    lesion_margin_mm: float = LESION_MARGIN_MM
    #: A slice ROI smaller than this is reported with a caveat, mm².
    min_roi_area_mm2: float = 80.0
    #: A slice ROI with an SD above this (HU) gets a note to check it.
    heterogeneous_sd_hu: float = 60.0
    #: Opening disc radius of the body finder (whole-vertebra labels only), mm.
    opening_radius_mm: float = 6.0


@dataclass
class LevelHu:
    """The trabecular HU of one vertebra: its slice ROIs, combined statistics and caveats."""

    level: str
    label: int | None
    slices: list[SliceRoi] = field(default_factory=list)
    #: Caveats of the volume (kVp, contrast) and of this level (truncated body, fracture...).
    base_caveats: list[str] = field(default_factory=list)
    #: Why there is no usable measurement (no body found, fractured), or None.
    problem: str | None = None
    fractured: bool = False
    body_z_range: tuple[int, int] | None = None
    body_axial_extent_mm: float | None = None
    body_truncated: bool = False
    body_method: str = ""
    #: Flags (:class:`.hu_flags.HuFlag`), filled by :func:`.hu_flags.evaluate_flags`.
    flags: list[Any] = field(default_factory=list)

    @property
    def combined(self) -> RoiStats:
        """All voxels of the slice ROIs pooled."""
        return pool_stats([s.values for s in self.slices if s.values is not None])

    @property
    def mean_of_slice_means(self) -> float | None:
        means = [s.stats.mean for s in self.slices if s.stats.mean is not None]
        return float(np.mean(means)) if means else None

    @property
    def usable(self) -> bool:
        """True when the combined mean may be read against bone-quality thresholds."""
        return self.problem is None and not self.fractured and self.combined.n_voxels > 0

    @property
    def origin(self) -> str:
        """"automatic", "manual" (every ROI drawn or edited by the user) or "mixed"."""
        origins = {s.origin for s in self.slices}
        if not origins:
            return "automatic"
        return origins.pop() if len(origins) == 1 else "mixed"

    @property
    def caveats(self) -> list[str]:
        """Everything to show beside this level's HU figures."""
        out = list(self.base_caveats)
        touched = [s for s in self.slices if s.touches_lesion]
        if touched:
            n = sum(s.lesion_voxels_excluded for s in touched)
            out.append(
                f"ROI touches a lesion on {len(touched)} slice(s) ({n} voxels excluded): "
                "a lesion in the body makes its HU unrepresentative of bone quality"
            )
        for s in self.slices:
            out.extend(f"slice {s.slice_index}: {note}" for note in s.notes if "touches a lesion" not in note)
        if self.slices and len(self.slices) < 3:
            out.append(f"only {len(self.slices)} slice ROI(s) instead of 3")
        if any(s.origin == "manual" for s in self.slices):
            out.append("includes ROI(s) drawn or moved by the user")
        return out

    def replace_slice(self, index: int, roi: SliceRoi) -> None:
        """Put a (user-edited) ROI in place of slice ROI ``index``; combined figures follow."""
        self.slices[index] = roi

    def to_json(self) -> dict[str, Any]:
        combined = self.combined
        return {
            "level": self.level,
            "label": self.label,
            "origin": self.origin,
            "usable": self.usable,
            "problem": self.problem,
            "fractured": self.fractured,
            "body": {
                "z_range": list(self.body_z_range) if self.body_z_range else None,
                "axial_extent_mm": None if self.body_axial_extent_mm is None else round(self.body_axial_extent_mm, 1),
                "truncated": self.body_truncated,
                "method": self.body_method,
            },
            "combined": combined.to_json(),
            "mean_of_slice_means": None if self.mean_of_slice_means is None else round(self.mean_of_slice_means, 1),
            "slices": [s.to_json() for s in self.slices],
            "caveats": self.caveats,
            "flags": [f.to_json() for f in self.flags],
        }


@dataclass
class HuReport:
    """Trabecular HU of every level measured on one CT."""

    levels: dict[str, LevelHu]
    volume_caveats: list[str]
    params: HuParams
    source: str = ""
    method: str = "napari_spine_mets.measure.hu_roi " + METHOD_VERSION
    notice: str = DECISION_SUPPORT_NOTICE

    def to_json(self) -> dict[str, Any]:
        return {
            "notice": self.notice,
            "source": self.source,
            "method": self.method,
            "parameters": self.params.to_json(),
            "volume_caveats": list(self.volume_caveats),
            "levels": [lv.to_json() for lv in self.levels.values()],
        }


def check_hu_volume(volume: Volume) -> None:
    """Refuse what is not CT in Hounsfield units (MR above all), with a clear message."""
    from ..hounsfield import require_ct_hu

    require_ct_hu(volume, task="trabecular HU cannot be measured on it", hint="Open the CT of the study.")


def choose_slices(body: VertebralBody, offset_fraction: float = 0.25) -> list[int]:
    """The mid-body slice and one above and below (see the module docstring), inferior first."""
    lo, hi = body.z_first, body.z_last
    n = hi - lo + 1
    if n <= 0:
        return []
    mid_f = (lo + hi) / 2.0
    if mid_f.is_integer():
        mid = int(mid_f)
    else:  # two middle slices: take the one where the body is larger
        a, b = int(np.floor(mid_f)), int(np.ceil(mid_f))
        mid = a if body.areas_mm2[a - lo] >= body.areas_mm2[b - lo] else b
    want = max(1, int(round(offset_fraction * body.axial_extent_mm / body.slice_spacing_mm)))
    room = min(mid - lo, hi - mid)  # slices between mid and the nearer end of the body
    limit = room - 1 if room >= 2 else room  # stay one slice inside the body's end slices
    offset = min(want, limit)
    if offset < 1:
        return [mid]
    return [mid - offset, mid, mid + offset]


def place_slice_ellipse(body: VertebralBody, z: int, spacing_yx: tuple[float, float],
                        params: HuParams = HuParams()) -> tuple[Ellipse | None, str | None]:
    """The automatic ellipse of slice ``z``: central, half the body's size, inside the trabecular region.

    The ellipse is centred on the centroid of the body's cross-section, its axes along
    anterior-posterior and right-left, ``size_fraction`` (1/2) of the body's AP depth and
    LR width; it is shrunk (same centre and shape) until it lies ``margin_mm`` inside
    the body's edge and in front of the posterior ``posterior_fraction`` of the body.
    When the centre sits in a notch and the ellipse ends up under 40 % of its intended
    area, the largest ellipse of that size or less centred in the allowed region is
    taken instead, if larger. Returns ``(ellipse, None)`` or ``(None, why)``.
    """
    from scipy import ndimage

    dy, dx = spacing_yx
    body2d = body.slice_mask(z)
    rows = np.nonzero(body2d.any(axis=1))[0]
    cols = np.nonzero(body2d.any(axis=0))[0]
    if rows.size == 0:
        return None, "no body on this slice"
    dist = ndimage.distance_transform_edt(np.pad(body2d, 1), sampling=(dy, dx))[1:-1, 1:-1]
    allowed = dist > params.margin_mm
    cut = rows[0] + (1.0 - params.posterior_fraction) * (rows[-1] - rows[0])
    allowed[int(np.floor(cut)) + 1 :, :] = False
    if allowed.sum() * dy * dx < 10.0:
        return None, (f"the body is too small on this slice for an ROI {params.margin_mm:g} mm inside the cortex "
                      "and in front of the basivertebral vein")
    target_ap = params.size_fraction * (rows[-1] - rows[0] + 1) * dy / 2.0
    target_lr = params.size_fraction * (cols[-1] - cols[0] + 1) * dx / 2.0
    cy, cx = ndimage.center_of_mass(body2d)
    best = _shrink_into(allowed, z, (cy, cx), target_ap, target_lr, (dy, dx))
    target_area = np.pi * target_ap * target_lr
    if best is None or best.area_mm2 < 0.4 * target_area:
        comp, n = ndimage.label(allowed)
        piece = comp == (int(np.argmax(np.bincount(comp.ravel())[1:])) + 1) if n > 1 else allowed
        ay, ax = ndimage.center_of_mass(piece)
        x_run = _run_through(piece[int(round(ay)), :], int(round(ax)))
        ax = (x_run[0] + x_run[1]) / 2.0
        y_run = _run_through(piece[:, int(round(ax))], int(round(ay)))
        ay = (y_run[0] + y_run[1]) / 2.0
        semi_ap = min(target_ap, (y_run[1] - y_run[0] + 1) / 2.0 * dy)
        semi_lr = min(target_lr, (x_run[1] - x_run[0] + 1) / 2.0 * dx)
        other = _shrink_into(piece, z, (ay, ax), semi_ap, semi_lr, (dy, dx))
        if other is not None and (best is None or other.area_mm2 > best.area_mm2):
            best = other
    if best is None:
        return None, "no ellipse fits inside the trabecular region on this slice"
    y0, _, x0, _ = body.box_yx
    return Ellipse(z, (best.center_yx[0] + y0, best.center_yx[1] + x0), best.axis_a_mm, best.axis_b_mm), None


def _shrink_into(allowed: np.ndarray, z: int, center: tuple[float, float], semi_ap: float, semi_lr: float,
                 spacing_yx: tuple[float, float]) -> Ellipse | None:
    """The ellipse (centre and shape kept) scaled down in 2 % steps until it lies inside ``allowed``."""
    for scale in np.arange(1.0, 0.05, -0.02):
        e = Ellipse.aligned(z, center, semi_ap * scale, semi_lr * scale)
        m = e.mask(allowed.shape, spacing_yx)
        if m.any() and not (m & ~allowed).any():
            return e
    return None


def _run_through(line: np.ndarray, at: int) -> tuple[int, int]:
    """First and last index of the run of True in ``line`` containing (or nearest to) ``at``."""
    idx = np.nonzero(line)[0]
    if idx.size == 0:
        return at, at
    if not line[min(max(at, 0), line.size - 1)]:
        at = int(idx[np.argmin(np.abs(idx - at))])
    lo = at
    while lo - 1 >= 0 and line[lo - 1]:
        lo -= 1
    hi = at
    while hi + 1 < line.size and line[hi + 1]:
        hi += 1
    return lo, hi


def note_heterogeneity(roi: SliceRoi, params: HuParams = HuParams()) -> None:
    """Add a note when the ROI's SD is high (vein with contrast, sclerosis, an unseen lesion)."""
    sd = roi.stats.sd
    if sd is not None and sd > params.heterogeneous_sd_hu:
        roi.notes.append(
            f"heterogeneous ROI (SD {sd:.0f} HU > {params.heterogeneous_sd_hu:g}): check it for the basivertebral "
            "vein (bright with contrast), sclerosis or a lesion, and move it if needed"
        )


def measure_level(
    volume: Volume,
    vertebrae: LabelMap,
    level: str,
    *,
    parts: LabelMap | None = None,
    lesions: LabelMap | None = None,
    fractured: bool = False,
    params: HuParams = HuParams(),
    volume_caveats: list[str] | None = None,
) -> LevelHu:
    """Automatic ROIs and statistics of one level. Raises :class:`NoBodyError` when no body is found."""
    check_hu_volume(volume)
    _check_grid(volume, vertebrae, "vertebra labels")
    if parts is not None:
        _check_grid(volume, parts, "parts map")
    if lesions is not None:
        _check_grid(volume, lesions, "lesion map")
    body = find_vertebral_body(vertebrae, level, parts, opening_radius_mm=params.opening_radius_mm)
    base = list(volume_caveats if volume_caveats is not None else hu_caveats(volume.metadata)) + list(body.notes)
    result = LevelHu(level=level, label=body.label, base_caveats=base, fractured=fractured,
                     body_z_range=(body.z_first, body.z_last), body_axial_extent_mm=body.axial_extent_mm,
                     body_truncated=body.truncated, body_method=body.method)
    if fractured:
        result.base_caveats.append(
            f"{level} is fractured: the HU of a collapsed body is not a bone-quality measure (excluded from flags)"
        )
    spacing_yx = volume.spacing[1:]
    failures = []
    for z in choose_slices(body, params.offset_fraction):
        ellipse, why = place_slice_ellipse(body, z, spacing_yx, params)
        if ellipse is None:
            failures.append(f"slice {z}: {why}")
            continue
        roi = measure_ellipse_roi(volume, ellipse, level=level, lesions=lesions, origin="automatic",
                                  lesion_margin_mm=params.lesion_margin_mm)
        if roi.area_mm2 < params.min_roi_area_mm2:
            roi.notes.append(f"small ROI ({roi.area_mm2:.0f} mm² < {params.min_roi_area_mm2:g} mm²): noisy figure")
        note_heterogeneity(roi, params)
        result.slices.append(roi)
    result.base_caveats.extend(failures)
    if not result.slices:
        result.problem = f"{level}: no ROI could be placed in the body ({'; '.join(failures)})"
    return result


def measure_trabecular_hu(
    volume: Volume,
    vertebrae: LabelMap,
    *,
    parts: LabelMap | None = None,
    lesions: LabelMap | None = None,
    fractured_levels: Iterable[str] = (),
    levels: Iterable[str] | None = None,
    params: HuParams = HuParams(),
) -> HuReport:
    """Automatic trabecular ROIs of every level in ``vertebrae`` (or of ``levels``), with caveats.

    A level whose body cannot be found is kept with its ``problem`` (never silently
    dropped). Flags are added by :func:`napari_spine_mets.measure.hu_flags.evaluate_flags`.
    """
    check_hu_volume(volume)
    _check_grid(volume, vertebrae, "vertebra labels")
    caveats = hu_caveats(volume.metadata)
    if not (volume.metadata.modality or "").strip():
        caveats.append("Modality not recorded (e.g. NIfTI): values are assumed to be CT Hounsfield units.")
    fractured = {lv.upper() for lv in fractured_levels}
    wanted = [lv.upper() for lv in levels] if levels is not None else vertebra_levels_present(vertebrae)
    out: dict[str, LevelHu] = {}
    for level in wanted:
        try:
            out[level] = measure_level(volume, vertebrae, level, parts=parts, lesions=lesions,
                                       fractured=level in fractured, params=params, volume_caveats=caveats)
        except NoBodyError as exc:
            from ..anatomy import TOTALSEG_VERTEBRA_IDS

            out[level] = LevelHu(level=level, label=TOTALSEG_VERTEBRA_IDS.get(level), base_caveats=list(caveats),
                                 problem=str(exc), fractured=level in fractured)
    return HuReport(levels=out, volume_caveats=caveats, params=params, source=volume.metadata.source or volume.name)


def _check_grid(volume: Volume, labels: LabelMap, what: str) -> None:
    from ..errors import GridMismatchError
    from ..io.geometry import same_grid

    if not same_grid(volume.shape, volume.affine, labels.array.shape, labels.affine, tolerance_mm=1e-2):
        raise GridMismatchError(
            None,
            f"the {what} '{labels.name}' {labels.array.shape} do not lie on the grid of '{volume.name}' "
            f"{volume.shape}: resample them onto the CT first (io.resample.labels_onto_grid)",
        )


def record_hu_in_case(case: Any, report: HuReport, volume: Volume) -> list[Any]:
    """Store the report's ROIs and figures in a :class:`~napari_spine_mets.case.Case`.

    Automatic ROIs (``Origin.AUTOMATIC``) and ROIs the user drew or moved
    (``Origin.MANUAL``) are kept apart: a level's ROIs are stored with the origin of each
    slice ROI, previous *automatic* trabecular ROIs and the HU findings are replaced,
    manual ROIs of earlier sessions are kept. Each level's combined figure and each flag
    becomes a :class:`~napari_spine_mets.case.Finding` with its basis and source.
    Returns the ROIs added.
    """
    from ..case_parts import Finding, Origin, Polygon, Roi, RoiKind
    from ..io.geometry import world_from_index

    manual_in_report = {(lv.level, s.slice_index) for lv in report.levels.values() for s in lv.slices
                        if s.origin == "manual"}

    def replaced(r: Any) -> bool:  # an earlier automatic ROI, or an earlier copy of a manual ROI in this report
        if r.kind != RoiKind.TRABECULAR_HU:
            return False
        return r.origin == Origin.AUTOMATIC or (r.level, r.measurements.get("slice_index")) in manual_in_report

    case.rois = [r for r in case.rois if not replaced(r)]
    case.findings = [f for f in case.findings if not f.name.startswith("trabecular_hu") and f.name not in
                     ("screw_failure_risk", "l1_osteoporosis_band")]
    next_id = max((r.id for r in case.rois), default=0) + 1
    spacing_yx = volume.spacing[1:]
    added = []
    for level_hu in report.levels.values():
        for s in level_hu.slices:
            if s.ellipse is not None:
                outline = s.ellipse.outline_yx(spacing_yx)
            elif s.polygon_yx is not None:
                outline = np.asarray(s.polygon_yx, dtype=float)
            else:
                outline = np.zeros((0, 2))
            idx = np.column_stack([np.full(len(outline), s.slice_index, dtype=float), outline]) if len(outline) else np.zeros((0, 3))
            lps = world_from_index(volume.affine, idx) if len(idx) else np.zeros((0, 3))
            origin = Origin.MANUAL if s.origin == "manual" else Origin.AUTOMATIC
            roi = Roi(
                id=next_id,
                level=level_hu.level,
                kind=RoiKind.TRABECULAR_HU,
                polygons=[Polygon(slice_position_mm=float(s.z_mm), vertices_mm=[tuple(float(v) for v in p) for p in lps])],
                origin=origin,
                measurements={"slice_index": s.slice_index, "shape": s.shape, **{f"hu_{k}": v for k, v in s.stats.to_json().items()},
                              "lesion_voxels_excluded": s.lesion_voxels_excluded, "notes": list(s.notes),
                              "method": report.method, "parameters": report.params.to_json()},
            )
            next_id += 1
            case.rois.append(roi)
            added.append(roi)
        if level_hu.slices or level_hu.problem:
            combined = level_hu.combined
            case.findings.append(Finding(
                name="trabecular_hu",
                value=None if combined.mean is None else round(combined.mean, 1),
                unit="HU",
                level=level_hu.level,
                basis=(f"{level_hu.origin} ROI(s) on slices {[s.slice_index for s in level_hu.slices]}: mean "
                       f"{_fmt(combined.mean)}, median {_fmt(combined.median)}, SD {_fmt(combined.sd)}, "
                       f"{combined.n_voxels} voxels" + (f"; problem: {level_hu.problem}" if level_hu.problem else "")
                       + ("; caveats: " + " | ".join(level_hu.caveats) if level_hu.caveats else "")),
                source="trabecular ROI method of the clinical reference (three axial slices, cortex and basivertebral "
                       "vein avoided); " + report.method,
            ))
        for flag in level_hu.flags:
            case.findings.append(Finding(name=flag.name, value=flag.raised, level=flag.level, basis=flag.message + "; "
                                         + flag.basis + ("; caveats: " + " | ".join(flag.caveats) if flag.caveats else ""),
                                         source=flag.source))
    case.record_step("trabecular_hu", model=report.method, parameters=report.params.to_json())
    return added


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"
