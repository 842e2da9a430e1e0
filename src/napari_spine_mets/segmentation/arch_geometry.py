"""Whose arch is it: two neighbouring vertebrae's claims on arch bone, settled in their own frame.

``refine`` asks two questions of each piece of posterior arch bone: which
body the network's arch voxels reach first, and which body the image's bone floods from
first. Where they disagree, the more cranial vertebra used to win. That is right for a
process hanging over the level below, but wrong wherever the column is tilted: an axial
slice through a forward-leaning thoracic vertebra (upper thoracic spine, a kyphotic
elderly spine, the cervicothoracic junction) cuts one vertebra's body and the arch of the
vertebra *below*, which rises with its own tilt. The image flood, running through the
facet joints, then gave whole lower arches to the upper vertebra.

Each vertebra's arch lies in that vertebra's own plane, so the disagreement is settled in
the frame of the two bodies (``pair_coordinates``): ``s`` runs along the line from the lower
body's centre (-0.5) to the upper one's (+0.5), ``r`` (mm) backwards from that line towards
their pedicles. Measured on synthetic ground truth, a lower vertebra's arch keeps below
``s`` = -0.1 and an upper arch stays above it except for its processes reaching down far
behind the canal (spinous process: ``r`` > 40 mm, down to ``s`` = -0.75). The bounds below
come from tuning seeds 310000-310007 (T1-S1, never used elsewhere): mean vertebra Dice
0.901 with "the cranial one wins", 0.930 with these bounds.

Two kinds of claim keep the network's answer instead: those two or more levels apart, where
the image's flood ran through facet joints (benchmark neck 220003: C4's flood reached C6's
arch; C6 0.821 with the cranial rule, 0.884 with the network's answer), and the atlas' against
C2's (C1 has no body, so no frame; fresh necks 606003 and 606020: C1 / C2 +0.03 each).

Both floods start from the network's instances, so where those already gave a vertebra's
arch to the one below there is nothing to settle: at the cervicothoracic junction of a
flexed neck the network called C7's upper body disc and the flat flood reached C7's arch
from T1 first. ``return_taken_arches`` finds such a vertebra by its share of arch bone and
gives back what lies above the pair's midpoint before either flood runs, and
``return_taken_pedicles`` gives a crushed vertebra back the pedicles (and the arch near the
canal) its upper neighbour took: that neighbour then holds two pairs of pedicles;
``whole_pedicles`` gives a pedicle cut between two neighbours to the one holding most of it.

After the claims are settled, ``lateral_bone_to_lower`` gives the lower vertebra the tips of
its transverse processes an upper body's flood reached first on a forward-leaning column,
``spinous_tips_to_upper`` gives the upper vertebra the tip of its long spinous process where
it lay on the process below, along the line of the process, and ``arch_above_the_top``
leaves unlabelled the laminae of a vertebra whose body the view cut off above the top one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

__all__ = ["body_frames", "ColumnFrames", "column_frames", "pair_coordinates", "pair_lateral_mm", "points_in_pair_frame", "settle_arch_claims",
           "canal_behind_bodies", "arch_body_ratios", "return_taken_arches", "return_taken_pedicles",
           "whole_pedicles", "spinous_tips_to_upper", "arch_above_the_top", "lateral_bone_to_lower", "MIN_ARCH_RATIO"]

_BODY_CLASS = 1
_ARCH_CLASSES = (2, 3, 4)
_PEDICLE_CLASSES = (3, 4)
_CANAL_CLASS = 5
#: Near the canal (``r`` below ``_FAR_MM``), bone below this ``s`` is the lower vertebra's.
_LOWER_BELOW_S = -0.15
#: Far behind the canal (spinous processes), the upper vertebra's processes reach down to here.
_FAR_MM = 40.0
_FAR_LOWER_BELOW_S = -0.75
#: Bone above the midpoint, beyond the pedicles, is the upper vertebra's. Closer in, where the
#: facet joints are, superior and inferior articular processes interlock: no rule, as before.
_FACET_MM = 25.0
#: Arch / body voxels of an instance below which the network missed its arch: pedicles,
#: laminae and processes hold about half as many voxels as the body (0.36-0.9 on held-out
#: synthetic cases); on real CT the network found almost none (0.04).
MIN_ARCH_RATIO = 0.2
#: An instance whose arch / body ratio is below this share of both neighbours' lost its arch
#: to the one below. On the network's instances, necks run at ~2.2, thoracic vertebrae at
#: 1.5-2.0 and lumbar ones at ~0.55 (so L5 above S1's ~2.0 is not one); C7 at the junction
#: of flexed necks 220002 and 594003: 0.54 and 0.72 beside 2.1-2.75.
_TAKEN_ARCH_SHARE = 0.35
#: Arch bone this far (mm) or further from two bodies' midplane, below ``_LATERAL_BELOW_S`` and
#: not in front of the bodies' line (``_LATERAL_FROM_R_MM``), is the lower vertebra's
#: transverse process: on the ground truth of 48 tuning cases (necks, T1-S1, T8-S1) the upper
#: vertebra's own arch has no voxel at 30 mm or more below ``s`` = 0.15.
_LATERAL_MM = 30.0
_LATERAL_BELOW_S = 0.15
_LATERAL_FROM_R_MM = -5.0
#: More arch voxels per body voxel than this is the atlas, or an instance holding it: C1 has no
#: body (the network gives it a few voxels: 255-541) and its lateral masses lie far out to the
#: side; C2 with C1's ring merged in (tuning neck 594006): 6.96. Other vertebrae 1.3-3.1.
_RING_RATIO = 4.0
#: Two groups of one vertebra's voxels of one pedicle class this far apart (mm, along the pair's
#: axis; the working grid is 2 mm) are two vertebrae's pedicles (``return_taken_pedicles``).
_PEDICLE_GAP_MM = 3.0
#: ... when the upper group holds at least this share of them (else it is a stray).
_PEDICLE_GROUP_SHARE = 0.25
#: A connected piece of one pedicle class at most this long (mm, its box's diagonal) is one
#: pedicle (``whole_pedicles``): 11-19 mm on fresh cases; two neighbours' touching are longer.
_PEDICLE_MAX_MM = 22.0
#: ``arch_above_the_top``: in the frame of the two top bodies, arch bone near the canal above this
#: ``s`` is rare in a vertebra's own arch ...
_TOP_ARCH_S = 1.0
#: ... and more than this share of the top vertebra's arch near the canal there is another's.
_TOP_EXCESS = 0.07
#: ``spinous_tips_to_upper``: a spinous process's line is fitted near the midplane (mm) ...
_FRAME_MIDLINE_MM = 10.0
#: ... to its bone this far (mm) or more behind the bodies' line (the laminae's back and the process) ...
_ROD_FROM_MM = 25.0
#: ... when it has this many voxels over this span (mm) behind ...
_ROD_MIN_VOXELS = 30
_ROD_MIN_SPAN_MM = 10.0
#: ... and the lower vertebra's lies at least this far (in ``s``) below the line ...
_ROD_MIN_APART = 0.5
#: ... and the line descends at least this much (``s`` per mm behind): lumbar processes run
#: straight back (0.000-0.009 on fresh cases, T11-T12 too) and no tip overhangs there; where
#: a crushed L2 shifted the frame, a flat line took 1 % of its own process (671003).
#: Upper and mid-thoracic lines descend 0.015-0.047, cervical ones 0.022-0.034.
_ROD_MIN_DESCENT = 0.01


def body_frames(classes: np.ndarray, labels: np.ndarray, coarse_spacing: Sequence[float]
                ) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
    """Centre (mm) of each instance's body, and of its pedicles where the network found them."""
    spacing = np.asarray(coarse_spacing, dtype=float)
    bodies = _centres_by_label(classes == _BODY_CLASS, labels)
    pedicles = _centres_by_label(np.isin(classes, _PEDICLE_CLASSES), labels)
    centre = {i: (c + 0.5) * spacing for i, c in bodies.items()}
    pedicle = {i: (c + 0.5) * spacing for i, c in pedicles.items() if i in centre}
    return centre, pedicle


def _centres_by_label(mask: np.ndarray, labels: np.ndarray) -> dict[int, np.ndarray]:
    """Mean voxel index of ``mask`` within each label (not 0) it touches: one bincount per axis
    (``ndimage.center_of_mass`` with a list of labels took 0.1 s per call on the clinical-size
    case's working grid, and the refinement asks up to four times)."""
    where = np.nonzero(mask)
    owner = labels[where].astype(np.intp)
    count = np.bincount(owner)
    sums = [np.bincount(owner, weights=axis, minlength=count.size) for axis in where]
    return {i: np.array([s[i] / count[i] for s in sums]) for i in np.nonzero(count)[0] if i}


def canal_behind_bodies(classes: np.ndarray, labels: np.ndarray, coarse_spacing: Sequence[float],
                        centre: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
    """Centre (mm) of the canal in each body's slices: which way is backwards where the network
    found no pedicles (it missed the arches: real CT)."""
    spacing = np.asarray(coarse_spacing, dtype=float)
    canal = classes == _CANAL_CLASS
    behind: dict[int, np.ndarray] = {}
    for instance in centre:  # every instance with a body: its slices are not empty
        slices = np.nonzero(((classes == _BODY_CLASS) & (labels == instance)).any(axis=(1, 2)))[0]
        points = np.argwhere(canal[slices.min() : slices.max() + 1])
        if len(points):
            behind[instance] = (points.mean(axis=0) + [slices.min() + 0.5, 0.5, 0.5]) * spacing
    return behind


@dataclass(frozen=True)
class ColumnFrames:
    """Each body's centre and the canal's centre in its slices (mm): the frames the midline
    rules (``spinous_tips_to_upper``, ``arch_above_the_top``, ``refine._upper_arch_in_frame``)
    work in, made once per refinement (~70 ms on a clinical CT's working grid)."""

    centre: dict[int, np.ndarray]
    behind: dict[int, np.ndarray]


def column_frames(classes: np.ndarray, labels: np.ndarray, coarse_spacing: Sequence[float]) -> ColumnFrames:
    """``ColumnFrames`` of the instances ``labels`` (coarse grid)."""
    centre, _ = body_frames(classes, labels, coarse_spacing)
    return ColumnFrames(centre, canal_behind_bodies(classes, labels, coarse_spacing, centre))


def _pair_frame(upper: int, lower: int, centre: dict[int, np.ndarray], pedicle: dict[int, np.ndarray]
                ) -> tuple[np.ndarray, np.ndarray, float, np.ndarray] | None:
    """(midpoint, unit axis lower -> upper, centre distance, unit backwards) of two bodies, or None."""
    if upper not in centre or lower not in centre:
        return None
    backwards = [pedicle[i] - centre[i] for i in (upper, lower) if i in pedicle]
    if not backwards:
        return None
    axis = centre[upper] - centre[lower]
    length = float(np.linalg.norm(axis))
    if length == 0:
        return None
    axis /= length
    back = np.mean(backwards, axis=0)
    back -= (back @ axis) * axis
    norm = float(np.linalg.norm(back))
    if norm == 0:
        return None
    return (centre[upper] + centre[lower]) / 2, axis, length, back / norm


def pair_coordinates(points_mm: np.ndarray, upper: int, lower: int, centre: dict[int, np.ndarray],
                     pedicle: dict[int, np.ndarray]) -> tuple[np.ndarray, np.ndarray] | None:
    """(s, r) of ``points_mm`` (n, 3) in the frame of two neighbouring bodies, or None without
    a frame (a body or both vertebrae's pedicles missing)."""
    frame = _pair_frame(upper, lower, centre, pedicle)
    if frame is None:
        return None
    mid, axis, length, back = frame
    relative = points_mm - mid
    return relative @ axis / length, relative @ back


def pair_lateral_mm(points_mm: np.ndarray, upper: int, lower: int, centre: dict[int, np.ndarray],
                    pedicle: dict[int, np.ndarray]) -> np.ndarray | None:
    """How far (mm) each of ``points_mm`` lies left or right of the two bodies' midplane, or None."""
    frame = _pair_frame(upper, lower, centre, pedicle)
    if frame is None:
        return None
    mid, axis, _, back = frame
    return np.abs((points_mm - mid) @ np.cross(axis, back))


def points_in_pair_frame(grown: np.ndarray, box: tuple[slice, ...], instance: int, not_body: np.ndarray, upper: int,
                         lower: int, centre: dict[int, np.ndarray], backwards: dict[int, np.ndarray],
                         spacing: Sequence[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """(voxel indices, ``s``, ``r``, lateral mm) of ``instance``'s voxels outside the bodies, in
    its ``box`` of ``grown`` (fine grid), in the frame of bodies ``upper`` and ``lower``; None
    without a frame. ``backwards`` holds the pedicles' centres, or the canal's."""
    points = np.argwhere((grown[box] == instance) & not_body[box]) + [sl.start for sl in box]
    mm = (points + 0.5) * np.asarray(spacing, dtype=float)
    frame = pair_coordinates(mm, upper, lower, centre, backwards)
    lateral = pair_lateral_mm(mm, upper, lower, centre, backwards)
    if frame is None or lateral is None:
        return None
    return points, frame[0], frame[1], lateral


def settle_arch_claims(by_network: np.ndarray, by_image: np.ndarray, classes: np.ndarray, labels: np.ndarray,
                       coarse_spacing: Sequence[float], spacing: Sequence[float],
                       atlas: tuple[int, int] | None = None) -> np.ndarray:
    """One label per bone voxel from the network's and the image's answers (fine grid).

    Where only one answers, it stands; where they disagree, neighbours' claims are settled in
    their frame (module docstring). Claims two or more levels apart, and claims of a vertebra
    without a body (C1), keep the network's answer (session 25: the image's flood crosses
    facet joints freely in the neck); anything else goes to the more cranial vertebra.
    ``classes`` and ``labels`` are the coarse grid over the same field as the fine arrays.
    ``atlas`` = (C1's instance, the last fine slice of C2's body proper) where C1 was found:
    C1 has no frame even where the instance flood gave it some of the dens (body class), and
    what it claims against C2 level with or below C2's body proper is C2's (its superior
    articular facets; C1's lateral masses rest on them, above).
    """
    both = (by_network > 0) & (by_image > 0)
    settled = np.where(both, np.minimum(by_network, by_image), np.maximum(by_network, by_image)).astype(np.int16)
    disputed = both & (by_network != by_image)
    if not disputed.any():
        return settled
    centre, pedicle = body_frames(classes, labels, coarse_spacing)
    if atlas is not None:
        centre.pop(atlas[0], None)
        pedicle.pop(atlas[0], None)
    points = np.argwhere(disputed)
    upper = np.minimum(by_network[disputed], by_image[disputed])
    lower = np.maximum(by_network[disputed], by_image[disputed])
    # the network's answer stands where a flood reached past the neighbour into a second
    # vertebra's arch (through a facet joint: no process overhangs two levels), and where the
    # upper one has no body (C1: the cranial one winning gave C2's arch to the atlas)
    network = by_network[disputed]
    choice = np.where((lower - upper >= 2) | ~np.isin(upper, list(centre)), network, upper)
    if atlas is not None:
        atlas_id, axis_body_top = atlas
        choice[(upper == atlas_id) & (lower == atlas_id + 1) & (points[:, 0] <= axis_body_top)] = atlas_id + 1
    fine_spacing = np.asarray(spacing, dtype=float)
    for u in np.unique(upper):
        pair = (upper == u) & (lower == u + 1)  # neighbours only
        if not pair.any():
            continue
        frame = pair_coordinates((points[pair] + 0.5) * fine_spacing, int(u), int(u) + 1, centre, pedicle)
        if frame is None:
            continue
        s, r = frame
        far = r >= _FAR_MM
        is_lower = np.where(far, s < _FAR_LOWER_BELOW_S, s < _LOWER_BELOW_S)
        is_upper = ~is_lower & (far | ((r >= _FACET_MM) & (s > 0)))
        picked = choice[pair]
        picked[is_lower] = u + 1
        picked[is_upper] = u
        choice[pair] = picked
    settled[disputed] = choice
    return settled


def arch_body_ratios(labels: np.ndarray, classes: np.ndarray) -> dict[int, float]:
    """Arch voxels / body voxels of each instance with a body (the network's classes)."""
    size = int(labels.max(initial=0)) + 1
    body = np.bincount(labels[classes == _BODY_CLASS], minlength=size)
    arch = np.bincount(labels[np.isin(classes, _ARCH_CLASSES)], minlength=size)
    return {i: float(arch[i] / body[i]) for i in range(1, size) if body[i] > 0}


def return_taken_arches(labels: np.ndarray, classes: np.ndarray, coarse_spacing: Sequence[float]) -> np.ndarray:
    """``labels`` with the arch bone a vertebra's lower neighbour took given back to it.

    A vertebra with far less arch for its body than both neighbours (``_TAKEN_ARCH_SHARE``)
    whose arch the network did find (``MIN_ARCH_RATIO``: where it missed it, ``refine``
    seeds the arch instead) lost it to the vertebra below: its arch bone above the two
    bodies' midpoint (``s`` > 0), where the lower arch never reaches, is its own again.
    Benchmark neck 220002: C7 0.68 -> 0.84, T1 0.77 -> 0.85; fresh neck 594003: C7
    0.73 -> 0.85. Neither the top nor the bottom of the view's column is judged: a
    vertebra cut by the view has less arch than its neighbours for that reason alone.
    """
    ratios = arch_body_ratios(labels, classes)
    taken = [upper for upper, ratio in ratios.items()
             if upper - 1 in ratios and upper + 1 in ratios and ratio >= MIN_ARCH_RATIO
             and ratio < _TAKEN_ARCH_SHARE * min(ratios[upper - 1], ratios[upper + 1])]
    if not taken:
        return labels
    centre, pedicle = body_frames(classes, labels, coarse_spacing)
    spacing = np.asarray(coarse_spacing, dtype=float)
    arch = np.isin(classes, _ARCH_CLASSES)
    returned = labels.copy()
    for upper in taken:
        points = np.argwhere(arch & (labels == upper + 1))
        frame = pair_coordinates((points + 0.5) * spacing, upper, upper + 1, centre, pedicle)
        if frame is None:
            continue
        above = points[frame[0] > 0]
        returned[tuple(above.T)] = upper
        log.info("instance %d had %.2f arch voxels per body voxel against its neighbours' %.2f and %.2f: "
                 "%d arch voxels above the midpoint taken back from the one below", upper, ratios[upper],
                 ratios[upper - 1], ratios[upper + 1], len(above))
    return returned


def return_taken_pedicles(labels: np.ndarray, classes: np.ndarray, coarse_spacing: Sequence[float]) -> np.ndarray:
    """``labels`` with the pedicles a vertebra's upper neighbour took given back to it.

    A vertebra has one pedicle a side, at the upper part of its body. Where a body is
    crushed (a pathologic fracture) its arch keeps its height and rises above what is left
    of the body, and the network gave the upper part of that arch, one pedicle or both, to
    the vertebra above, whose own pedicles lie higher: its voxels of that pedicle class then
    form two groups along the pair's axis, split by ``_PEDICLE_GAP_MM`` or more. The lower
    group, below the pair's midpoint, is the lower vertebra's when that one holds fewer
    voxels of that pedicle of its own than the group. The arch voxels on that side, near
    the canal and up to the group's top, go with it (the lamina and processes the pedicle
    carries; a spinous process hanging down far behind the canal stays the upper one's).
    """
    centre, pedicle_centre = body_frames(classes, labels, coarse_spacing)
    spacing = np.asarray(coarse_spacing, dtype=float)
    arch = np.isin(classes, _ARCH_CLASSES)
    returned = labels.copy()
    for upper in sorted(centre):
        lower = upper + 1
        frame = _pair_frame(upper, lower, centre, pedicle_centre)
        points = np.argwhere(arch & (labels == upper))
        if frame is None or len(points) < 2:
            continue
        mid, axis, _, back = frame
        relative = (points + 0.5) * spacing - mid
        along_mm, behind_mm = relative @ axis, relative @ back  # from the pair's midpoint
        side = np.sign(relative @ np.cross(axis, back))
        point_classes = classes[tuple(points.T)]
        taken = np.zeros(len(points), dtype=bool)
        for pedicle_class in _PEDICLE_CLASSES:
            mine = point_classes == pedicle_class
            order = np.sort(along_mm[mine])
            if order.size < 2:
                continue
            gaps = np.diff(order)
            cut = int(np.argmax(gaps))
            top = float(order[cut])  # the lower group's top
            group = mine & (along_mm <= top)
            own = int(((classes == pedicle_class) & (labels == lower)).sum())
            if (gaps[cut] < _PEDICLE_GAP_MM or order[: cut + 1].mean() >= 0 or cut + 1 <= own
                    or order.size - cut - 1 < _PEDICLE_GROUP_SHARE * order.size):
                continue
            group_side = np.sign(side[group].mean())
            taken |= (along_mm <= top) & (behind_mm < _FAR_MM) & (side == group_side)
            log.info("instance %d held two groups of pedicle (class %d) voxels %.0f mm apart: the lower one given "
                     "to instance %d below (it held %d such voxels)", upper, pedicle_class, gaps[cut], lower, own)
        returned[tuple(points[taken].T)] = lower
    return returned


def whole_pedicles(labels: np.ndarray, classes: np.ndarray, coarse_spacing: Sequence[float]) -> np.ndarray:
    """``labels`` with each pedicle the network split between two neighbours given whole to
    the one holding most of it.

    A pedicle belongs to one vertebra. Beside a crushed body the network's instances cut
    some pedicles across (fresh case 680075, T11 crushed by 40 %: 45 of a pedicle's 132
    voxels were T10's; 680057, T6: 19 of 54 were T5's), and both floods carried the cut up
    the arch. A connected piece of one pedicle class no longer than ``_PEDICLE_MAX_MM``
    is one pedicle; a longer one may be two neighbours' pedicles touching and is left alone.
    The atlas is not judged: the network's pedicle classes beside C2 there are its lateral
    masses (benchmark neck 220003 lost 26 such voxels to C2: C1 / C2 -0.007).
    """
    from scipy import ndimage

    spacing = np.asarray(coarse_spacing, dtype=float)
    ratios = arch_body_ratios(labels, classes)
    out = labels.copy()
    for pedicle_class in _PEDICLE_CLASSES:
        pieces, _ = ndimage.label((classes == pedicle_class) & (labels > 0), structure=np.ones((3, 3, 3), bool))
        for index, box in enumerate(ndimage.find_objects(pieces), start=1):
            if box is None:
                continue
            piece = pieces[box] == index
            owners, votes = np.unique(labels[box][piece], return_counts=True)
            if (len(owners) != 2 or abs(int(owners[0]) - int(owners[1])) != 1
                    or any(ratios.get(int(owner), np.inf) > _RING_RATIO for owner in owners)):
                continue  # not neighbours, or the atlas (no body; its lateral masses are no pedicle)
            corners = np.argwhere(piece) * spacing
            extent = float(np.linalg.norm(corners.max(axis=0) - corners.min(axis=0)))
            if extent > _PEDICLE_MAX_MM:
                continue
            winner = int(owners[int(np.argmax(votes))])
            out[box][piece] = winner
            log.info("a pedicle (class %d, %.0f mm) split %s between instances %s: given whole to %d", pedicle_class,
                     extent, votes.tolist(), owners.tolist(), winner)
    return out


def spinous_tips_to_upper(grown: np.ndarray, not_body: np.ndarray, classes: np.ndarray, labels: np.ndarray,
                          coarse_spacing: Sequence[float], spacing: Sequence[float],
                          frames: ColumnFrames | None = None) -> np.ndarray:
    """``grown`` (fine grid) with the tip of an upper vertebra's spinous process, which the
    lower vertebra held, given back along the line of its process.

    Thoracic spinous processes are long and steep: a mid-thoracic one reaches down past the
    next vertebra's body (``s`` below -1 in the pair's frame), lying on the lower one's
    process like a roof tile, and both floods reached its tip from the lower process first
    (T3-T7 lost 2-5 % of their voxels so; C7's long process on T1's likewise). Near the
    midplane each process is a straight rod, and the two rods are parallel, a level
    apart: the upper one's line is fitted to its own bone behind ``_ROD_FROM_MM``, the
    lower one's place beside it from its own bone before ``_FAR_MM`` (its laminae and the
    process's base, which no tip reaches), and the lower vertebra's bone far behind the
    canal nearer the upper line than halfway to the lower one goes to the upper vertebra.
    """
    from scipy import ndimage

    if labels.max() < 2:
        return grown
    frames = frames or column_frames(classes, labels, coarse_spacing)
    centre, behind = frames.centre, frames.behind
    boxes = ndimage.find_objects(grown)
    out = grown.copy()
    for lower in range(2, min(int(labels.max()), len(boxes)) + 1):
        upper = lower - 1
        if boxes[upper - 1] is None or boxes[lower - 1] is None:
            continue
        # from ``out``: the upper vertebra's own tip, given back a step before, no longer bends its line
        own = points_in_pair_frame(out, boxes[upper - 1], upper, not_body, upper, lower, centre, behind, spacing)
        below = points_in_pair_frame(out, boxes[lower - 1], lower, not_body, upper, lower, centre, behind, spacing)
        if own is None or below is None:
            continue
        _, s_up, r_up, lateral_up = own
        points, s, r, lateral = below
        rod = (lateral_up <= _FRAME_MIDLINE_MM) & (r_up >= _ROD_FROM_MM)
        base = (lateral <= _FRAME_MIDLINE_MM) & (r >= _ROD_FROM_MM) & (r < _FAR_MM)
        if rod.sum() < _ROD_MIN_VOXELS or base.sum() < _ROD_MIN_VOXELS or np.ptp(r_up[rod]) < _ROD_MIN_SPAN_MM:
            continue
        slope, intercept = np.polyfit(r_up[rod], s_up[rod], 1)
        offset = float(np.median(s[base] - (intercept + slope * r[base])))
        if offset > -_ROD_MIN_APART or slope > -_ROD_MIN_DESCENT:  # a lumbar process runs straight back
            continue
        tip = (lateral <= _FRAME_MIDLINE_MM) & (r >= _FAR_MM) & (s > intercept + slope * r + offset / 2)
        if tip.any():
            out[tuple(points[tip].T)] = upper
            log.info("%d voxels of instance %d far behind the canal lie in line with instance %d's spinous process: "
                     "given to it", int(tip.sum()), lower, upper)
    return out


def arch_above_the_top(grown: np.ndarray, not_body: np.ndarray, classes: np.ndarray, labels: np.ndarray,
                       coarse_spacing: Sequence[float], spacing: Sequence[float],
                       frames: ColumnFrames | None = None) -> np.ndarray:
    """``grown`` (fine grid) without the arch of the vertebra above the top one, which the view
    cut off above its body.

    The laminae and inferior articular processes of a vertebra hang below its body, so a
    view ending just above the top body still shows them; nothing of that vertebra is an
    instance, and the flood gave its bone to the top vertebra (benchmark case 210000: T2
    held 1,137 voxels of T1's laminae, T2 0.867). In the frame of the two top bodies
    (``s`` = 0.5 at the top body's centre) a vertebra's own arch near the canal barely
    reaches above ``s`` = 1.0 (its superior articular processes: 0-4 % of it on 49 other
    cases, fresh and benchmark); where more than ``_TOP_EXCESS`` of the top vertebra's arch
    near the canal lies above it (210000: 11 %), that bone is the vertebra above's and is
    left unlabelled. A spinous tip of the vertebra above, far behind the canal, hangs lower
    and is not judged. Nor is a top body the view cuts (its centre, and so the frame, is
    off), nor a top arch the network missed (real CT: the 20-slice series' T11, cut by the
    view, lost 30 % of its arch near the canal so, 0.478 -> 0.463).
    """
    from scipy import ndimage

    frames = frames or column_frames(classes, labels, coarse_spacing)
    centre, behind = frames.centre, frames.behind
    ratio = arch_body_ratios(labels, classes).get(1, np.inf)
    if 1 not in centre or 2 not in centre or not MIN_ARCH_RATIO <= ratio <= _RING_RATIO:
        return grown  # one vertebra, the atlas on top (its ring is all arch), or its arch missed (real CT)
    slices = np.nonzero(((classes == _BODY_CLASS) & (labels == 1)).any(axis=(1, 2)))[0]
    if slices.min() == 0 or slices.max() == labels.shape[0] - 1:
        return grown  # the view cuts the top body: its centre, and so the frame, is off
    boxes = ndimage.find_objects(grown)
    if not boxes or boxes[0] is None:
        return grown
    found = points_in_pair_frame(grown, boxes[0], 1, not_body, 1, 2, centre, behind, spacing)
    if found is None:
        return grown
    points, s, r, _ = found
    near_canal = r < _FAR_MM
    above = near_canal & (s > _TOP_ARCH_S)
    if above.sum() <= _TOP_EXCESS * near_canal.sum():
        return grown
    out = grown.copy()
    out[tuple(points[above].T)] = 0
    log.info("%d voxels of arch above the top vertebra (%.0f %% of its arch near the canal): the vertebra above's, "
             "whose body the view cut off; left unlabelled", int(above.sum()), 100.0 * above.sum() / near_canal.sum())
    return out


def lateral_bone_to_lower(grown: np.ndarray, not_body: np.ndarray, classes: np.ndarray, labels: np.ndarray,
                          coarse_spacing: Sequence[float], spacing: Sequence[float]) -> np.ndarray:
    """``grown`` (fine grid) with the upper vertebra's arch bone far out to the side below the
    pair's midpoint given to the vertebra below: that is the lower one's transverse process.

    Where the column is tilted forward (the cervicothoracic junction of a flexed neck), an
    axial slice through the upper body meets the tips of the lower vertebra's transverse
    processes, and both floods reached them from the upper body first. No frame cut near the
    midline separates the two there (the articular processes interlock), but far out to the
    side only the lower vertebra's processes lie below the midpoint (``_LATERAL_MM``): tuning
    necks 594000-594007 0.885 -> 0.889 (594004 C7 0.79 -> 0.84), confirming necks 597000-597007
    0.903 -> 0.904, and no vertebra of the T1-S1 and T8-S1 tuning cases lost. The atlas is not
    judged: it has no body to take a frame from, and its lateral masses lie far out to the
    side (``_RING_RATIO``). ``not_body`` marks the fine voxels outside the network's bodies;
    ``classes`` and ``labels`` are the coarse grid over the same field.
    """
    from scipy import ndimage

    centre, pedicle = body_frames(classes, labels, coarse_spacing)
    ratios = arch_body_ratios(labels, classes)
    boxes = ndimage.find_objects(grown)
    out = grown.copy()
    for upper in sorted(centre):
        lower = upper + 1
        if (lower not in centre or ratios.get(upper, np.inf) > _RING_RATIO or upper > len(boxes)
                or boxes[upper - 1] is None):
            continue
        found = points_in_pair_frame(grown, boxes[upper - 1], upper, not_body, upper, lower, centre, pedicle, spacing)
        if found is None:
            continue
        points, s, r, lateral = found
        move = (lateral >= _LATERAL_MM) & (s < _LATERAL_BELOW_S) & (r >= _LATERAL_FROM_R_MM)
        if move.any():
            out[tuple(points[move].T)] = lower
            log.debug("instance %d: %d arch voxels far out to the side below the midpoint given to %d",
                      upper, int(move.sum()), lower)
    return out
