"""Find the vertebral body of each vertebra, slice by slice (numpy/scipy only).

Two inputs are handled:

* a *parts* map (:class:`~napari_spine_mets.anatomy.VertebraPart`) beside the levels:
  the body is the vertebra's voxels coded ``BODY``;
* a whole-vertebra label only, as TotalSegmentator gives (one id per vertebra, body and
  posterior elements together). On each axial slice the vertebra's mask is *opened*
  with a disc of ``opening_radius_mm`` (6 mm by default): pedicles, laminae and
  processes are thinner than the disc's 12 mm diameter and vanish, the body (30-50 mm
  across) stays. The body is the largest remaining component on the slice where that
  component is largest (the reference slice); on the other slices it is the component
  that overlaps the reference body's footprint (the body is a column; a stray blob or a
  spinous process below the body does not overlap it).

The body's axial extent is the contiguous run of slices, around the reference slice,
whose body area is at least ``min_area_fraction`` (50 %) of the largest: slices through
the endplates, where the label thins out or mixes with the next level, drop out.
Axial extent is not the true body height when the spine is tilted in the sagittal
plane (lordosis, kyphosis): it is the height *along the scanner axis*, which is what
choosing axial slices needs.

A body whose run reaches the first or last slice of the scan is marked *truncated*:
the scan may cut it, so its mid-body is estimated from the visible part only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..anatomy import TOTALSEG_VERTEBRA_IDS, VertebraPart, label_of_level, level_of_label
from ..errors import SpineMetsError
from ..volume import LabelMap

__all__ = [
    "NoBodyError",
    "VertebralBody",
    "find_vertebral_body",
    "find_vertebral_bodies",
    "vertebra_levels_present",
]

#: Defaults of the body finder (recorded in every result's ``method``).
OPENING_RADIUS_MM = 6.0
MIN_AREA_FRACTION = 0.5
#: A body smaller than this on its largest slice is not taken for a body (mm²).
MIN_BODY_AREA_MM2 = 150.0
#: The bounding box of a level is padded by this much (mm) to hold the whole body.
BOX_PAD_MM = 15.0
#: Use the whole bone region of a body when at least this fraction of it carries the level's label.
MIN_LABEL_FRACTION = 0.6


class NoBodyError(SpineMetsError):
    """No vertebral body could be found for a level (only posterior elements in view, ...)."""


@dataclass
class VertebralBody:
    """The body of one vertebra: per axial slice, a 2D mask inside a bounding box.

    ``masks[k]`` is the body on slice ``z_first + k`` within rows ``y0:y1`` and columns
    ``x0:x1`` of the volume (so masks stay small on large scans).
    """

    level: str
    label: int
    z_first: int
    z_last: int
    box_yx: tuple[int, int, int, int]  # (y0, y1, x0, x1)
    masks: list[np.ndarray]
    #: Body area in mm² on each slice of the run.
    areas_mm2: list[float]
    #: Slice spacing (mm), for heights.
    slice_spacing_mm: float
    #: True when the run reaches the first / last slice of the scan (the body may go on).
    truncated_inferior: bool = False
    truncated_superior: bool = False
    #: How the body was found, in words (parts map or derived from the whole vertebra).
    method: str = ""
    notes: list[str] = field(default_factory=list)
    #: Per slice, the fraction of the body region that carries this level's own label.
    label_fractions: list[float] = field(default_factory=list)

    @property
    def n_slices(self) -> int:
        return self.z_last - self.z_first + 1

    @property
    def axial_extent_mm(self) -> float:
        """Extent of the body along the scanner axis (slices × spacing)."""
        return self.n_slices * self.slice_spacing_mm

    @property
    def truncated(self) -> bool:
        return self.truncated_inferior or self.truncated_superior

    def slice_mask(self, z: int) -> np.ndarray:
        """The body on slice ``z`` (within ``box_yx``); raises IndexError outside the run."""
        if not self.z_first <= z <= self.z_last:
            raise IndexError(f"{self.level}: slice {z} is outside the body ({self.z_first}-{self.z_last})")
        return self.masks[z - self.z_first]

    def full_slice_mask(self, z: int, shape_yx: tuple[int, int]) -> np.ndarray:
        """The body on slice ``z`` as a mask of the whole slice."""
        out = np.zeros(shape_yx, dtype=bool)
        y0, y1, x0, x1 = self.box_yx
        out[y0:y1, x0:x1] = self.slice_mask(z)
        return out


def vertebra_levels_present(labels: LabelMap) -> list[str]:
    """Levels (cranial to caudal) whose TotalSegmentator vertebra id occurs in ``labels``."""
    from ..anatomy import LEVELS

    present = {int(v) for v in np.unique(labels.array)}
    levels = [level_of_label(v) for v in present]
    return [lv for lv in LEVELS if lv in levels]


def _disc(radius_mm: float, spacing_yx: tuple[float, float]) -> np.ndarray:
    ry = max(1, int(np.floor(radius_mm / spacing_yx[0])))
    rx = max(1, int(np.floor(radius_mm / spacing_yx[1])))
    yy, xx = np.mgrid[-ry : ry + 1, -rx : rx + 1]
    return (yy * spacing_yx[0]) ** 2 + (xx * spacing_yx[1]) ** 2 <= radius_mm**2 + 1e-9


def _components(mask: np.ndarray) -> tuple[np.ndarray, int]:
    from scipy import ndimage

    return ndimage.label(mask)


def find_vertebral_body(
    vertebrae: LabelMap,
    level: str,
    parts: LabelMap | None = None,
    *,
    opening_radius_mm: float = OPENING_RADIUS_MM,
    min_area_fraction: float = MIN_AREA_FRACTION,
) -> VertebralBody:
    """The body of ``level`` in ``vertebrae`` (TotalSegmentator ids), using ``parts`` when given.

    Raises :class:`NoBodyError` with a message naming the level when the label is absent
    or holds no body-like part (e.g. only the spinous process is in the field of view).
    """
    from scipy import ndimage

    label = label_of_level(level)
    array = vertebrae.array
    nz, ny, nx = array.shape
    dz, dy, dx = vertebrae.spacing
    vertebra = array == label
    zs = np.nonzero(vertebra.any(axis=(1, 2)))[0]
    if zs.size == 0:
        raise NoBodyError(f"{level}: no voxel labelled {label} (vertebrae_{level}) in '{vertebrae.name}'")
    ys = np.nonzero(vertebra.any(axis=(0, 2)))[0]
    xs = np.nonzero(vertebra.any(axis=(0, 1)))[0]
    pad_y, pad_x = int(np.ceil(BOX_PAD_MM / dy)), int(np.ceil(BOX_PAD_MM / dx))
    y0, y1 = max(int(ys[0]) - pad_y, 0), min(int(ys[-1]) + 1 + pad_y, ny)
    x0, x1 = max(int(xs[0]) - pad_x, 0), min(int(xs[-1]) + 1 + pad_x, nx)
    sub = vertebra[:, y0:y1, x0:x1]
    # Bone of any vertebra: where two labels meet inside one body (an oblique disc, or a
    # segmentation that lets the next level bleed into this body) there is no cortex.
    any_vertebra = np.isin(array[:, y0:y1, x0:x1], list(TOTALSEG_VERTEBRA_IDS.values()))
    pixel_mm2 = dy * dx

    own: dict[int, np.ndarray] = {}
    spine: dict[int, np.ndarray] = {}
    if parts is not None:
        if parts.array.shape != array.shape:
            raise NoBodyError(f"{level}: the parts map {parts.array.shape} is not on the labels' grid {array.shape}")
        body_code = parts.array[:, y0:y1, x0:x1] == int(VertebraPart.BODY)
        method = "parts map: voxels of the vertebra coded BODY"
        for z in zs:
            m = sub[z] & body_code[z]
            if m.any():
                own[int(z)] = m
                spine[int(z)] = any_vertebra[z] & body_code[z]
    else:
        method = (
            f"derived from the whole-vertebra label: per axial slice, opening by a {opening_radius_mm:g} mm "
            "disc (removes pedicles, laminae and processes), body = the component overlapping the largest one"
        )
        disc = _disc(opening_radius_mm, (dy, dx))
        for z in zs:
            opened = ndimage.binary_opening(sub[z], structure=disc)
            if opened.any():
                own[int(z)] = opened
                spine[int(z)] = ndimage.binary_opening(any_vertebra[z], structure=disc)

    # Largest component of each slice; the reference slice is where it is largest.
    largest: dict[int, np.ndarray] = {}
    for z, m in own.items():
        comp, n = _components(m)
        if n == 0:
            continue
        sizes = np.bincount(comp.ravel())[1:]
        largest[z] = comp == (int(np.argmax(sizes)) + 1)
    if not largest:
        raise NoBodyError(_no_body_message(level, vertebrae, parts is not None, int(sub.sum())))
    z_ref = max(largest, key=lambda z: int(largest[z].sum()))
    ref_area = float(largest[z_ref].sum()) * pixel_mm2
    if ref_area < MIN_BODY_AREA_MM2:
        raise NoBodyError(_no_body_message(level, vertebrae, parts is not None, int(sub.sum()), ref_area))
    footprint = largest[z_ref]

    # On every slice, this level's body is the union of its components overlapping the reference footprint.
    bodies: dict[int, np.ndarray] = {}
    for z, m in own.items():
        comp, n = _components(m)
        keep = np.zeros_like(m)
        for i in range(1, n + 1):
            c = comp == i
            overlap = float((c & footprint).sum())
            if overlap >= 0.5 * float(c.sum()):
                keep |= c
        if keep.any():
            bodies[z] = keep

    # Contiguous run around the reference slice with enough area (of this level's own label).
    threshold = min_area_fraction * ref_area

    def big(z: int) -> bool:
        return z in bodies and float(bodies[z].sum()) * pixel_mm2 >= threshold

    lo = hi = z_ref
    while big(lo - 1):
        lo -= 1
    while big(hi + 1):
        hi += 1

    # In-plane, the body is the bone region of the spine that holds this level's body,
    # as long as this level's label makes most of it (else its own label only).
    masks: list[np.ndarray] = []
    fractions: list[float] = []
    notes: list[str] = []
    mixed: list[int] = []
    for z in range(lo, hi + 1):
        mine = bodies[z]
        comp, n = _components(spine[z])
        region = np.zeros_like(mine)
        for i in np.unique(comp[mine]):
            if i:
                region |= comp == i
        region |= mine
        fraction = float((region & sub[z]).sum()) / float(region.sum())
        if fraction >= MIN_LABEL_FRACTION:
            masks.append(region)
            fractions.append(fraction)
            if fraction < 0.98:
                mixed.append(z)
        else:
            masks.append(mine)
            fractions.append(1.0)
    if mixed:
        notes.append(
            f"{level}: on slice(s) {', '.join(map(str, mixed))} part of this body carries another vertebra's label "
            "(oblique endplate or segmentation error); the ROI is placed in the whole body"
        )
    truncated_inf = lo == 0
    truncated_sup = hi == nz - 1
    if truncated_inf or truncated_sup:
        side = " and ".join(s for s, t in (("first (most inferior)", truncated_inf), ("last (most superior)", truncated_sup)) if t)
        notes.append(
            f"{level}: the body reaches the {side} slice of the scan and may continue beyond it; "
            "its mid-body is estimated from the visible part only"
        )
    return VertebralBody(
        level=level,
        label=label,
        z_first=lo,
        z_last=hi,
        box_yx=(y0, y1, x0, x1),
        masks=masks,
        areas_mm2=[float(bodies[z].sum()) * pixel_mm2 for z in range(lo, hi + 1)],
        slice_spacing_mm=float(dz),
        truncated_inferior=truncated_inf,
        truncated_superior=truncated_sup,
        method=method,
        notes=notes,
        label_fractions=fractions,
    )


def _no_body_message(level: str, vertebrae: LabelMap, had_parts: bool, n_voxels: int, area: float | None = None) -> str:
    what = "no voxel coded BODY in the parts map" if had_parts else "no part of the label is thick enough to be a vertebral body"
    size = f" (largest candidate {area:.0f} mm² on one slice)" if area is not None else ""
    return (
        f"{level}: no vertebral body found in '{vertebrae.name}' ({n_voxels} voxels labelled; {what}{size}). "
        "Only the posterior elements may be in the field of view, or the label may be incomplete: "
        "no trabecular HU can be measured automatically for this level; draw an ROI by hand if the body is visible."
    )


def find_vertebral_bodies(
    vertebrae: LabelMap,
    parts: LabelMap | None = None,
    levels: list[str] | None = None,
    **kwargs: float,
) -> dict[str, VertebralBody | NoBodyError]:
    """Every level's body (or the :class:`NoBodyError` saying why there is none)."""
    out: dict[str, VertebralBody | NoBodyError] = {}
    for level in levels if levels is not None else vertebra_levels_present(vertebrae):
        try:
            out[level] = find_vertebral_body(vertebrae, level, parts, **kwargs)
        except NoBodyError as exc:
            out[level] = exc
    return out
