"""Full-resolution vertebra masks: the scan's own bone, within the network's territory.

The network works on a coarse grid (2 mm), so its boundaries are blocky, and on real CT
it misses most of the posterior elements (laminae, spinous and transverse processes) that
a vertebra label includes. Bone is easy to see classically at the scan's resolution:
cortex is far above soft tissue (``bone_threshold`` adapts the edge to the scan and
``local_edge`` to the bone nearby, so thin laminae are not lost to blur), and the
marrow a cortical ring encloses is filled slice by slice (``fill_marrow``); a body whose
cortex has gaps or whose marrow is fatty gets the marrow inside its convex hull
(``_fill_bodies``). A lytic lesion is not bone-dense: the network's body interior is kept
whatever its density (``_body_core``).

Each instance grows through that bone from its own network voxels, by a watershed on the
inverted intensity: flooding runs through bright cortex first, so two vertebrae meet at
the dark joint space between them (facet, disc) rather than wherever a flat growth met.
Where the network found the arches, which vertebra a piece of arch belongs to is asked of
the image as well (``_arches_by_image``): a process hanging over the level below goes to its
own vertebra. Where the network missed an arch (``missed_arches``), the arch's place
behind the canal joins the territory, its pedicles are seeded from the body's upper part
(``_arch_seeds``), bone grown above a body's top goes to the vertebra above
(``_cap_arches``). Midline bone behind the canal above the disc in two bodies' own frame
goes to the upper one wherever the arches were found or missed (``_upper_arch_in_frame``: its
laminae and spinous process hanging down).

Ribs touch the vertebra at their joints, so connectivity alone does not stop them: the
territory bounds them, a few mm around the network's own bone and, behind the canal,
``_POSTERIOR_HALF_WIDTH_MM`` either side of it (rib heads and necks inside that bound
are a known leak when the network missed the arch). A contrast-filled aorta against the
body is as dense as marrow; ``vessels.blood_pool`` finds it by its even texture and
keeps it out, with its calcified wall (``vessels.vessel_wall``) where that lies away from a
body's own cortex. The sacrum is kept to its bone as well, and S1 and the sacrum meet on their
fused endplates (``sacrum``), not wherever the network's coarse boundary fell. A pedicle or
transverse process that a lytic lesion destroyed is restored from its mirror image on the
healthy side (``mirror_fill``).

Everything is computed inside the box of the territory; coarse-to-fine steps are
nearest-neighbour gathers (cheap), not an 8-channel trilinear resampling.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from ..morphology import IN_PLANE, ball, diamond, dilate, erode, maximum_filter, slice_holes
from .arch_geometry import (MIN_ARCH_RATIO, ColumnFrames, arch_above_the_top, arch_body_ratios, column_frames,
                            lateral_bone_to_lower, return_taken_arches, return_taken_pedicles, settle_arch_claims,
                            spinous_tips_to_upper, whole_pedicles)
from .classes import BONE_CLASSES, SACRUM_CLASS
from .craniocervical import atlas_level_with_axis, body_proper_top
from .mirror_fill import fill_from_mirror
from .sacrum import part_s1_from_sacrum, sacrum_bone
from .vessels import blood_pool, vessel_wall

__all__ = ["Refined", "nearest_index", "gather", "smoothed", "bone_mask", "bone_threshold", "local_edge", "local_peak",
           "fill_marrow", "marrow_through", "marrow_first", "territory", "missed_arches", "body_span",
           "refine_instances"]

log = logging.getLogger(__name__)

_CANAL_CLASS = 5
_BODY_CLASS = 1
_POSTERIOR_CLASS = 2
#: Cortex and dense marrow after a light smoothing (noise at 1 mm is ~20 HU, muscle ~50 HU).
BONE_HU = 200.0
#: Session 23 (0.6 before): with the cap below, sharper edges fit the bone's own surface better
#: (see ``local_edge``).
_SMOOTH_MM = 0.3
_CLOSE_MM = 2.0  # gaps in a thin cortical ring that marrow filling bridges
_ARCH_INTERIOR_HU = 300.0  # cancellous bone inside an arch the network found (``arch_interior``)
_MARROW_HU = 100.0  # fatty/osteoporotic marrow is above it, muscle (~50) and most of a disc below
_HULL_GAP = 0.15  # of a body's hull uncovered before its marrow is filled from the hull
_HULL_MARROW = 0.4  # of that gap above _MARROW_HU (a disc's dark centre is not)
_EDGE_FRACTION = 0.65  # of dense bone's HU (soft tissue ~50 HU): where the edge is
_MAX_EDGE_HU = 600.0
_LOCAL_FRACTION = 0.7  # of the densest bone nearby: where a blurred edge is (``local_edge``)
_LOCAL_RADIUS_MM = 3.0
_LOCAL_CAP = 1.1  # × the scan's edge HU, the most the local edge may ask
#: Smoothed HU of dense cortex: within ``_LOCAL_RADIUS_MM`` of it the local edge is trusted
#: over ``fill_marrow``'s closing on the outer surface. Session 33, 56 cached cases (best
#: overlap; peel everywhere / 800 / 900 / 1,000 HU): T1-S1 0.9485 -> 0.9516 / 0.9517 / 0.9510 /
#: 0.9499, necks 0.9079 -> 0.9135 / 0.9135 / 0.9129 / 0.9113; the real series' dimmer bone
#: (its vertebrae 480-596 HU) T12 / T11 0.738 / 0.487 -> 0.732 / 0.484 peeled everywhere,
#: 0.738 / 0.488 at 800 HU.
_DENSE_CORTEX_HU = 800.0
_UNSEEN_SHARE = 0.5  # of a filled piece where the network saw no bone: a hole in the bone, not marrow
#: How far around the network's own bone refined bone may reach. On the ~2 mm working grid
#: 2.5 mm is one voxel along an axis but not the in-plane diagonal (2.8 mm): at 3 mm the
#: diagonal let refined bone run on into a rib where it meets a transverse process (session 23,
#: fresh tuning seeds 594000-594007 necks, 595000-595003 T1-S1, 596000-596003 T8-S1: best
#: overlap 0.858/0.940/0.948 -> 0.860/0.942/0.950; 2 mm lost the upper thoracic levels, 0.936).
_MARGIN_MM = 2.5
#: Behind the canal: the posterior arch lies within these bounds of the canal centre.
_POSTERIOR_HALF_WIDTH_MM = 32.0
_POSTERIOR_DEPTH_MM = 75.0
_ARCH_RISE_MM = 6.0  # superior articular processes rise this far above their body
_ARCH_REACH_MM = 20.0  # around a vertebra's network bone: where its arch may be (``_arches_by_image``)
_PEDICLE_FRONT_MM = 12.0  # the arch starts this far in front of the canal centre (pedicles)
#: ``_upper_arch_in_frame``: bone this far behind the bodies' line (past a body's back wall) ...
_FRAME_BEHIND_MM = 15.0
#: ... and this near their midplane (the laminae and spinous process, not the facets beside them)
_FRAME_HALF_WIDTH_MM = 10.0
_BODY_SPAN_AREA = 0.5  # of a body's median slice area: slices below it are a wedge of a cut, not the body (``body_span``)


@dataclass
class Refined:
    """Per-voxel results on the fine grid (the crop of the scan the network saw)."""

    labels: np.ndarray  # int16 instance ids (0 = none)
    classes: np.ndarray  # uint8 network classes, bone classes only where a vertebra is
    #: float16, the network's bone probability at vertebra voxels, 0 elsewhere: a vertebra's
    #: confidence is its mean (3 decimals), and nothing reads it outside the vertebrae
    confidence: np.ndarray


def nearest_index(coarse: Sequence[int], fine: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each fine index along each axis, the coarse index it falls in (as torch 'nearest-exact')."""
    out = []
    for c, f in zip(coarse, fine):
        index = np.floor((np.arange(f) + 0.5) * (c / f)).astype(np.intp)
        out.append(np.clip(index, 0, c - 1))
    return out[0], out[1], out[2]


def gather(array: np.ndarray, index: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    """Nearest-neighbour upsampling without interpolation arithmetic.

    ``index`` comes from ``nearest_index`` (or a contiguous slice of it): non-decreasing,
    so each axis is a run-length repeat of a coarse range, which numpy copies in blocks
    (several times faster than a three-axis fancy index on a clinical-size box). The last
    axis is repeated first, while the array is still small: repeating the first axis
    last copies whole planes (0.47 -> 0.22 s for a float32 box of 430 x 373 x 200).
    """
    out = array
    for axis in reversed(range(len(index))):
        ix = index[axis]
        first = int(ix[0]) if ix.size else 0
        counts = np.bincount(ix - first)
        window = [slice(None)] * out.ndim
        window[axis] = slice(first, first + counts.size)
        out = np.repeat(out[tuple(window)], counts, axis=axis)
    return out


def smoothed(hu: np.ndarray, spacing: Sequence[float]) -> np.ndarray:
    """A Gaussian of ``_SMOOTH_MM``: image noise would otherwise fragment thin cortex."""
    from scipy import ndimage

    sigma = [_SMOOTH_MM / s for s in spacing]
    return ndimage.gaussian_filter(np.asarray(hu, dtype=np.float32), sigma=sigma, truncate=3.0)


def bone_mask(hu: np.ndarray, spacing: Sequence[float], threshold: float = BONE_HU) -> np.ndarray:
    """Voxels above ``threshold`` HU after smoothing (``smoothed``)."""
    return smoothed(hu, spacing) >= threshold


def fill_marrow(bone: np.ndarray, canal: np.ndarray, spacing: Sequence[float],
                edge_trusted: np.ndarray | None = None, unseen: np.ndarray | None = None) -> np.ndarray:
    """Fill, slice by slice, what cortex encloses (marrow), except holes that touch the canal.

    Thin or osteoporotic cortex has gaps at a threshold, so the ring is closed first
    (in-plane, ``_CLOSE_MM``). The bony ring of body, pedicles and laminae encloses the
    canal as well as the marrow: a hole that overlaps the network's canal is the canal and
    stays empty, however coarse the canal class is.

    The closing also fills the bone's outer concavities (where a pedicle meets its body, a
    lamina its spinous process) with the blur of the cortex beside them. Where
    ``edge_trusted`` (dense cortex nearby: ``local_edge`` placed the surface there), the
    closing's voxels on the outer surface are left out; the holes they enclose stay filled.
    A piece filled mostly (``_UNSEEN_SHARE``) where the network saw no bone (``unseen``) is
    a hole in the bone, not marrow (``_without_unseen_pieces``).
    """
    # closing by the in-plane cross iterated ``steps`` times, which is the in-plane diamond
    ring = diamond(max(1, int(round(_CLOSE_MM / min(spacing[1], spacing[2])))))[None]
    closed = erode(dilate(bone, ring), ring) | bone
    background, hole = slice_holes(closed)
    hole[np.unique(background[canal])] = False
    filled = closed | hole[background]
    if edge_trusted is not None:
        _drop_outer_skirt(filled, closed & ~bone & edge_trusted)
    if unseen is not None:
        filled = _without_unseen_pieces(filled, bone, unseen)
    return filled


def _drop_outer_skirt(filled: np.ndarray, candidates: np.ndarray) -> None:
    """Clear, in place, the ``candidates`` of ``filled`` that touch its outside in-plane.

    Only the candidates' four neighbours are read (a whole-box dilation cost ~0.2 s on a
    clinical CT); beyond the grid's edge is not outside.
    """
    z, y, x = np.nonzero(candidates)
    touching = np.zeros(z.size, dtype=bool)
    for dy, dx in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        ny, nx = y + dy, x + dx
        inside = (ny >= 0) & (ny < filled.shape[1]) & (nx >= 0) & (nx < filled.shape[2])
        touching[inside] |= ~filled[z[inside], ny[inside], nx[inside]]
    filled[z[touching], y[touching], x[touching]] = False


def _without_unseen_pieces(filled: np.ndarray, bone: np.ndarray, unseen: np.ndarray) -> np.ndarray:
    """``filled`` less each in-plane piece of what filling added that lies mostly in ``unseen``.

    A ring of bone encloses more than marrow: a cervical vertebra's transverse foramina
    (the vertebral artery), the space between a rib's neck and its transverse process. The
    network, which has seen these, gives them no bone class, where it gives a body's marrow
    its body class. ``unseen`` leaves out the bodies' side (on real CT the network's body
    class has gaps in the marrow) and arches the network missed.
    """
    from scipy import ndimage

    pieces, n = ndimage.label(filled & ~bone, structure=IN_PLANE)
    if n == 0:
        return filled
    # only the pieces' voxels are read: whole-box passes cost ~0.4 s on a clinical CT
    where = np.flatnonzero(pieces)
    piece = pieces.ravel()[where]
    size = np.bincount(piece, minlength=n + 1)
    in_unseen = np.bincount(piece[unseen.ravel()[where]], minlength=n + 1)
    drop = in_unseen >= _UNSEEN_SHARE * size
    out = filled.copy()
    out.ravel()[where[drop[piece]]] = False
    return out


def bone_threshold(hu: np.ndarray, network_bone: np.ndarray) -> float:
    """The HU where bone's edge is, from this scan's dense bone.

    Partial volume blurs cortex into soft tissue over a voxel or two, so where the edge
    is depends on the scanner and the patient's bone: ``_EDGE_FRACTION`` of dense bone
    (the 90th percentile of the network's bone), bounded to [``BONE_HU``,
    ``_MAX_EDGE_HU``]. The fraction was chosen on held-out synthetic cases (0.45-0.85
    tried; seeds 200000-200003); osteoporotic marrow below it is added by
    ``fill_marrow`` and ``_fill_bodies``.
    """
    if not network_bone.any():
        return BONE_HU
    dense = float(np.percentile(hu[network_bone], 90))
    return float(np.clip(_EDGE_FRACTION * dense, BONE_HU, _MAX_EDGE_HU))


def territory(labels: np.ndarray, classes: np.ndarray, spacing: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Where each instance's refined bone may be, and where arches were missed (coarse, bool).

    Near the network's bone (``_MARGIN_MM``): where the network found the arch it also
    knew where the ribs begin. Where it missed the arch (``missed_arches``), in the slices
    that vertebra spans, the posterior arch's place is added: behind the canal centre,
    within ``_POSTERIOR_HALF_WIDTH_MM`` left and right, which keeps most of a rib out (its
    head and neck lie beside the body and the transverse process; its shaft further out).
    """
    from scipy import ndimage

    # what the network's bone encloses in a slice is the body's marrow, whatever it called it
    own = ndimage.binary_fill_holes(labels > 0, structure=IN_PLANE)
    near = ndimage.binary_dilation(own, structure=ball(_MARGIN_MM, spacing))
    zone = np.zeros(labels.shape, dtype=bool)
    canal = classes == _CANAL_CLASS
    ys = np.arange(labels.shape[1])[:, None] * spacing[1]
    xs = np.arange(labels.shape[2])[None, :] * spacing[2]
    spans: set[int] = set()
    for instance in missed_arches(labels, classes):
        spans.update(np.nonzero((labels == instance).any(axis=(1, 2)))[0].tolist())
    for z in sorted(spans):
        if not canal[z].any():
            continue
        cy, cx = (np.argwhere(canal[z]).mean(axis=0) * spacing[1:]).tolist()
        zone[z] = ((np.abs(xs - cx) <= _POSTERIOR_HALF_WIDTH_MM)
                   & (ys >= cy - _PEDICLE_FRONT_MM) & (ys <= cy + _POSTERIOR_DEPTH_MM))
    return near | zone, zone


def missed_arches(labels: np.ndarray, classes: np.ndarray) -> list[int]:
    """Instances whose posterior arch the network (mostly) missed (``arch_geometry.MIN_ARCH_RATIO``)."""
    return [instance for instance, ratio in arch_body_ratios(labels, classes).items() if ratio < MIN_ARCH_RATIO]


def _body_core(classes: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Instance ids of the body interiors (coarse grid): kept whatever their density.

    A lytic lesion, or the fatty marrow of an osteoporotic body, is not bone-dense and a
    thin cortex leaves gaps at any threshold; what the network's body class encloses in a
    slice (it sometimes calls marrow disc) is the body's interior. One coarse voxel in from
    the network's edge, so its blocky border does not become the vertebra's.
    """
    from scipy import ndimage
    from skimage.segmentation import expand_labels

    body = ndimage.binary_fill_holes(classes == _BODY_CLASS, structure=IN_PLANE)
    body = ndimage.binary_erosion(body, structure=IN_PLANE)
    return np.where(body, expand_labels(labels, distance=3), 0).astype(labels.dtype)


def body_span(body: np.ndarray) -> tuple[int, int] | None:
    """(lowest, highest) slice of a vertebral body proper: where its axial area is at
    least ``_BODY_SPAN_AREA`` of its median slice's.

    Two bodies the network ran together are cut along the disc, which is oblique on real
    CT: the lower body keeps a thin wedge reaching several slices up beside the upper one
    (real T12: 300-400 voxels a slice, then 136, 91, 42 and 1 over the four slices of
    T11's lower body). Taken as the body's top, that wedge put the lower vertebra's
    pedicle seeds in the upper one's pedicles and lifted the cap on its arch above the
    upper arch (``_arch_seeds``, ``_cap_arches``).
    """
    areas = body.sum(axis=(1, 2))
    present = np.nonzero(areas)[0]
    if present.size == 0:
        return None
    proper = np.nonzero(areas >= _BODY_SPAN_AREA * float(np.median(areas[present])))[0]
    return int(proper.min()), int(proper.max())


def _arch_seeds(classes: np.ndarray, labels: np.ndarray, spacing: Sequence[float],
                seeded: Sequence[int]) -> np.ndarray:
    """Where the ``seeded`` instances' pedicles are (coarse grid): seeds for arches the network missed.

    Arches of neighbouring vertebrae touch at the facet joints and a steep spinous
    process overlies the arch below, so bone grown only from the bodies goes to whichever
    body reaches it first. A vertebra's pedicles leave the upper part of its body beside
    the front of the canal; seeding them there gives each arch its own start.

    Only where the network missed the arch (``missed_arches``): where it found it, its own
    pedicle and arch voxels start the arch, and a band of seeds at the upper part of the
    body lay on the neighbours' bone where the column tilts. Seeding every vertebra (as
    until session 24) cost fresh tuning seeds 594000-596003 (necks / T1-S1 / T8-S1, best
    overlap) 0.876 / 0.950 / 0.957 -> 0.867 / 0.946 / 0.955, confirming seeds 597000-599003
    0.903 / 0.933 / 0.954 -> 0.899 / 0.929 / 0.954 (C7 and T1 up to 0.15 on the necks).
    Nor C2 where C1 was found (left out of ``seeded``): beside the upper part of C2's body lie
    its superior facets and, on them, C1's lateral masses; seeded, C2 took much of C1 (12
    necks showing C1: C1 0.37-0.90 with them, 0.75-0.94 without).
    """
    seeds = np.zeros(labels.shape, dtype=labels.dtype)
    canal = classes == _CANAL_CLASS
    body = (classes == _BODY_CLASS) & (labels > 0)
    ys = np.arange(labels.shape[1])[:, None] * spacing[1]
    xs = np.arange(labels.shape[2])[None, :] * spacing[2]
    for instance in np.unique(labels[body]):
        if int(instance) not in seeded:
            continue
        span = body_span(body & (labels == instance))
        if span is None:
            continue
        low, high = span
        for z in range(low + int(0.35 * (high - low + 1)), high + 1 - int(0.15 * (high - low + 1))):
            if not canal[z].any():
                continue
            cy, cx = (np.argwhere(canal[z]).mean(axis=0) * spacing[1:]).tolist()
            band = (np.abs(ys - (cy - 3.0)) <= 6.0) & (np.abs(xs - cx) >= 6.0) & (np.abs(xs - cx) <= 22.0)
            seeds[z][band & ~canal[z]] = instance
    return seeds


def _cap_arches(grown: np.ndarray, classes: np.ndarray, labels: np.ndarray, z_index: np.ndarray,
                spacing_z: float, missed: Sequence[int]) -> np.ndarray:
    """Bone grown above the body top of a vertebra whose arch was ``missed`` belongs to the one above.

    An arch lies at its body's level and reaches down (inferior articular and spinous
    processes), but only its superior articular processes rise above the body, by a few
    mm (``_ARCH_RISE_MM``); growing through a facet joint, the lower vertebra would
    otherwise claim the arch above. Such bone goes to the next cranial instance (id - 1),
    or to none at the top of the column. Only where the network missed the arch: where it
    found it, its arch voxels and ``_arches_by_image`` place the arch, and this flat cut
    took the tips of the lower vertebra's superior articular processes and laminae from
    it (tuning seeds 300-307: mean Dice 0.930 with the cap everywhere, 0.934 without).
    """
    out = grown.copy()
    body = classes == _BODY_CLASS
    rise = int(round(_ARCH_RISE_MM / spacing_z))
    fine_z = np.arange(grown.shape[0])
    for instance in missed:
        span = body_span(body & (labels == instance))
        if span is None:
            continue
        above = np.nonzero(z_index > span[1])[0]  # first fine slice above the body's top coarse slice
        if above.size == 0:
            continue
        limit = int(fine_z[above[0]]) + rise
        mine = out[limit:] == instance
        out[limit:][mine] = instance - 1
    return out


def _upper_arch_in_frame(grown: np.ndarray, classes: np.ndarray, labels: np.ndarray, coarse_spacing: Sequence[float],
                         spacing: Sequence[float], not_body: np.ndarray,
                         frames: ColumnFrames | None = None) -> np.ndarray:
    """Midline arch bone above the disc, in the column's own frame, goes to the vertebra above.

    Where the network missed a vertebra's arch, ``_cap_arches`` stops it ``_ARCH_RISE_MM``
    above its body's top in the scanner's z, which leaves it the laminae and spinous process
    of the vertebra above wherever they hang down past that level (real T12 took T11's in
    the three slices above its body). A flat cut lower in z took a lordotic L5's own arch
    (session 20); in the frame of the two bodies (``arch_geometry.pair_coordinates``, ``s``
    = 0 midway between their centres, backwards towards the canal) a lower vertebra's arch
    keeps below the midpoint. So the lower vertebra's non-body bone with ``s`` > 0, more
    than ``_FRAME_BEHIND_MM`` behind the bodies' line and within ``_FRAME_HALF_WIDTH_MM`` of
    their midplane (its superior articular processes, further out, stay its own), goes to
    the one above. Real T12 / T11 0.717 / 0.384 -> 0.730 / 0.463; synthetic cases with
    their arches removed unchanged or up (0.790 -> 0.792; half-widths 6-20 mm, cuts -0.3 to
    0.2 tried: session 21).

    Since session 29 for every pair of neighbours, not only where the network missed the
    lower arch: at the cervicothoracic junction C7's long spinous process lies on T1's, and
    where the network's arch voxels and the image's flood both gave it to T1 there was no
    dispute for ``arch_geometry.settle_arch_claims`` to settle. Fresh necks 611000-611007:
    C7 +0.016 to +0.024 and T1 +0.01 in three of them, neck mean 0.8836 -> 0.8854; confirmed
    on 614000-614009 (0.8989 -> 0.8997) and the benchmark's 220000-220007 (0.8930 -> 0.8938;
    220005 C7 0.854 -> 0.873, T1 0.841 -> 0.855); T1-S1 and T8-S1 cases unchanged, no vertebra
    lower by 0.01. Wider (half-widths 15-20 mm) took T1-S1's lower arches: 0.9507 -> 0.946-0.949.
    """
    from scipy import ndimage

    from .arch_geometry import points_in_pair_frame

    if labels.max() < 2:  # one vertebra: no pair
        return grown
    frames = frames or column_frames(classes, labels, coarse_spacing)
    centre, behind = frames.centre, frames.behind
    boxes = ndimage.find_objects(grown)
    out = grown.copy()
    for lower in range(2, int(labels.max()) + 1):
        upper = lower - 1
        if lower > len(boxes) or boxes[lower - 1] is None:
            continue
        found = points_in_pair_frame(grown, boxes[lower - 1], lower, not_body, upper, lower, centre, behind, spacing)
        if found is None:
            continue
        points, s, r, lateral = found
        move = (s > 0) & (r >= _FRAME_BEHIND_MM) & (lateral <= _FRAME_HALF_WIDTH_MM)
        out[tuple(points[move].T)] = upper
    return out


def _fill_bodies(labels: np.ndarray, body: np.ndarray, marrow: np.ndarray) -> np.ndarray:
    """Add to each body the marrow inside its slice-wise convex hull.

    Fatty or osteoporotic marrow is darker than any cortex threshold and a thin cortex
    leaves gaps, so ``fill_marrow`` misses it; a body's cross-section is convex (but for a
    shallow concavity at the canal, excluded from ``marrow``), and marrow (above
    ``_MARROW_HU``) is denser than the disc that the hull of an endplate's rim spans.
    Only slices where the hull is clearly not yet covered and what is missing is mostly
    marrow-dense are filled: elsewhere the cortex-based fill is more exact. A marrow-dense
    hole the body encloses all round is filled in any slice: on the real series such holes
    (where the coarse network called marrow disc or canal) held 570 voxels of TotalSegmentator's
    T11/T12 at a median 200 HU, against 340 of its background at 81 HU (disc in an endplate's
    concavity, which stays out).

    The hull's gap is filled only where marrow-dense tissue continues through the slices
    above and below (``marrow_through``): in a body's end slice the hull of the endplate's
    rim spans the disc, which the endplate's blur lifts above ``_MARROW_HU`` in that slice
    alone (session 32, figures in ``marrow_through``).
    """
    from scipy import ndimage
    from skimage.morphology import convex_hull_image

    out = labels.copy()
    through = marrow_through(marrow)
    for z in range(labels.shape[0]):
        plane = labels[z] * body[z]
        for instance in np.unique(plane):
            if instance == 0:
                continue
            ys, xs = np.nonzero(plane == instance)
            if ys.size < 10:
                continue
            window = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
            hull = convex_hull_image(plane[window] == instance)
            target = out[z][window]
            enclosed = ndimage.binary_fill_holes(plane[window] == instance) & (target == 0) & marrow[z][window]
            target[enclosed] = instance
            gap = hull & (target == 0)
            dense = gap & marrow[z][window]
            # a closed cortex was filled already; a disc's rim encloses no marrow-dense tissue
            if gap.sum() > _HULL_GAP * hull.sum() and dense.sum() >= _HULL_MARROW * gap.sum():
                target[dense & through[z][window]] = instance
    return out


def marrow_through(marrow: np.ndarray) -> np.ndarray:
    """Marrow-dense voxels whose neighbours in the slices above and below are marrow-dense too.

    A disc beside an endplate reads marrow-dense only in the slice the endplate's blur
    reaches; a body's marrow runs on through its neighbours. The first and last slices of
    the grid count their one neighbour twice. Session 32, on 55 cached cases (583
    vertebrae, best overlap): the hull gap filled wherever marrow-dense, then only here:
    T1-S1 0.9461 -> 0.9485, T8-S1 0.9589 -> 0.9611, necks 0.9050 -> 0.9079, no vertebra
    lower by more than 0.002; real series T12 / T11 0.742 / 0.478 -> 0.738 / 0.487. With no
    hull filling at all a 78-year-old's L5 at 3 mm slices (seed 210000) lost 0.028 and the
    real T12 0.016.
    """
    through = marrow.copy()
    through[1:] &= marrow[:-1]
    through[:-1] &= marrow[1:]
    return through


def _parts_for(classes: np.ndarray, spacing: Sequence[float]) -> np.ndarray:
    """Nearest network bone class for every coarse voxel (what a refined voxel is a part of).

    Behind the canal centre a voxel nearest to the body is the posterior arch the network
    missed, not body.
    """
    from skimage.segmentation import expand_labels

    bone = np.where(np.isin(classes, BONE_CLASSES), classes, 0).astype(np.uint8)
    spread = int(np.ceil(30.0 / min(spacing)))
    nearest = expand_labels(bone, distance=spread)
    canal = classes == _CANAL_CLASS
    for z in range(classes.shape[0]):
        if canal[z].any():
            cy = float(np.nonzero(canal[z])[0].mean())
            behind = nearest[z, int(np.ceil(cy)) :, :]
            behind[behind == _BODY_CLASS] = _POSTERIOR_CLASS
    nearest[nearest == 0] = _BODY_CLASS
    return nearest


def local_edge(smooth: np.ndarray, spacing: Sequence[float], threshold: float) -> np.ndarray:
    """Per-voxel edge HU: ``_LOCAL_FRACTION`` of the densest bone within ``_LOCAL_RADIUS_MM``.

    Blur lowers the peak of thin bone (laminae, processes, an endplate seen edge-on) and
    spreads thick dense cortex into the tissue beside it (a disc above an endplate), so
    one threshold for the scan cuts the first too thin and the second too thick. The edge
    of a blurred step lies at a fixed fraction of its local height; bounded below by
    ``BONE_HU`` (soft tissue stays out) and above by ``_LOCAL_CAP`` × the scan's edge
    (``bone_threshold``), which keeps dense cortex from eroding its own marrow's border.
    Tuning seeds 300-307: mean Dice 0.945 -> 0.947 (fractions 0.65-0.8, caps 1.15-1.5 tried).
    Session 23, the cap with less smoothing (``_SMOOTH_MM`` 0.6 -> 0.3), on fresh tuning seeds
    (594000-594007 necks, 595000-595003 T1-S1, 596000-596003 T8-S1; best overlap): cap 1.2 and
    0.6 mm 0.860/0.942/0.950; 1.1 and 0.3 mm 0.867/0.946/0.955 (1.0: 0.863/0.940/0.950; 1.2:
    0.861/0.944/0.952; 0.15 mm as 0.3); confirmed on seeds 597000-599003 (0.879/0.928/0.950 ->
    0.885/0.929/0.954, cap 1.0 and 1.2 lower again). The local edge was too generous at thick
    cortex: most of the bone labelled outside the truth lay within one voxel of its surface.
    """
    return _edge_from_peak(local_peak(smooth, spacing), threshold)


def local_peak(smooth: np.ndarray, spacing: Sequence[float]) -> np.ndarray:
    """The densest smoothed HU within ``_LOCAL_RADIUS_MM`` of each voxel."""
    size = [2 * max(1, int(round(_LOCAL_RADIUS_MM / s))) + 1 for s in spacing]
    return maximum_filter(smooth, size)


def _edge_from_peak(peak: np.ndarray, threshold: float) -> np.ndarray:
    """``local_edge`` from ``local_peak``, in place: a clinical-size box is ~70 MB of float32 per copy."""
    peak *= _LOCAL_FRACTION
    return np.clip(peak, BONE_HU, _LOCAL_CAP * threshold, out=peak)


def _unseen(classes: np.ndarray, parts: np.ndarray, missed_zone: np.ndarray) -> np.ndarray:
    """Coarse voxels where the network saw no bone, nearer an arch than a body, and not an
    arch it missed: what bone encloses there is not marrow (``_without_unseen_pieces``)."""
    return ~np.isin(classes, (*BONE_CLASSES, SACRUM_CLASS)) & (parts != _BODY_CLASS) & ~missed_zone


def _fine_bone(hu: np.ndarray, spacing: Sequence[float], network_bone: np.ndarray, canal: np.ndarray,
               missed: np.ndarray, network_arch: np.ndarray,
               unseen: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """(bone with its marrow filled, the smoothed HU, the edge threshold) on the fine grid.

    Where the network missed the arch (``missed``) nothing of it is known, so the arch's
    thin, partial-volumed laminae are taken at the generous ``BONE_HU``; where it found
    the arch (``network_arch``), the arch's inside is bone too (``arch_interior``). What
    bone encloses where the network saw none (``unseen``) is not filled (``fill_marrow``).
    """
    threshold = bone_threshold(hu, network_bone)
    smooth = smoothed(hu, spacing)
    peak = local_peak(smooth, spacing)
    edge_trusted = peak >= _DENSE_CORTEX_HU
    dense = (smooth >= _edge_from_peak(peak, threshold)) | (missed & (smooth >= BONE_HU))
    del peak
    dense |= arch_interior(smooth, network_arch)
    return fill_marrow(dense, canal, spacing, edge_trusted, unseen), smooth, threshold


def arch_interior(smooth: np.ndarray, network_arch: np.ndarray) -> np.ndarray:
    """The inside of the arch the network found: at least ``_ARCH_INTERIOR_HU``, and so are
    its four in-plane neighbours.

    The local edge is set by an arch's cortex, and the cancellous bone inside a lamina or
    pedicle lies well below it; unlike a body's marrow it is seldom ringed by closed
    cortex in one slice (thin cortex, thick slices), so ``fill_marrow`` leaves it out. On a
    90-year-old's neck at 3 mm slices (seed 220007) 20-46 % of each arch was lost so, at
    410-540 HU. Keeping off the arch's border (the neighbours) keeps the partial-volumed
    rim and the soft tissue of the network's blocky arch class out: every voxel of the
    class above 200 HU cost T8-S1 0.960 -> 0.943. Session 21, floors 300-400 HU and erosions
    of one voxel to 1 mm alike: best overlap T8-S1 0.960 -> 0.961, T1-S1 0.921 -> 0.923,
    C1-T4 0.850 -> 0.874 (the held-out seeds, used for this choice); on 16 fresh cases
    (seeds 590000-590007 necks, 591000-591003 T1-S1, 592000-592003 T8-S1) 0.835 -> 0.842,
    0.938 and 0.949 unchanged.
    """
    dense = smooth >= _ARCH_INTERIOR_HU
    inside = dense & network_arch
    # the four in-plane neighbours by shifted views (a generic erosion cost ~0.4 s on a
    # 430-slice CT); the grid's outer rows and columns have no four neighbours
    inside[:, 0, :] = inside[:, -1, :] = inside[:, :, 0] = inside[:, :, -1] = False
    inside[:, 1:-1, :] &= dense[:, :-2, :] & dense[:, 2:, :]
    inside[:, :, 1:-1] &= dense[:, :, :-2] & dense[:, :, 2:]
    return inside


def _atlas_and_axis_top(classes: np.ndarray, labels: np.ndarray, atlas_id: int | None,
                        z_index: np.ndarray) -> tuple[int, int] | None:
    """(C1's instance, the last fine slice of C2's body proper, C2 being the instance below C1)
    where C1 was found (``settle_arch_claims``); ``z_index`` maps fine slices to coarse ones."""
    if atlas_id is None:
        return None
    top = body_proper_top((labels == atlas_id + 1) & (classes == _BODY_CLASS))
    if top is None:
        return None
    return atlas_id, int(np.searchsorted(z_index, top, side="right")) - 1


def _markers(bone: np.ndarray, labels: np.ndarray, arch: np.ndarray, core: np.ndarray,
             unseeded: np.ndarray | None = None) -> np.ndarray:
    """Where each instance starts growing: its network bone that is bone here (less the
    ``unseeded`` voxels, whose owner the flood decides), its seeded pedicles where the
    network had nothing, and its body interior."""
    markers = np.where(bone & (labels > 0), labels, 0).astype(np.int16)
    if unseeded is not None:
        markers[unseeded] = 0
    seeds = bone & (arch > 0) & (markers == 0)
    markers[seeds] = arch[seeds]
    markers[core > 0] = core[core > 0]
    return markers


def _inverted(smooth: np.ndarray) -> np.ndarray:
    """Flooding landscape that fills bright bone first: neighbours meet at dark joint spaces."""
    level = np.subtract(1500.0, smooth)  # in place from here: one box-size copy, not three
    level /= 10.0
    return np.clip(level, 0, 255, out=level).astype(np.uint8)


def marrow_first(smooth: np.ndarray) -> np.ndarray:
    """Flooding landscape that fills each bone from its less dense inside: neighbours meet
    on the cortex between them."""
    level = np.add(smooth, 200.0)
    level /= 8.0
    return np.clip(level, 0, 255, out=level).astype(np.uint8)


def _arches_by_image(bone_mask: np.ndarray, smooth: np.ndarray, inverted: np.ndarray, classes: np.ndarray,
                     labels: np.ndarray,
                     missed: Sequence[int], index: tuple[np.ndarray, np.ndarray, np.ndarray],
                     coarse_spacing: Sequence[float], seeds: np.ndarray, core: np.ndarray) -> np.ndarray | None:
    """Which vertebra each piece of arch bone belongs to by the image, where the network found
    the arches (None where it found none); ``settle_arch_claims`` weighs it against the network.

    The network says which voxels are arch, not whose: ``find_instances`` gives its arch
    voxels to the body nearest through them, so an upper vertebra's inferior articular
    processes and the tip of a spinous process that hangs over the level below (thoracic)
    go to the lower vertebra, whose superior articular processes they touch. The image
    has its own answer: flood the bone from each vertebra's body and pedicles only
    (``_BODY_CLASS`` and the pedicle classes, whose vertebra is not in doubt), each bone
    from its marrow outward (``marrow_first``), so that two bones meet on the cortex
    between them, whether a joint space shows or not. That answer fails the other way
    where a long process's only link to its own arch is thin cortex (a lumbar spinous
    process reached through its laminae). Tuning seeds 300-307: mean Dice 0.934 network
    only, 0.942 image only, 0.945 both with the cranial vertebra winning disputes. On a
    tilted column that rule gave the arch of the vertebra below to the one above; disputes
    between neighbours are now settled in the two bodies' frame (``arch_geometry``).
    Where the network missed the arch (real CT), the territory already bounds the arch
    and its coarse labels stay (the same as before).
    """
    from skimage.segmentation import expand_labels, watershed

    found = [i for i in range(1, int(labels.max()) + 1) if i not in set(missed)]
    if not found:
        return None
    certain = np.isin(classes, (_BODY_CLASS, 3, 4)) | np.isin(labels, list(missed))
    certain_labels = gather(np.where(certain, labels, 0).astype(labels.dtype), index)
    markers = _markers(bone_mask, certain_labels, seeds, core)
    # within an arch's reach of a vertebra whose arch the network found; elsewhere as before
    reach = int(np.ceil(_ARCH_REACH_MM / min(coarse_spacing)))
    found_zone = gather(np.isin(expand_labels(labels, distance=reach), found), index)
    landscape = np.where(found_zone, marrow_first(smooth), inverted)  # ``inverted``: _inverted(smooth)
    return watershed(landscape, markers=markers, mask=bone_mask | (core > 0)).astype(np.int16)


def _vessels(hu: np.ndarray, spacing: Sequence[float], network_bone: np.ndarray, core_labels: np.ndarray) -> np.ndarray:
    """A contrast-filled aorta and its calcified wall on the fine grid (never bone, never filled).

    The aorta against a body is as dense as marrow (``vessels.blood_pool``); a body
    interior the network drew over it is cleared from ``core_labels`` (in place), and the
    wall around the lumen is the vessel's where it lies away from a body (``vessels.vessel_wall``).
    """
    blood = blood_pool(hu, spacing, network_bone)
    core_labels[blood] = 0
    blood |= vessel_wall(blood, spacing, core_labels > 0)
    return blood


def refine_instances(
    hu: np.ndarray,
    spacing: Sequence[float],
    classes: np.ndarray,
    labels: np.ndarray,
    bone_confidence: np.ndarray,
    axis_id: int | None = None,
    checkpoint: Callable[[float, str], None] | None = None,
) -> Refined:
    """Vertebrae on the fine grid of ``hu`` from the coarse network output.

    ``classes``, ``labels`` (instances) and ``bone_confidence`` (summed probability of the
    bone classes) are on the coarse grid with the same field of view as ``hu``. A refined
    voxel's confidence is the network's probability that it is vertebral bone.
    ``axis_id`` is C2's instance where its dens and C1 were seen (``Instances.axis_id``;
    C1 is then the instance above it, ``axis_id - 1``): its pedicles are never seeded
    (``_arch_seeds``), and C1's network voxels level with it do not seed C1
    (``craniocervical.atlas_level_with_axis``). ``checkpoint(fraction, message)`` is called
    between the stages (seconds apart on a clinical CT): it reports progress and may raise
    to cancel.
    """
    from scipy import ndimage
    from skimage.segmentation import watershed

    step = checkpoint or (lambda fraction, message: None)
    step(0.0, "finding the scan's bone")
    coarse_spacing = [f * s / c for f, s, c in zip(hu.shape, spacing, classes.shape)]
    labels = return_taken_arches(labels, classes, coarse_spacing)  # before both floods start from them
    labels = return_taken_pedicles(labels, classes, coarse_spacing)
    labels = whole_pedicles(labels, classes, coarse_spacing)
    allowed, missed_zone = territory(labels, classes, coarse_spacing)
    index = nearest_index(classes.shape, hu.shape)
    # work inside the bounding box of the territory only
    box = ndimage.find_objects((allowed | (classes == SACRUM_CLASS)).astype(np.uint8))
    fine_labels = np.zeros(hu.shape, dtype=np.int16)
    fine_classes = gather(np.where(np.isin(classes, BONE_CLASSES), 0, classes).astype(np.uint8), index)
    fine_confidence = np.zeros(hu.shape, dtype=np.float16)  # pages the vertebrae do not touch stay unwritten
    if not box or labels.max() == 0:
        return Refined(fine_labels, fine_classes, fine_confidence)
    coarse_box = box[0]
    fine_box = tuple(
        slice(int(np.searchsorted(ix, sl.start)), int(np.searchsorted(ix, sl.stop)))
        for ix, sl in zip(index, coarse_box)
    )
    # coarse work on the territory's box too; sub_index points into that box
    sub_index = tuple(ix[fb] - sl.start for ix, fb, sl in zip(index, fine_box, coarse_box))
    box_classes, box_labels = classes[coarse_box], labels[coarse_box]
    sub_hu = hu[fine_box]
    sub_labels = gather(box_labels, sub_index)
    core_labels = gather(_body_core(box_classes, box_labels), sub_index)
    canal = gather(box_classes == _CANAL_CLASS, sub_index)
    sub_allowed = gather(allowed[coarse_box], sub_index)
    parts_coarse = _parts_for(box_classes, coarse_spacing)
    network_bone = sub_labels > 0
    # the vessels need neither the bone nor its smoothing: on a 2-core CPU they are found
    # beside them (scipy's and numpy's loops release the interpreter lock; same result)
    with ThreadPoolExecutor(max_workers=1) as beside:
        vessels = beside.submit(_vessels, sub_hu, spacing,
                                gather(np.isin(box_classes, (*BONE_CLASSES, SACRUM_CLASS)), sub_index), core_labels)
        bone, smooth, threshold = _fine_bone(sub_hu, spacing, network_bone, canal,
                                             gather(missed_zone[coarse_box], sub_index),
                                             gather(np.isin(box_classes, (2, 3, 4)), sub_index),
                                             gather(_unseen(box_classes, parts_coarse, missed_zone[coarse_box]),
                                                    sub_index))
        blood = vessels.result()
    all_bone = bone.copy()
    bone &= sub_allowed
    bone &= ~blood
    sub_allowed &= ~blood
    step(0.3, "growing each vertebra through its bone")
    missed = missed_arches(box_labels, box_classes)
    seeds = gather(_arch_seeds(box_classes, box_labels, coarse_spacing, [i for i in missed if i != axis_id]),
                   sub_index)
    # the atlas' network voxels level with the axis: C1's flood meets C2's at their joints
    atlas_id = axis_id - 1 if axis_id is not None and axis_id > 1 else None  # C1 is the instance above C2
    atlas_band = (gather(atlas_level_with_axis(box_labels, atlas_id, axis_id, coarse_spacing[0]), sub_index)
                  if atlas_id is not None else None)
    markers = _markers(bone, sub_labels, seeds, core_labels, atlas_band)
    # the two floods are independent and their C loops release the interpreter lock: on a
    # 2-core CPU the image's flood of the arches runs beside the network's (same result)
    # flooding from each instance through bright bone first: where two meet is a dark
    # joint space (facet, costovertebral, disc), not wherever a flat growth happened to meet
    inverted = _inverted(smooth)
    with ThreadPoolExecutor(max_workers=1) as beside:
        by_image = beside.submit(_arches_by_image, bone, smooth, inverted, box_classes, box_labels, missed, sub_index,
                                 coarse_spacing, seeds, core_labels)
        grown = watershed(inverted, markers=markers, mask=bone | (core_labels > 0)).astype(np.int16)
        arches = by_image.result()
    step(0.65, "settling the arches between neighbours")
    if arches is not None:
        grown = settle_arch_claims(grown, arches, box_classes, box_labels, coarse_spacing, spacing,
                                   _atlas_and_axis_top(box_classes, box_labels, atlas_id, sub_index[0]))
    body_part = gather(parts_coarse == _BODY_CLASS, sub_index)
    outside_bodies = ~body_part
    grown = lateral_bone_to_lower(grown, outside_bodies, box_classes, box_labels, coarse_spacing, spacing)
    grown = _cap_arches(grown, box_classes, box_labels, sub_index[0], spacing[0], missed)
    frames = column_frames(box_classes, box_labels, coarse_spacing)  # once for the three midline rules
    grown = _upper_arch_in_frame(grown, box_classes, box_labels, coarse_spacing, spacing, outside_bodies, frames)
    grown = spinous_tips_to_upper(grown, outside_bodies, box_classes, box_labels, coarse_spacing, spacing, frames)
    grown = arch_above_the_top(grown, outside_bodies, box_classes, box_labels, coarse_spacing, spacing, frames)
    grown = _fill_bodies(grown, body_part, sub_allowed & ~canal & (smooth >= _MARROW_HU))
    # the sacrum is the scan's bone too; S1 meets it on their fused endplates, wherever
    # the network's boundary fell
    sacrum = sacrum_bone(box_classes == SACRUM_CLASS, all_bone & ~blood, lambda coarse: gather(coarse, sub_index))
    grown, sacrum = part_s1_from_sacrum(grown, sacrum & (grown == 0), smooth, spacing)
    step(0.9, "restoring pedicles from the healthy side")
    # a pedicle a lytic lesion destroyed is soft tissue to the threshold and background to
    # the network: its mirror image on the healthy side gives it back to its vertebra
    grown, restored = fill_from_mirror(grown, sub_hu, spacing, canal, body_part, canal | sacrum | blood)
    if restored:
        log.info("restored from the mirror side (voxels per instance): %s", restored)
    sub_classes = fine_classes[fine_box]
    sub_classes[sub_classes == SACRUM_CLASS] = 0
    sub_classes[sacrum] = SACRUM_CLASS
    fine_labels[fine_box] = grown
    vertebra = grown > 0
    fine_classes[fine_box][vertebra] = gather(parts_coarse, sub_index)[vertebra]
    fine_confidence[fine_box][vertebra] = gather(bone_confidence[coarse_box].astype(np.float32), sub_index)[vertebra]
    log.debug("refined %d vertebra voxels at %.0f HU (network had %d on the fine grid)",
              int(vertebra.sum()), threshold, int(network_bone.sum()))
    return Refined(fine_labels, fine_classes, fine_confidence)
