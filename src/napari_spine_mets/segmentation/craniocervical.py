"""C1 and C2: the atlas, which has no body, and the axis, whose dens is the level anchor at the top.

The network labels parts, and C1 has no vertebral body: its anterior arch, lateral masses
and posterior arch are all "posterior elements", so counting bodies would never find it and
its bone would join C2 (``find_instances`` gives arch bone to the nearest body). C2 is the
one vertebra whose body carries a peg, the dens, rising into C1's ring: a body whose axial
area, above the body proper, continues as a narrow column (``find_dens``). Finding it
names the levels from the top of the spine, as the sacrum does from the bottom, and tells
where C1 is: the arch bone beside and around the dens, above C2's body (``atlas_marker``).

Array axis 0 runs inferior -> superior (larger index = more cranial), as everywhere in
``segmentation``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..morphology import largest_piece

__all__ = ["Dens", "find_dens", "body_proper_top", "atlas_marker", "atlas_top_mm", "trim_atlas", "atlas_level_with_axis",
           "skull_base_above_dens", "MIN_DENS_MM", "DENS_AREA_FRACTION", "MAX_DENS_WIDTH_MM"]

#: Above the body proper, a column of body this tall (mm) is a dens (it is ~15 mm above C2's body).
MIN_DENS_MM = 7.0
#: A slice of the body whose area is below this fraction of the body's largest area is peg, not body
#: (the dens is ~10 mm across, C2's body ~16 x 16 mm: ~0.3 of it).
DENS_AREA_FRACTION = 0.55
#: The dens is a narrow column: at most this wide (mm, between voxel centres) in either direction (it is ~10 mm); a body
#: cut obliquely by the top of the view also narrows upwards, but over its whole width.
MAX_DENS_WIDTH_MM = 16.0
#: C1's bone lies within this distance (mm, in plane) of the dens: its lateral masses and arches.
ATLAS_REACH_MM = 45.0
#: Less arch bone than this (mm³) above C2's body is not an atlas (a cut-off facet, noise).
MIN_ATLAS_MM3 = 600.0
#: C1's anterior arch: at least this much of the atlas (mm³) lies more than ``ANTERIOR_ARCH_MM``
#: in front of the dens' centre and within ``ANTERIOR_ARCH_HALF_WIDTH_MM`` of the midline. Without
#: it, C2's own superior facets and laminae above its body (a view starting at C2) were taken
#: for an atlas on a network-segmented case.
ANTERIOR_ARCH_MM = 4.0
ANTERIOR_ARCH_HALF_WIDTH_MM = 10.0
MIN_ANTERIOR_ARCH_MM3 = 30.0
#: C1's seed: its bone at least this far (mm) above the top of C2's body proper.
ATLAS_SEED_ABOVE_MM = 9.0
#: C1 reaches at most this far (mm) above the tip of the dens; bone higher up is the skull
#: base (occipital condyles, clivus), which the atlas' flood reaches through its joints.
ATLAS_ABOVE_DENS_MM = 7.0
#: The atlas' voxels within this distance (mm) straight above or below the axis' are not its
#: seeds in the refinement (``atlas_level_with_axis``): the lateral atlanto-axial joints lie there.
ATLAS_AXIS_BAND_MM = 10.0


@dataclass(frozen=True)
class Dens:
    """Where C2's body proper ends and its peg, in the slices of the body piece."""

    body_top: int  # highest slice of the body proper
    peg_top: int  # highest slice of the dens
    centre_yx: tuple[float, float]  # the dens' centre, in plane (voxels)


def find_dens(body: np.ndarray, spacing: tuple[float, float, float]) -> Dens | None:
    """The dens on top of ``body`` (one vertebra's body mask, on the whole grid), or None.

    A peg is an unbroken column of body above the body proper (the slices of at least
    ``DENS_AREA_FRACTION`` of the largest area), ``MIN_DENS_MM`` tall or more, no wider than
    ``MAX_DENS_WIDTH_MM`` in any slice (its largest piece), ending below the top of the view
    (a body cut by the view's edge is not a peg).
    """
    body_top = body_proper_top(body)
    if body_top is None:
        return None
    top = int(np.nonzero(body.any(axis=(1, 2)))[0].max())
    area = body.sum(axis=(1, 2))
    peg = area[body_top + 1 : top + 1]
    if peg.size == 0 or (peg == 0).any() or top >= body.shape[0] - 1:
        return None
    if (top - body_top) * spacing[0] < MIN_DENS_MM:
        return None
    # each slice's largest piece: a stray voxel of body class beside the peg (a lateral mass'
    # edge) made a 10 mm dens 20 mm wide, and a neck's dens was missed
    column = np.stack([largest_piece(plane) for plane in body[body_top + 1 : top + 1]])
    # the width between the outermost voxel centres: counting whole edge voxels made an
    # 8-voxel base on a 2.001 mm grid 16.01 mm wide, and fresh neck 640011 lost its dens, C1
    # joined C2 (C1 / C2 0.58 / 0.59)
    for plane in column:
        ys, xs = np.nonzero(plane)
        if max(np.ptp(ys) * spacing[1], np.ptp(xs) * spacing[2]) > MAX_DENS_WIDTH_MM:
            return None
    ys, xs = np.nonzero(column.any(axis=0))
    return Dens(body_top=body_top, peg_top=top, centre_yx=(float(ys.mean()), float(xs.mean())))


def body_proper_top(body: np.ndarray) -> int | None:
    """Highest slice (axis 0) of the body proper: of at least ``DENS_AREA_FRACTION`` of the
    body's largest axial area (above it, on C2, the dens); None for an empty mask."""
    area = body.sum(axis=(1, 2)).astype(float)
    if not area.any():
        return None
    return int(np.nonzero(area >= DENS_AREA_FRACTION * area.max())[0].max())


def atlas_marker(posterior: np.ndarray, dens: Dens, spacing: tuple[float, float, float]) -> np.ndarray | None:
    """C1's arch bone: ``posterior`` (the network's posterior-element class) above C2's body
    proper and within ``ATLAS_REACH_MM`` of the dens; None when too little is there or
    nothing of it lies in front of the dens (no anterior arch)."""
    z = np.arange(posterior.shape[0])[:, None, None]
    y = (np.arange(posterior.shape[1])[None, :, None] - dens.centre_yx[0]) * spacing[1]
    x = (np.arange(posterior.shape[2])[None, None, :] - dens.centre_yx[1]) * spacing[2]
    marker = posterior & (z > dens.body_top) & (y**2 + x**2 <= ATLAS_REACH_MM**2)
    voxel_mm3 = float(np.prod(spacing))
    if float(marker.sum()) * voxel_mm3 < MIN_ATLAS_MM3:
        return None
    # C1's anterior arch lies in front of the dens; nothing of C2's own arch does (array
    # axis 1 runs towards the patient's back)
    anterior_arch = marker & (y < -ANTERIOR_ARCH_MM) & (np.abs(x) <= ANTERIOR_ARCH_HALF_WIDTH_MM)
    if float(anterior_arch.sum()) * voxel_mm3 < MIN_ANTERIOR_ARCH_MM3:
        return None
    # C2's superior facets and the top of its laminae also rise above its body's top: the
    # seed keeps to the bone clearly above it, and the rest goes to whichever is nearer
    seed = marker & ((z - dens.body_top) * spacing[0] > ATLAS_SEED_ABOVE_MM)
    return seed if seed.any() else marker


def skull_base_above_dens(top: np.ndarray, below: np.ndarray, spacing: tuple[float, float, float]) -> bool:
    """Whether ``top``, the most cranial "body" piece, is skull base: it carries no dens, the
    piece ``below`` it does, and all of it lies more than ``ATLAS_ABOVE_DENS_MM`` above the
    dens' tip, where no vertebra is (C1, which has no body, sits around the dens).

    Fresh neck 713002 (C1-C3 in view, 2 mm slices): the network called the clivus and occipital
    bone vertebral body; as the most cranial body it was looked at for a dens and C2's dens
    below it was not, so C1 joined C2 (0.60 / 0.65) and no level was named.
    """
    if find_dens(top, spacing) is not None:
        return False
    dens = find_dens(below, spacing)
    if dens is None:
        return False
    lowest = int(np.nonzero(top.any(axis=(1, 2)))[0].min())
    return (lowest - dens.peg_top) * spacing[0] > ATLAS_ABOVE_DENS_MM


def atlas_top_mm(dens: Dens, spacing_z: float) -> float:
    """How high (mm from the grid's first slice edge, along axis 0) C1 may reach."""
    return (dens.peg_top + 1) * spacing_z + ATLAS_ABOVE_DENS_MM


def trim_atlas(labels: np.ndarray, parts: np.ndarray, atlas_id: int, top_mm: float, spacing_z: float) -> None:
    """Take the atlas' voxels above ``top_mm`` out of ``labels`` and their part out of ``parts``
    (same grid; in place).

    Tuning seeds 320002-320030 (necks showing C1): C1 had taken 640-5000 voxels of skull
    base, up to 45 mm above the dens.
    """
    first_above = int(np.ceil(top_mm / spacing_z - 0.5))  # first slice whose centre is above
    if first_above >= labels.shape[0]:
        return
    skull = labels[first_above:] == atlas_id
    labels[first_above:][skull] = 0
    parts[first_above:][skull] = 0


def atlas_level_with_axis(labels: np.ndarray, atlas_id: int, axis_id: int, spacing_z: float) -> np.ndarray:
    """The atlas' voxels of ``labels`` within ``ATLAS_AXIS_BAND_MM`` straight above or below the axis'.

    On the coarse grid the lateral atlanto-axial joints are blurred shut, and the instance
    flood (``labelling.find_instances``) gives C2's superior articular facets, which rise
    beside the dens' base, to C1's lateral masses resting on them (benchmark neck 220004:
    1,500 voxels of C2, up to 14 mm from C1). The refinement does not seed C1 there, so its
    flood meets C2's at the joints' dark space on the fine grid. Straight up and down only:
    C1's anterior arch lies in front of the dens, beside C2, not above it, and without those
    seeds C1 lost its arch to C2 (a 10 mm sphere: C1 0.58 on 220004).
    """
    return _within_along_z(labels == axis_id, ATLAS_AXIS_BAND_MM, spacing_z) & (labels == atlas_id)


def _within_along_z(mask: np.ndarray, reach_mm: float, spacing_z: float) -> np.ndarray:
    """Voxels within ``reach_mm`` of ``mask`` straight above or below (a column dilation along axis 0)."""
    reach = max(1, int(round(reach_mm / spacing_z)))
    near = mask.copy()
    for shift in range(1, reach + 1):
        near[shift:] |= mask[:-shift]
        near[:-shift] |= mask[shift:]
    return near
