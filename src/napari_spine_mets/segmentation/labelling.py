"""From the network's part classes to named vertebrae.

Vertebral bodies are separated by discs, so each connected body is one vertebra; the bony
parts behind it (pedicles, laminae, processes) are attached to the body they connect to
through bone (a marker watershed inside the bone mask). Levels are then named by counting
bodies from an anchor: the sacrum when it is in view (the body resting on it is S1), or a
level the user names, or C2 when its dens is seen (``craniocervical``: C1 has no body, so it
is found from its arch bone around the dens; without C1 the names are a suggestion), or the
last rib-bearing vertebra as T12 when a vertebra below it is in view, or the first
rib-bearing vertebra as T1 when two rib-less ones are in view above it and a rib-bearing one
below (a cervicothoracic view without the dens). Without an anchor nothing is guessed: the
vertebrae are returned unnamed and the result says so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from ..anatomy import LEVELS, TOTALSEG_SACRUM, VertebraPart, label_of_level
from .classes import SACRUM_CLASS
from .rib_anchor import RibAnchor

__all__ = ["Instances", "LevelNaming", "find_instances", "arches_from_pedicles", "name_levels", "without_instances",
           "disc_dip", "FIRST_UNNAMED_ID"]

log = logging.getLogger(__name__)

#: Vertebrae that could not be named get ids from here up (outside TotalSegmentator's range).
FIRST_UNNAMED_ID = 201
#: Smaller body fragments are noise or partial-volume crumbs (and a level with less body in view cannot be found).
MIN_BODY_MM3 = 1500.0
#: A piece cut from a larger body at a disc (``_split_at_discs``: an area dip with disc beside
#: it, and ``_MIN_PIECE_MM`` of height each side) is a body with less: a cervical body crushed
#: by a fracture is 1.4 mL on the 2 mm grid (seed 590006's C6, taken into C5 at 1500, which put
#: every level above it one off).
MIN_CUT_PIECE_MM3 = 1000.0
#: A small body counts as a crushed vertebra only in line with the bodies above and below it
#: (in-plane centres this close, mm; a lordotic neck shifts ~5 mm a level).
_IN_LINE_MM = 12.0
_SLIVER_SECTION = 0.15  # a body piece whose mean axial section is below this share of the median piece's
#: A body is cut where its axial area dips at a disc the network ran its body class through.
_DIP_RATIO = 0.7  # area at the cut / the smaller of the peaks on either side; a body's waist is ~0.85
_MIN_PIECE_MM = 10.0  # each side of a cut keeps at least this much body height (a body is 15-35 mm tall)
_MIN_DISC_MM2 = 150.0  # disc-class area next to the cut, inside the body's footprint
#: With this much disc beside it (mm², the three slices around the dip), a shallower dip is a
#: disc too: a thin cervical disc at 3 mm slices dips to 0.72 of the bodies' area.
_CLEAR_DISC_MM2 = 250.0
_CLEAR_DIP_RATIO = 0.8
#: A body piece spanning more than this many times the median piece's slices is two bodies
#: (``_split_tall_bodies``): cut at a dip down to ``_TALL_DIP_RATIO``, each side this tall (mm).
_TALL_FACTOR = 1.4
_TALL_DIP_RATIO = 0.95
_TALL_MIN_PIECE_MM = 6.0
_DISC_WINDOW_MM = 8.0  # disc voxels this far above/below the dip slice give the disc's plane
_MAX_DISC_TILT = 0.45  # dz/d(in-plane) of the disc plane, about 24 degrees


@dataclass
class Instances:
    """One id per vertebra (1 = most cranial), plus the sacrum mask."""

    labels: np.ndarray  # (z, y, x) int16, 0 = none
    count: int
    sacrum: np.ndarray  # bool
    #: The instance whose body carries a dens (C2), and C1 found around it (``craniocervical``).
    axis_id: int | None = None
    atlas_id: int | None = None
    #: How high (mm along axis 0 from the grid's edge) C1 may reach: above it is skull base.
    atlas_top_mm: float | None = None


@dataclass
class LevelNaming:
    """Level of each instance, and how the naming was anchored."""

    levels: dict[int, str | None]
    anchor: str
    confident: bool
    notes: list[str] = field(default_factory=list)


def _mean_slice(piece: np.ndarray) -> float:
    """The mean slice index of a mask's voxels, from its per-slice counts (one pass, no index list)."""
    counts = piece.sum(axis=tuple(range(1, piece.ndim)), dtype=np.int64)
    return float((counts * np.arange(counts.size)).sum() / counts.sum())


def find_instances(classes: np.ndarray, spacing: tuple[float, float, float]) -> Instances:
    """Split the bone classes into vertebrae, ordered cranial (id 1) to caudal.

    Each connected body is one vertebra, unless the network ran its body class through a
    disc (it does on real CT, where discs are thin and endplates oblique): such a body is
    cut where its axial area dips with disc evidence beside the dip (``_split_at_discs``),
    or, where the column leans far off the scan's axis, where its area across the column
    dips so (``tilted_split``).
    """
    from scipy import ndimage
    from skimage.segmentation import watershed

    from .craniocervical import skull_base_above_dens
    from .tilted_split import split_tilted_bodies

    voxel_mm3 = float(np.prod(spacing))
    bodies, n = ndimage.label(classes == 1)
    pieces: list[np.ndarray] = []
    groups: list[int] = []  # the connected body each piece was cut from
    if n:
        sizes = ndimage.sum_labels(np.ones_like(bodies), bodies, index=np.arange(1, n + 1)) * voxel_mm3
        objects = ndimage.find_objects(bodies)
        small: list[tuple[int, np.ndarray]] = []  # bodies under MIN_BODY_MM3: crumbs, or crushed
        for i, size in enumerate(sizes):
            if size < MIN_BODY_MM3:
                if size >= MIN_CUT_PIECE_MM3:
                    small.append((i, bodies == i + 1))
                continue
            region = objects[i]
            split = _split_at_discs(bodies[region] == i + 1, classes[region], spacing)
            smallest = MIN_BODY_MM3 if len(split) == 1 else MIN_CUT_PIECE_MM3
            for piece in split:
                if float(piece.sum()) * voxel_mm3 >= smallest:
                    pieces.append(_on_grid(piece, region, classes.shape))
                    groups.append(i)
        pieces, groups = _split_tall_bodies(pieces, groups, classes, spacing)
        pieces, groups = split_tilted_bodies(pieces, groups, classes, spacing, MIN_CUT_PIECE_MM3)
        for i, body in small:
            if _between_two_bodies(body, pieces, spacing):
                log.info("a %.0f mm3 body between two vertebrae is counted as one (a crushed body)",
                         float(body.sum()) * voxel_mm3)
                pieces.append(body)
                groups.append(i)
    # array axis 0 runs inferior -> superior: most cranial = largest z index
    pieces = _drop_side_fragments(pieces, groups)
    pieces = _drop_slivers(pieces)
    centroids = [_mean_slice(piece) for piece in pieces]
    order = sorted(range(len(pieces)), key=lambda i: -centroids[i])
    if len(order) >= 2 and skull_base_above_dens(pieces[order[0]], pieces[order[1]], spacing):
        log.info("the most cranial body lies above C2's dens: skull base, not a vertebra")
        pieces = [piece for i, piece in enumerate(pieces) if i != order[0]]
        order = [i - (i > order[0]) for i in order[1:]]
    markers = np.zeros(classes.shape, dtype=np.int16)
    for new_id, index in enumerate(order, start=1):
        markers[pieces[index]] = new_id
    if len(pieces) > n:
        log.info("bodies merged through a disc were split: %d connected bodies -> %d vertebrae", n, len(pieces))
    axis_id, atlas_id, atlas_top = _find_axis_and_atlas(pieces[order[0]] if pieces else None, classes, spacing,
                                                         markers)
    bone = np.isin(classes, (1, 2, 3, 4))
    if pieces:  # the slices cut at discs are bone too: they go to the nearer body
        labels = watershed(np.zeros(classes.shape, np.uint8), markers=markers, mask=bone | (markers > 0))
    else:
        labels = markers
    return Instances(labels=labels.astype(np.int16), count=len(pieces) + (atlas_id is not None),
                     sacrum=classes == SACRUM_CLASS, axis_id=axis_id, atlas_id=atlas_id, atlas_top_mm=atlas_top)


def without_instances(instances: Instances, dropped: list[int]) -> Instances:
    """``instances`` with the ``dropped`` ids gone and the rest renumbered 1..n in the same order.

    What is not a vertebra (an even-density vessel the network took for one) must be
    gone before the levels are counted, or every name above or below it is one off.
    """
    if not dropped:
        return instances
    gone = set(dropped)
    keep = [i for i in range(1, instances.count + 1) if i not in gone]
    renumber = np.zeros(max(instances.count, int(instances.labels.max(initial=0))) + 1, dtype=np.int16)
    renumber[keep] = np.arange(1, len(keep) + 1, dtype=np.int16)
    new_id = {old: new for new, old in enumerate(keep, start=1)}
    axis_id = new_id.get(instances.axis_id) if instances.axis_id is not None else None
    atlas_id = new_id.get(instances.atlas_id) if instances.atlas_id is not None else None
    return Instances(labels=renumber[instances.labels], count=len(keep), sacrum=instances.sacrum, axis_id=axis_id,
                     atlas_id=atlas_id, atlas_top_mm=instances.atlas_top_mm if atlas_id is not None else None)


def arches_from_pedicles(labels: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """The same vertebra voxels, each arch voxel given to the vertebra whose pedicles reach it first.

    ``find_instances`` gives arch bone to the body nearest through it. Where the column is
    steeply tilted (the cervicothoracic junction of a flexed neck) a transverse process rises
    until its tip touches the vertebra above, and the tip is nearer that vertebra's body:
    T1's processes, where its first ribs articulate, went to C7, and the rib anchor then
    found no rib on T1 (5 of 8 fresh necks, seeds 590000-590007). Growing each body through
    its own pedicles first (the pedicle classes, which join a body to its arch only) and only
    then through the rest of the arch makes each process follow its own pedicle. The rib
    anchor uses this; the refined masks keep ``find_instances``' own (grown from these, mean
    vertebra Dice on those necks fell from 0.842 to 0.831).
    """
    from skimage.segmentation import watershed

    body = classes == 1
    vertebra = labels > 0
    present = np.unique(labels[vertebra])
    with_body = np.unique(labels[body & vertebra])
    # C1 has no body: all of it is its own start
    starts = body | np.isin(labels, np.setdiff1d(present, with_body))
    markers = np.where(starts & vertebra, labels, 0)
    flat = np.zeros(labels.shape, dtype=np.uint8)
    through_pedicles = watershed(flat, markers=markers, mask=(np.isin(classes, (3, 4)) & vertebra) | (markers > 0))
    return watershed(flat, markers=through_pedicles, mask=vertebra).astype(labels.dtype)


def _find_axis_and_atlas(top_body: np.ndarray | None, classes: np.ndarray, spacing: tuple[float, float, float],
                         markers: np.ndarray) -> tuple[int | None, int | None, float | None]:
    """(C2's instance id, C1's, how high C1 may reach in mm) when the most cranial body carries
    a dens; C1, which has no body, becomes instance 1 (``markers`` are renumbered in place)
    from the arch bone around it."""
    from .craniocervical import atlas_marker, atlas_top_mm, find_dens

    dens = find_dens(top_body, spacing) if top_body is not None else None
    if dens is None:
        return None, None, None
    atlas = atlas_marker(classes == 2, dens, spacing)
    if atlas is None:
        log.info("a dens was seen on the most cranial body, but no atlas around it")
        return 1, None, None
    markers[markers > 0] += 1
    markers[atlas & (markers == 0)] = 1
    return 2, 1, atlas_top_mm(dens, spacing[0])


def _drop_slivers(pieces: list[np.ndarray]) -> list[np.ndarray]:
    """Body pieces without the thin slivers no vertebral body could be.

    A body's axial section is at least about a quarter of any other body's in the same
    scan (C3 against T4, T1 against L5), however few slices of it are in view. On lumbosacral
    cases the network sometimes calls a thin strip of the sacrum's front "body": 195-525
    voxels over 30-50 slices of the 2 mm grid, a section of 3-4 % of the real bodies'.
    Counted as the vertebra resting on the sacrum, it named every level one too high (4 of
    4 L3-S1 cases with the generator's default anatomy, 3 of 14 random lumbosacral ones;
    seeds 434343-434346 and 530000-530013, used for nothing else). A piece whose mean axial
    section is under ``_SLIVER_SECTION`` of the median piece's is not counted; its voxels
    stay bone and join the nearest vertebra.
    """
    if len(pieces) < 2:
        return pieces
    sections = [float(piece.sum()) / max(1, int(piece.any(axis=(1, 2)).sum())) for piece in pieces]
    typical = float(np.median(sections))
    keep = []
    for piece, section in zip(pieces, sections):
        if section < _SLIVER_SECTION * typical:
            log.info("a %d-voxel body sliver (axial section %.0f %% of the median body's) is not counted as a vertebra",
                     int(piece.sum()), 100.0 * section / typical)
        else:
            keep.append(piece)
    return keep


def _between_two_bodies(body: np.ndarray, pieces: list[np.ndarray], spacing: tuple[float, float, float]) -> bool:
    """Whether a small body lies on the column between two vertebral bodies, above one and
    below the other, in line with both (within ``_IN_LINE_MM`` in plane).

    A fractured cervical body can be under ``MIN_BODY_MM3`` (seed 605007's C3, collapsed by
    half: 1.3 mL on the 2 mm grid); dropped as a crumb, its bone went to C2 and every level
    below was named one off. A crumb at the edge of the view, or on its own, has no body on
    one side, and stays a crumb.
    """
    lo, hi = _z_span(body)
    centre = _in_plane_centre(body, spacing)
    above = below = False
    for piece in pieces:
        p_lo, p_hi = _z_span(piece)
        if np.hypot(*(_in_plane_centre(piece, spacing) - centre)) > _IN_LINE_MM:
            continue
        above |= p_lo >= hi - 1  # at most one slice shared with either (an oblique disc)
        below |= p_hi <= lo + 1
    return above and below


def _z_span(mask: np.ndarray) -> tuple[int, int]:
    zs = np.nonzero(mask.any(axis=(1, 2)))[0]
    return int(zs[0]), int(zs[-1]) + 1


def _in_plane_centre(mask: np.ndarray, spacing: tuple[float, float, float]) -> np.ndarray:
    _, ys, xs = np.nonzero(mask)
    return np.array([ys.mean() * spacing[1], xs.mean() * spacing[2]])


def _drop_side_fragments(pieces: list[np.ndarray], groups: list[int]) -> list[np.ndarray]:
    """Body pieces without the fragments that lie beside a larger body rather than above or below it.

    Vertebral bodies stack along the spine: a piece sharing most of its slices with a body
    at least twice its size is a fragment of that vertebra (the network calls a bit of the
    arch "body", typically where the scan cuts a vertebra off), not a vertebra of its own.
    Its voxels stay bone and join the nearest vertebra. Pieces cut from one body at a disc
    (same ``groups`` entry) are never fragments of each other: the disc said they are two
    vertebrae, and an oblique disc cut lets their slices overlap (the real series' T11,
    cut by the top of the scan, shares most of its slices with T12).
    """
    if len(pieces) < 2:
        return pieces
    spans = [(*_z_span(piece), int(piece.sum())) for piece in pieces]
    keep = []
    for i, (lo, hi, size) in enumerate(spans):
        beside = any(other_size >= 2 * size and (min(hi, other_hi) - max(lo, other_lo)) >= 0.5 * (hi - lo)
                     for j, (other_lo, other_hi, other_size) in enumerate(spans) if groups[j] != groups[i])
        if beside:
            log.info("a %d-voxel body fragment beside a larger body is not counted as a vertebra", size)
        else:
            keep.append(pieces[i])
    return keep


def _on_grid(part: np.ndarray, region: tuple[slice, ...], shape: tuple[int, ...]) -> np.ndarray:
    """``part`` (a mask over ``region``) placed on the whole grid of ``shape``."""
    full = np.zeros(shape, dtype=bool)
    full[region] = part
    return full


def _split_tall_bodies(pieces: list[np.ndarray], groups: list[int], classes: np.ndarray,
                       spacing: tuple[float, float, float]) -> tuple[list[np.ndarray], list[int]]:
    """The body pieces, with any too tall for one vertebra cut at a shallow dip.

    At the cervicothoracic junction in 3 mm slices, a body crushed by a fracture ran into the
    one below it through an oblique disc (fresh neck 594000: T1, 26 % collapsed, into T2). An
    axial slice there cuts both bodies, so the area barely dips at the disc (to 0.90 of the
    crushed body's), and the crushed body is under ``_MIN_PIECE_MM`` tall: ``_split_at_discs``
    kept them one. A piece spanning over ``_TALL_FACTOR`` times the median piece's slices
    (the others: 10-11 slices; this one 16) is cut at its lowest dip with disc beside it,
    down to ``_TALL_DIP_RATIO``, each side at least ``_TALL_MIN_PIECE_MM`` tall and
    ``MIN_CUT_PIECE_MM3`` in volume (else it stays whole).
    """
    from scipy import ndimage

    if len(pieces) < 3:
        return pieces, groups
    voxel_mm3 = float(np.prod(spacing))
    heights = [_z_span(piece)[1] - _z_span(piece)[0] for piece in pieces]
    typical = float(np.median(heights))
    kept: list[np.ndarray] = []
    kept_groups: list[int] = []
    for piece, group, height in zip(pieces, groups, heights):
        parts = [piece]
        if height > _TALL_FACTOR * typical:
            region = ndimage.find_objects(piece.astype(np.uint8))[0]
            split = _split_at_discs(piece[region], classes[region], spacing, tall=True)
            if len(split) > 1 and min(float(part.sum()) for part in split) * voxel_mm3 >= MIN_CUT_PIECE_MM3:
                log.info("a body %d slices tall (the median %.0f) was cut at a shallow disc dip", height, typical)
                parts = [_on_grid(part, region, classes.shape) for part in split]
        kept.extend(parts)
        kept_groups.extend([group] * len(parts))
    return kept, kept_groups


def disc_dip(ratio: float, disc_mm2: float, tall: bool = False) -> bool:
    """Whether a body's area dipping to ``ratio`` of its peaks either side, with ``disc_mm2``
    of disc class beside the dip (three steps around it), is a disc between two bodies."""
    return (ratio <= _DIP_RATIO and disc_mm2 >= _MIN_DISC_MM2) or \
        (ratio <= _CLEAR_DIP_RATIO and disc_mm2 >= _CLEAR_DISC_MM2) or \
        (tall and ratio <= _TALL_DIP_RATIO and disc_mm2 >= _MIN_DISC_MM2)


def _split_at_discs(body: np.ndarray, classes: np.ndarray, spacing: tuple[float, float, float],
                    tall: bool = False) -> list[np.ndarray]:
    """Pieces of one connected body mask (in its bounding box), cut at discs; the cut slice is left out.

    A disc between two bodies is a slice where the body area dips well below both bodies'
    peak areas *and* the network sees disc beside it; a single body only narrows at its
    waist (about 0.85 of its endplate area) and has no disc inside it, and each piece must
    keep ``_MIN_PIECE_MM`` of height, so a normal vertebra is not cut. Recursive: a column
    of three merged bodies is cut twice. ``tall`` (a piece too tall for one body,
    ``_split_tall_bodies``): the first cut may be at a shallower dip, with shorter pieces.
    """
    from scipy import ndimage

    pixel_mm2 = float(spacing[1] * spacing[2])
    area = body.sum(axis=(1, 2)).astype(float) * pixel_mm2
    footprint = ndimage.binary_dilation(body.any(axis=0), iterations=2)
    disc = ((classes == 6) & footprint[None]).sum(axis=(1, 2)).astype(float) * pixel_mm2
    min_slices = max(1, int(np.ceil((_TALL_MIN_PIECE_MM if tall else _MIN_PIECE_MM) / spacing[0])))
    zs = np.nonzero(area)[0]
    if zs.size == 0:
        return []
    z0, z1 = int(zs[0]), int(zs[-1]) + 1
    best: tuple[float, int] | None = None
    for k in range(z0 + min_slices, z1 - min_slices):
        peak = min(area[z0:k].max(), area[k + 1 : z1].max())
        ratio = area[k] / peak if peak > 0 else 1.0
        if disc_dip(ratio, float(disc[max(0, k - 1) : k + 2].sum()), tall) and (best is None or ratio < best[0]):
            best = (ratio, k)
    if best is None:
        return [body]
    k = best[1]
    height = _disc_surface(classes, footprint, k, spacing)
    z = np.arange(body.shape[0])[:, None, None]
    below = body & (z < height[None] - 0.5)
    above = body & (z > height[None] + 0.5)
    log.debug("body cut at slice %d (area ratio %.2f), along the disc from slice %.1f to %.1f",
              k, best[0], float(height.min()), float(height.max()))
    return _split_at_discs(below, classes, spacing) + _split_at_discs(above, classes, spacing)


def _disc_surface(classes: np.ndarray, footprint: np.ndarray, k: int, spacing: tuple[float, float, float]) -> np.ndarray:
    """Height (slice index, float) of the disc's mid-plane over each (y, x) column, near slice ``k``.

    The dip slice ``k`` only says where the disc is thinnest in area; a disc is oblique to
    the axial plane wherever the spine is curved or the patient tilted (on the real series
    the network's T11/T12 disc lies slices higher at the back than at the front), so a
    flat cut gives one body's back or front to its neighbour. The network's disc voxels
    within ``_DISC_WINDOW_MM`` of the dip, over
    the body's footprint, give the disc's plane (least squares); its tilt is bounded by
    ``_MAX_DISC_TILT`` (discs are within ~25 degrees of the endplates' plane), and with
    too little disc seen the flat cut at ``k`` stays. Only the disc met at the dip counts
    (the pieces of disc class that reach its slices): where the column leans, the next disc
    up or down also comes within the window over part of the footprint, and on fresh neck
    614000 (C7 on a T1 crushed by 42 %, the column leaning ~45 degrees) the T1/T2 disc
    pulled the plane down: T1 kept only its lowest slices, which were then dropped as a
    fragment beside T2, and every level above was named one too low.
    """
    from scipy import ndimage

    flat = np.full(footprint.shape, float(k))
    window = max(1, int(round(_DISC_WINDOW_MM / spacing[0])))
    low, high = max(0, k - window), min(classes.shape[0], k + window + 1)
    disc = (classes[low:high] == 6) & footprint[None]
    pieces, _ = ndimage.label(disc, structure=np.ones((3, 3, 3), bool))
    at_dip = np.unique(pieces[max(0, k - 1 - low) : k + 2 - low])
    zs, ys, xs = np.nonzero(np.isin(pieces, at_dip[at_dip > 0]))
    if zs.size * spacing[1] * spacing[2] < _MIN_DISC_MM2:
        return flat
    design = np.column_stack([np.ones(zs.size), ys * spacing[1], xs * spacing[2]])
    (offset, slope_y, slope_x), *_ = np.linalg.lstsq(design, (zs + low) * spacing[0], rcond=None)
    slope = np.hypot(slope_y, slope_x)
    if slope > _MAX_DISC_TILT:
        slope_y, slope_x = slope_y * _MAX_DISC_TILT / slope, slope_x * _MAX_DISC_TILT / slope
        offset = float(np.mean((zs + low) * spacing[0] - slope_y * ys * spacing[1] - slope_x * xs * spacing[2]))
    yy, xx = np.mgrid[: footprint.shape[0], : footprint.shape[1]]
    height = (offset + slope_y * yy * spacing[1] + slope_x * xx * spacing[2]) / spacing[0]
    # the cut stays near the dip: an off plane must not take a whole body from either side
    return np.clip(height, k - window, k + window)


def name_levels(
    instances: Instances,
    spacing: tuple[float, float, float],
    anchor: tuple[int, str] | None = None,
    *,
    ribs: RibAnchor | None = None,
) -> LevelNaming:
    """Name each instance by counting from ``anchor`` = (instance id, level), else the sacrum,
    else C2's dens (sure with C1 found around it), else the last ribs (T12), else the first (T1).

    ``ribs`` (``rib_anchor.find_rib_anchor`` on the same instances) gives the last
    rib-bearing vertebra, taken as T12 when no sacrum is in view and a vertebra below it
    is in view (when the lowest vertebra in view bears ribs, nothing says T12 is not below
    the view: no names are suggested). When both are in view
    they must agree: a disagreement (11 or 13 rib pairs, a transitional vertebra) is
    flagged and the naming called unsure, never settled silently in favour of either; the
    same holds for the sacrum and the dens, and for the dens and the ribs.
    """
    from scipy import ndimage

    n = instances.count
    if n == 0:
        return LevelNaming({}, anchor="none", confident=False, notes=["no vertebra found"])
    if anchor is not None:
        instance_id, level = anchor
        if level.upper() not in LEVELS or not 1 <= instance_id <= n:
            raise ValueError(f"anchor {anchor} is not a valid (vertebra 1..{n}, level) pair")
        return LevelNaming(_count_from(n, instance_id, level.upper()), anchor=f"user: vertebra {instance_id} is {level.upper()}", confident=True)
    if instances.sacrum.sum() * float(np.prod(spacing)) >= 5000.0:
        # the caudal-most body sitting on the sacrum is S1
        sacrum_top = float(np.max(np.nonzero(instances.sacrum)[0]))
        centroids = ndimage.center_of_mass(np.ones_like(instances.labels), instances.labels, range(1, n + 1))
        caudal = n  # ids are ordered cranial -> caudal
        gap_mm = (centroids[caudal - 1][0] - sacrum_top) * spacing[0]
        notes = []
        if gap_mm > 60.0:
            notes.append(f"the lowest vertebra lies {gap_mm:.0f} mm above the sacrum: check the S1 anchor")
        naming = _count_from(n, caudal, "S1")
        anchor_text = "sacrum (the body resting on it is S1)"
        if ribs is not None:
            anchor_text, disagreement = _check_ribs_against_sacrum(naming, ribs, anchor_text)
            notes.extend(disagreement)
            anchor_text = _check_first_rib(naming, ribs, anchor_text, "S1", notes)
        if instances.axis_id is not None and instances.atlas_id is not None:
            counted = naming.get(instances.axis_id)
            if counted == "C2":
                anchor_text += f"; {_DENS_ANCHOR}: the two agree"
            else:
                notes.append(f"counting from S1 the vertebra with the dens is {counted or 'beyond C1'}, not C2: "
                             "a vertebra missed or extra between them, or a transitional vertebra: check the level count")
        return LevelNaming(naming, anchor=anchor_text, confident=not notes, notes=notes)
    if instances.axis_id is not None:
        return _name_from_dens(n, instances.axis_id, ribs, atlas_seen=instances.atlas_id is not None)
    if ribs is not None and ribs.anchor_id is not None and 1 <= ribs.anchor_id < n:
        return _name_from_ribs(n, ribs)
    if ribs is not None and ribs.first_rib.instance_id is not None:
        return _name_from_first_rib(n, ribs)
    extra = [*ribs.notes, *ribs.first_rib.notes] if ribs is not None else []
    if ribs is not None and ribs.anchor_id == n:
        # every vertebra down to the bottom of the view bears ribs: T12 may lie below it (a
        # chest CT usually stops above T12), so counting from the last one would mostly be wrong
        extra.append("every vertebra in view down to the lowest bears ribs: the last rib-bearing vertebra (T12) "
                     "may lie below the field of view, so no level is suggested from the ribs")
    return LevelNaming(
        {i: None for i in range(1, n + 1)},
        anchor="none",
        confident=False,
        notes=["no sacrum in view: name one vertebra and the others follow", *extra],
    )


#: The flag raised when two anchors disagree on the count.
COUNT_FLAG = "11 or 13 rib pairs, or a lumbosacral transitional vertebra: check the level count"


def _name_from_ribs(n: int, ribs: RibAnchor) -> LevelNaming:
    """Levels counted from the last rib-bearing vertebra as T12 (sure only as ``ribs`` says)."""
    assert ribs.anchor_id is not None
    naming = _count_from(n, ribs.anchor_id, "T12")
    notes = list(ribs.notes)
    if any(level is None for level in naming.values()):
        notes.append(f"more vertebrae below the last rib-bearing one than L1-S1: {COUNT_FLAG}")
    anchor_text = _check_first_rib(naming, ribs, ribs.describe("T12"), "the last rib-bearing vertebra", notes)
    if notes:
        notes.append("levels counted from the last rib-bearing vertebra (as T12) are a suggestion: confirm one level")
    return LevelNaming(naming, anchor=anchor_text, confident=ribs.confident and not notes, notes=notes)


def _name_from_first_rib(n: int, ribs: RibAnchor) -> LevelNaming:
    """Levels counted from the most cranial rib-bearing vertebra as T1 (a cervicothoracic view
    without the dens), sure only with ribs on both sides of it and of the one below."""
    first = ribs.first_rib
    assert first.instance_id is not None
    notes = list(first.notes)
    return LevelNaming(_count_from(n, first.instance_id, "T1"), anchor=first.describe(),
                       confident=first.confident and not notes, notes=notes)


def _check_first_rib(naming: dict[int, str | None], ribs: RibAnchor | None, anchor_text: str, counted_from: str,
                     notes: list[str]) -> str:
    """The anchor text, with the first rib's agreement added; a disagreement goes to ``notes``
    (only a sure first rib is checked: a faint one is no evidence against another anchor)."""
    if ribs is None or ribs.first_rib.instance_id is None or not ribs.first_rib.confident:
        return anchor_text
    counted = naming.get(ribs.first_rib.instance_id)
    if counted == "T1":
        return f"{anchor_text}; {ribs.first_rib.describe()}: the two agree"
    notes.append(f"counting from {counted_from} the first rib-bearing vertebra is {counted or 'beyond the count'}, "
                 f"not T1 (a cervical rib?): {COUNT_FLAG}")
    return anchor_text


_DENS_ANCHOR = "C2's dens (the body whose peg rises into C1's ring)"


def _name_from_dens(n: int, axis_id: int, ribs: RibAnchor | None, atlas_seen: bool) -> LevelNaming:
    """Levels counted down from C2, whose dens is unmistakable when C1's ring is seen round it
    (without C1, the top of the view cutting it, a suggestion); the ribs, when they give a
    T12 with a vertebra below it, must agree."""
    naming = _count_from(n, axis_id, "C2")
    notes: list[str] = []
    anchor_text = _DENS_ANCHOR
    if not atlas_seen:
        anchor_text = "C2's dens (the body with a peg on top; C1 not found around it)"
        notes.append("a dens was seen on the most cranial body but no C1 around it: levels counted from it as C2 "
                     "are a suggestion: confirm one level")
    if ribs is not None and ribs.anchor_id is not None and ribs.anchor_id < n:
        counted = naming.get(ribs.anchor_id) or "beyond the count"
        if counted == "T12":
            anchor_text += f"; {ribs.describe('T12')}: the two agree"
        else:
            notes.append(f"counting from C2 the last rib-bearing vertebra is {counted}, not T12: {COUNT_FLAG}")
    anchor_text = _check_first_rib(naming, ribs, anchor_text, "C2", notes)
    return LevelNaming(naming, anchor=anchor_text, confident=not notes, notes=notes)


def _check_ribs_against_sacrum(naming: dict[int, str | None], ribs: RibAnchor, anchor_text: str) -> tuple[str, list[str]]:
    """(anchor text, notes): counting from S1, the last rib-bearing vertebra should be T12."""
    t12 = next((i for i, level in naming.items() if level == "T12"), None)
    if ribs.anchor_id is not None and ribs.anchor_id == t12:
        return f"{anchor_text}; {ribs.describe('T12')}: the two agree", []
    if ribs.anchor_id is not None:
        counted = naming.get(ribs.anchor_id) or "beyond the count"
        return anchor_text, [f"counting from S1 the last rib-bearing vertebra is {counted}, not T12: {COUNT_FLAG}"]
    evidence = ribs.evidence_of(t12) if t12 is not None else None
    if t12 is not None and t12 > 1 and evidence is not None and evidence.ribless:
        # T12 and the vertebra above it are in view, yet no rib was found on either
        return anchor_text, [f"no rib found on the vertebra counted from S1 as T12: {COUNT_FLAG}"]
    return anchor_text, []


def _count_from(n: int, instance_id: int, level: str) -> dict[int, str | None]:
    position = LEVELS.index(level)
    names: dict[int, str | None] = {}
    for i in range(1, n + 1):
        index = position + (i - instance_id)  # larger id = more caudal = later in LEVELS
        names[i] = LEVELS[index] if 0 <= index < len(LEVELS) else None
    return names


def label_maps_from(classes: np.ndarray, instances: Instances, naming: LevelNaming) -> tuple[np.ndarray, np.ndarray, dict[int, str]]:
    """(vertebrae with TotalSegmentator ids, parts with VertebraPart codes, names of the ids used)."""
    # look-up tables, one gather each: a full-volume comparison per instance and per class
    # cost ~1.5 s on a 430-slice CT
    to_label = np.zeros(instances.count + 1, dtype=np.uint8)
    names: dict[int, str] = {}
    unnamed = FIRST_UNNAMED_ID
    for instance_id in range(1, instances.count + 1):
        level = naming.levels.get(instance_id)
        if level is not None:
            label, name = label_of_level(level), f"vertebrae_{level}"
        else:
            label, name = unnamed, f"vertebra_unnamed_{instance_id}"
            unnamed += 1
        to_label[instance_id] = label
        names[label] = name
    vertebrae = to_label[instances.labels]  # ids run 1..count by construction
    if instances.sacrum.any():
        vertebrae[instances.sacrum] = TOTALSEG_SACRUM
        names[TOTALSEG_SACRUM] = "sacrum"
    to_part = np.zeros(256, dtype=np.uint8)
    for cls, code in ((1, VertebraPart.BODY), (2, VertebraPart.POSTERIOR_ELEMENTS), (3, VertebraPart.PEDICLE_LEFT),
                      (4, VertebraPart.PEDICLE_RIGHT), (5, VertebraPart.CANAL), (6, VertebraPart.DISC)):
        to_part[cls] = int(code)
    parts = to_part[classes]
    return vertebrae, parts, names


def shift_levels(vertebrae: np.ndarray, names: dict[int, str], steps: int) -> tuple[np.ndarray, dict[int, str]]:
    """Rename every named vertebra ``steps`` levels caudally (negative: cranially), in one step.

    The correction a reader makes when the count was anchored on the wrong vertebra (a
    transitional vertebra, a missed rib). Refuses a shift that would run past C1 or S1.
    """
    relabel: dict[int, int] = {}
    new_names: dict[int, str] = {}
    for label, name in names.items():
        level = name.removeprefix("vertebrae_") if name.startswith("vertebrae_") else None
        if level is None or level not in LEVELS:
            new_names[label] = name
            continue
        index = LEVELS.index(level) + steps
        if not 0 <= index < len(LEVELS):
            raise ValueError(f"shifting {level} by {steps} levels runs past {'C1' if index < 0 else 'S1'}")
        target = label_of_level(LEVELS[index])
        relabel[label] = target
        new_names[target] = f"vertebrae_{LEVELS[index]}"
    out = vertebrae.copy()
    for old, new in relabel.items():
        out[vertebrae == old] = new
    return out, new_names
