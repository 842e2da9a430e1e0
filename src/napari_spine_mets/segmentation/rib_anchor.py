"""Which vertebrae bear ribs, and the level anchor that gives: the last rib-bearing one is T12.

Counting levels needs an anchor. The sacrum is the surest, but a chest or upper-abdomen
CT often stops above it, while the lowest ribs are nearly always in view. A rib is bone
outside every vertebra that starts at a vertebra (its head at the body, its tubercle at the
transverse process) and runs on laterally well beyond anything the vertebra itself reaches.
So, on the grid the vertebra instances live on:

1. each vertebra is first grown through the bone next to it, up to ``CORE_MM`` from the
   column's midline: on real scans the network misses parts of the posterior elements,
   and that unlabelled bone would otherwise join the rib heads into one large piece;
   then bone (HU above ``BONE_HU``) outside the grown vertebrae is taken, leaving out a thin
   shell around each (``SHELL_MM``) so that unlabelled cortex does not join every rib to the column,
   and leaving out the front of the cage (``FRONT_CUT_MM``), where the sternum joins the upper ribs;
2. each connected piece that comes close to a vertebra (``CONTACT_MM``) belongs to the
   vertebra it touches most, on the side where it touches, at the level of the pedicles
   and transverse processes rather than in front of the body (which is where the aorta is);
   a vertebra bears one rib a side, so where one holds two and its neighbour none, the rib
   whose mirror on the other side went to that neighbour goes there too (as does the lowest
   rib-bearing vertebra's lone rib: a twelfth rib sloping down onto L1);
3. its rib evidence grows with how far it runs laterally beyond the vertebra's own reach and
   beyond the longest transverse process (``TP_REACH_MM``; ``FULL_EVIDENCE_MM`` further gives 1):
   a missed transverse-process fragment scores near 0, a rib running on to the edge of the
   network's box (80 mm from the midline) near 1. Pieces that are not tubes (an iliac wing touching S1's ala, an enhanced
   kidney, merged organs) are ignored: their volume per mm of length is far above a rib's.

The most caudal rib-bearing vertebra is taken as T12, but only with a rib-less vertebra seen
below it is the count called sure: if the field of view stops under the lowest rib, the
ribs below could be out of view. Eleven or thirteen rib pairs and lumbosacral transitional
vertebrae cannot be told from ribs alone; ``labelling.name_levels`` flags them when the
sacrum's count disagrees. Rib-like bone beside the lowest vertebrae in view, below a run of
rib-less (lumbar) ones, is the pelvis, not ribs (``_pelvis_not_ribs``).

Orientation: arrays are (z, y, x) with axis 0 running inferior -> superior (the project's
convention, id 1 = most cranial instance), y towards the patient's back and x towards the
patient's left (LPS, as DICOM and the synthetic cases store them); ``x_towards_left`` and
``y_towards_back`` say otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

__all__ = ["RibEvidence", "RibAnchor", "FirstRib", "find_rib_anchor", "BONE_HU", "HAS_RIBS_EVIDENCE", "RIBLESS_EVIDENCE"]

log = logging.getLogger(__name__)

#: Bone threshold on the 2 mm grid: a rib averages 300-600 HU there, enhanced blood ~180.
BONE_HU = 200.0
#: Vertebrae are grown through adjacent bone up to this far (mm) from the column's midline.
CORE_MM = 32.0
#: Lumbar transverse processes reach up to ~50 mm from the midline (L3); ribs run on beyond.
TP_REACH_MM = 50.0
#: Shell around each vertebra left out, so that unlabelled cortex does not chain ribs together.
SHELL_MM = 3.0
#: A piece within this distance of a vertebra touches it (the joint space and a voxel or two).
CONTACT_MM = 8.0
#: Bone further than this in front of the column's centre line (mm; the centroid of each vertebra,
#: arch included, which lies ~10 mm behind the body's centre) is left out: the sternum and
#: the front of the rib cage, which joined the upper ribs into one plate.
FRONT_CUT_MM = 45.0
#: Lateral run beyond the vertebra's own reach that counts as full rib evidence.
FULL_EVIDENCE_MM = 25.0
#: A piece touching the vertebra more than this far in front of its centre is not a rib head.
MAX_ANTERIOR_MM = 12.0
#: A rib's cross-section (volume / length along its main axis) is 50-70 mm^2 on the 2 mm grid;
#: an iliac wing's is over 300.
MAX_SECTION_MM2 = 180.0
#: Pieces smaller than this are too short to judge their shape (their reach decides).
MIN_SHAPE_MM3 = 1000.0
#: The first rib is short sideways (its lateral run barely passes a transverse process's)
#: but runs forward to the manubrium: a piece that runs this far (mm) in front of its
#: vertebra's centre, away from the body (more than ``FORWARD_LATERAL_MM`` to the side),
#: starts to be a rib; ``FULL_EVIDENCE_MM`` further gives 1. Transverse processes point
#: sideways and back.
FORWARD_FROM_MM = 20.0
FORWARD_LATERAL_MM = 20.0
#: A piece's main axis must lie mostly in the axial plane to run forward as a rib (|z| of the
#: unit axis at most this): a vessel beside the column runs along it.
MAX_AXIS_Z = 0.6
#: The first rib-bearing vertebra is taken for T1 only with at least this forward-run evidence
#: on both sides (T1's rib runs forward: 0.83-1.0 on 10 synthetic necks; a mid-thoracic rib's
#: ~0 within the box): on the network's instances a faint 0.5-0.6 on C7 was T1's rib given to
#: C7 (and a real cervical rib is mostly short and faint too): too faint to count from.
FIRST_RIB_EVIDENCE = 0.75
#: ...and with this many clearly rib-less vertebrae above it in view (C6 and C7): a thoracic
#: view whose top vertebra's ribs were missed must not make the next one "T1".
RIBLESS_ABOVE_FIRST_RIB = 2
#: Evidence on a side at or above which that side bears a rib.
HAS_RIBS_EVIDENCE = 0.5
#: Evidence on both sides below which a vertebra is called rib-less with some certainty.
RIBLESS_EVIDENCE = 0.2
#: Ribs are borne by T1-T12 (and a lumbar rib by L1, next to T12): "rib" evidence on the lowest
#: vertebrae in view, below at least this many clearly rib-less ones that lie below rib-bearing
#: ones, is the pelvis beside S1 or L5 (iliac wings, sacral alae) where the view cuts the sacrum
#: off below S1, not ribs. On T3-S1 641001 (3.5 cm³ of sacrum in view) S1 scored 0.72 / 0.64,
#: and every level was left unnamed.
MIN_RIBLESS_RUN_ABOVE_PELVIS = 3


@dataclass(frozen=True)
class RibEvidence:
    """Rib evidence (0-1) of one vertebra instance, per side of the patient."""

    instance_id: int
    left: float
    right: float
    #: (left, right): bone leaving this vertebra sideways is cut by the top or bottom of the
    #: view before it is long enough to tell a rib from a transverse process
    cut_by_view: tuple[bool, bool] = (False, False)
    #: (left, right) evidence that a rib runs forward from it (``FORWARD_FROM_MM``): what tells
    #: the short first rib from a transverse process
    forward: tuple[float, float] = (0.0, 0.0)

    @property
    def rib_on_both_sides(self) -> bool:
        """A rib on each side, by its lateral or its forward run (the first-rib anchor's test)."""
        return all(max(lateral, ahead) >= HAS_RIBS_EVIDENCE
                   for lateral, ahead in ((self.left, self.forward[0]), (self.right, self.forward[1])))

    @property
    def rib_on_either_side(self) -> bool:
        return max(self.left, self.right, *self.forward) >= HAS_RIBS_EVIDENCE

    @property
    def has_left(self) -> bool:
        return self.left >= HAS_RIBS_EVIDENCE

    @property
    def has_right(self) -> bool:
        return self.right >= HAS_RIBS_EVIDENCE

    @property
    def has_ribs(self) -> bool:
        return self.has_left or self.has_right

    @property
    def evidence(self) -> float:
        return max(self.left, self.right)

    @property
    def ribless(self) -> bool:
        """Clearly no rib on either side (weaker evidence, or bone cut by the view, is neither yes nor no)."""
        return self.evidence < RIBLESS_EVIDENCE and not any(self.cut_by_view)

    @property
    def ribless_either_way(self) -> bool:
        """Rib-less by the lateral and by the forward run."""
        return self.ribless and max(self.forward) < RIBLESS_EVIDENCE


@dataclass(frozen=True)
class FirstRib:
    """The most cranial rib-bearing vertebra taken for T1 (``_first_rib``), or why none was."""

    instance_id: int | None = None
    confident: bool = False
    reason: str = ""  # what was seen, for the anchor text
    notes: tuple[str, ...] = ()

    def describe(self) -> str:
        """Anchor text, e.g. "first rib-bearing vertebra is T1 (rib-less vertebrae above it ...)"."""
        return f"first rib-bearing vertebra is T1 ({self.reason})"


@dataclass
class RibAnchor:
    """Per-vertebra rib evidence and the anchor it gives (the last rib-bearing instance = T12)."""

    vertebrae: list[RibEvidence]  # instance 1 (most cranial) first
    anchor_id: int | None  # the most caudal rib-bearing instance, or None when no rib was seen
    confident: bool
    certainty: float  # 0-1: how strongly the evidence separates the anchor from the vertebra below
    reason: str  # what was seen, for the anchor text ("ribs seen on left and right; ...")
    notes: list[str] = field(default_factory=list)
    #: per voxel of the input grid: evidence of the bone piece there (-1 bone not taken as rib)
    evidence_map: np.ndarray | None = field(default=None, repr=False)
    #: the instances grown through the bone next to them (what the pieces were measured from)
    grown_labels: np.ndarray | None = field(default=None, repr=False)
    #: The most cranial rib-bearing instance when it can be T1, the second anchor ribs give.
    first_rib: FirstRib = field(default_factory=FirstRib)

    def evidence_of(self, instance_id: int) -> RibEvidence | None:
        return next((v for v in self.vertebrae if v.instance_id == instance_id), None)

    def describe(self, level: str = "T12") -> str:
        """Anchor text, e.g. "last rib-bearing vertebra is T12 (ribs seen on left and right; ...)"."""
        if self.anchor_id is None:
            return "no rib-bearing vertebra seen"
        return f"last rib-bearing vertebra is {level} ({self.reason})"


def find_rib_anchor(
    hu: np.ndarray,
    labels: np.ndarray,
    spacing: tuple[float, float, float],
    *,
    sacrum: np.ndarray | None = None,
    x_towards_left: bool = True,
    y_towards_back: bool = True,
) -> RibAnchor:
    """Rib evidence of each vertebra instance in ``labels`` (ids 1..n, 1 = most cranial).

    ``hu`` is the CT in Hounsfield units on the same (z, y, x) grid as ``labels`` (in the
    pipeline: the 2 mm working image times 1000, since ``normalise_ct`` divides by 1000),
    ``spacing`` its voxel size in mm. Works on any grid, but thin ribs need 2 mm or finer.
    ``sacrum`` (bool, same grid) is the sacrum below S1: bone that touches it (the alae,
    the iliac wings across the sacroiliac joints) would otherwise look like ribs of S1.
    """
    from ..errors import GridMismatchError

    hu = np.asarray(hu, dtype=np.float32)
    labels = np.asarray(labels)
    if hu.shape != labels.shape or hu.ndim != 3 or (sacrum is not None and sacrum.shape != labels.shape):
        raise GridMismatchError(None, f"the CT {hu.shape}, the vertebra labels {labels.shape} and the sacrum mask "
                                      "must share one 3D grid")
    n = int(labels.max()) if labels.size else 0
    if n == 0:
        return RibAnchor([], None, False, 0.0, "", ["no vertebra to look for ribs on"])
    owners = labels.astype(np.int32)
    if sacrum is not None:
        owners[np.asarray(sacrum, bool) & (owners == 0)] = n + 1  # the sacrum owns what touches it: no ribs there
    found = _evidence_per_side(hu, owners, n, spacing, x_towards_left, y_towards_back)
    vertebrae = [RibEvidence(i, round(found.evidence[i][0], 3), round(found.evidence[i][1], 3),
                             cut_by_view=tuple(found.cut[i]),  # type: ignore[arg-type]
                             forward=(round(found.forward[i][0], 3), round(found.forward[i][1], 3)))
                 for i in range(1, n + 1)]
    vertebrae, pelvic, ribless_run = _pelvis_not_ribs(vertebrae)
    anchor = _decide(vertebrae)
    if pelvic:
        which = f"vertebra {pelvic[0]}" if len(pelvic) == 1 else f"vertebrae {pelvic}"
        anchor.reason += f"; the bone beside {which}, below {ribless_run} rib-less ones, taken for the pelvis, not ribs"
    anchor.first_rib = _first_rib(vertebrae)
    anchor.evidence_map = found.evidence_map
    anchor.grown_labels = found.grown
    log.info("rib evidence (left, right) per instance: %s; anchor %s (confident %s)",
             [(v.left, v.right) for v in vertebrae], anchor.anchor_id, anchor.confident)
    return anchor


@dataclass
class _Pieces:
    """What ``_evidence_per_side`` found: evidence per instance and side, and where."""

    evidence: dict[int, list[float]]  # instance -> [left, right]
    forward: dict[int, list[float]]  # instance -> [left, right], the forward run's evidence
    cut: dict[int, list[bool]]  # instance -> [left, right]: a candidate rib leaves the view
    evidence_map: np.ndarray  # float32 per voxel: evidence of the accepted piece there, -1 rejected bone, 0 none
    grown: np.ndarray  # the vertebra instances grown through adjacent bone


@dataclass(eq=False)  # told apart by identity: its fields hold arrays
class _RibPiece:
    """One accepted bone piece: where it is, which vertebra and side it starts at, its evidence."""

    where: tuple[slice, ...]  # its bounding box on the grid
    mine: np.ndarray  # bool, within ``where``
    voxels: np.ndarray  # (k, 3) voxel indices
    near: np.ndarray  # (m, 3) voxel indices of its part within ``CONTACT_MM`` of a vertebra
    owner: int
    side_index: int  # 0 = patient left, 1 = right
    value: float  # lateral evidence
    ahead: float  # forward-run evidence

    @property
    def rib_like(self) -> bool:
        return max(self.value, self.ahead) >= HAS_RIBS_EVIDENCE

    @property
    def z_extent(self) -> tuple[int, int]:
        return self.where[0].start, self.where[0].stop


def _evidence_per_side(
    hu: np.ndarray, labels: np.ndarray, n: int, spacing: tuple[float, float, float], x_left: bool, y_back: bool
) -> _Pieces:
    """Evidence per instance and side from the bone pieces that start at each vertebra."""
    from scipy import ndimage

    labels = _grow_into_bone(labels, hu > BONE_HU, spacing)
    vertebra = labels > 0  # the vertebrae, and the sacrum as id n + 1 when known
    # distance to, and index of, the nearest vertebra voxel for every other voxel
    distance, nearest = ndimage.distance_transform_edt(~vertebra, sampling=spacing, return_indices=True)
    candidate = (hu > BONE_HU) & (distance > SHELL_MM)
    candidate &= ~_in_front_of_column(labels, n, spacing, y_back)
    pieces, count = ndimage.label(candidate, structure=np.ones((3, 3, 3), bool))
    found = _Pieces({i: [0.0, 0.0] for i in range(1, n + 1)}, {i: [0.0, 0.0] for i in range(1, n + 1)},
                    {i: [False, False] for i in range(1, n + 1)},
                    np.where(candidate, np.float32(-1.0), np.float32(0.0)), labels)
    if count == 0:
        return found
    centres = ndimage.center_of_mass(vertebra, labels, range(1, n + 1))  # no sacrum: it bears no ribs
    reach = _lateral_reach(labels, n, centres, spacing)
    voxel_mm3 = float(np.prod(spacing))

    def scored(piece_where: tuple[slice, ...], mine: np.ndarray, voxels: np.ndarray, near: np.ndarray,
               owner: int) -> _RibPiece | None:
        score = _piece_score(voxels, near, centres[owner - 1], reach[owner], spacing, y_back)
        if score is None:
            return None
        side, value, ahead = score
        return _RibPiece(piece_where, mine, voxels, near, owner, 0 if (side > 0) == x_left else 1, value, ahead)

    accepted: list[_RibPiece] = []
    for index, where in enumerate(ndimage.find_objects(pieces), start=1):
        if where is None:
            continue
        mine = pieces[where] == index
        near = mine & (distance[where] <= CONTACT_MM)
        if not near.any():
            continue  # a rib from a vertebra out of view, or no rib at all
        offsets = np.array([s.start for s in where])[:, None]
        voxels = np.argwhere(mine) + offsets.T
        if not _tube_like(voxels, spacing, voxel_mm3):
            continue
        at = tuple(i + int(o) for i, o in zip(np.nonzero(near), offsets[:, 0]))
        owner = int(np.bincount(labels[tuple(nearest[(axis,) + at] for axis in range(3))]).argmax())
        if owner > n:
            continue  # touches the sacrum
        piece = scored(where, mine, voxels, np.argwhere(near) + offsets.T, owner)
        if piece is not None:
            accepted.append(piece)
    for piece in _one_rib_per_side(accepted, n, scored):
        found.evidence[piece.owner][piece.side_index] = max(found.evidence[piece.owner][piece.side_index], piece.value)
        found.forward[piece.owner][piece.side_index] = max(found.forward[piece.owner][piece.side_index], piece.ahead)
        found.evidence_map[piece.where][piece.mine] = max(piece.value, 1e-3)
        leaves_view = piece.where[0].start == 0 or piece.where[0].stop == hu.shape[0]
        if leaves_view and piece.value < HAS_RIBS_EVIDENCE:
            found.cut[piece.owner][piece.side_index] = True
    return found


def _one_rib_per_side(pieces: list[_RibPiece], n: int,
                      rescore: Callable[..., _RibPiece | None]) -> list[_RibPiece]:
    """The pieces, with a rib that went to its neighbour's vertebra given back.

    A vertebra bears one rib a side. At the upper thorax the first and second ribs' heads lie
    close together, and a rib can come nearer the grown bone of the vertebra below (or above)
    than its own: one vertebra then holds two ribs on a side and its neighbour none, while the
    mirror rib on the other side went to the right vertebra. Such a piece goes to the vertebra
    its mirror (the rib-like piece on the other side spanning the same slices most) belongs to,
    when that is the neighbour with no rib on this side, and the piece is the highest of the
    crowded ones (going up) or the lowest (going down): ribs keep the column's order.

    At the bottom of the cage a twelfth rib sloping down can come nearer the vertebra below:
    that vertebra then holds one rib, on one side, and the twelfth none on that side while its
    mirror rib stays with it (609005: T12 left only, L1 right only). The most caudal
    rib-bearing vertebra's lone rib goes up to its mirror's vertebra on the same terms.
    """
    for _ in range(n):  # each move fills a gap; a few at most
        moved = False
        for position, piece in enumerate(pieces):
            if not piece.rib_like:
                continue
            crowded = [p for p in pieces if p.rib_like and p.owner == piece.owner and p.side_index == piece.side_index]
            if len(crowded) < 2 and not _lone_lowest_rib(piece, pieces):
                continue
            mirror = _mirror_of(piece, pieces)
            if mirror is None or abs(mirror.owner - piece.owner) != 1:
                continue
            if any(p.rib_like and p.owner == mirror.owner and p.side_index == piece.side_index for p in pieces):
                continue
            # ribs keep the column's order: only the highest of them can go up, the lowest down
            heights = [float(p.voxels[:, 0].mean()) for p in crowded]
            outermost = max(heights) if mirror.owner < piece.owner else min(heights)  # id 1 = most cranial
            if float(piece.voxels[:, 0].mean()) != outermost:
                continue
            again = rescore(piece.where, piece.mine, piece.voxels, piece.near, mirror.owner)
            if again is None or again.side_index != piece.side_index or not again.rib_like:
                continue
            log.info("rib piece on side %d moved from vertebra %d to %d, beside its mirror", piece.side_index,
                     piece.owner, mirror.owner)
            pieces[position] = again
            moved = True
            break
        if not moved:
            break
    return pieces


def _lone_lowest_rib(piece: _RibPiece, pieces: list[_RibPiece]) -> bool:
    """Whether ``piece`` is the only rib of the most caudal rib-bearing vertebra (id 1 = most
    cranial), with nothing on the other side."""
    owners = [p.owner for p in pieces if p.rib_like]
    return piece.owner == max(owners) and owners.count(piece.owner) == 1


def _mirror_of(piece: _RibPiece, pieces: list[_RibPiece]) -> _RibPiece | None:
    """The rib-like piece on the other side spanning most of the same slices (over half), if any."""
    best, best_overlap = None, 0.5
    low, high = piece.z_extent
    for other in pieces:
        if other.side_index == piece.side_index or not other.rib_like:
            continue
        o_low, o_high = other.z_extent
        shared = min(high, o_high) - max(low, o_low)
        overlap = shared / max(high - low, o_high - o_low, 1)
        if overlap > best_overlap:
            best, best_overlap = other, overlap
    return best


def _in_front_of_column(labels: np.ndarray, n: int, spacing: tuple[float, float, float], y_back: bool) -> np.ndarray:
    """Voxels more than ``FRONT_CUT_MM`` in front of the column's centre line (bool).

    The upper ribs run round to the sternum: within the box they, the costal cartilages'
    calcifications and the sternum join into one plate that is no tube, and the first ribs
    were lost with it. A rib's evidence is how far it runs sideways near its vertebra, which
    lies behind this plane; cut there, each rib is a tube of its own again.
    """
    from scipy import ndimage

    objects = ndimage.find_objects(labels, max_label=n)
    zs, ys = [], []
    for i, where in enumerate(objects, start=1):
        if where is None:
            continue
        z, y, _ = np.nonzero(labels[where] == i)
        zs.append(float(z.mean()) + where[0].start)
        ys.append(float(y.mean()) + where[1].start)
    if not zs:
        return np.zeros(labels.shape, dtype=bool)
    order = np.argsort(zs)
    centre_y = np.interp(np.arange(labels.shape[0]), np.asarray(zs)[order], np.asarray(ys)[order])
    y = np.arange(labels.shape[1])[None, :]
    front = (centre_y[:, None] - y) * spacing[1] if y_back else (y - centre_y[:, None]) * spacing[1]
    return np.broadcast_to((front > FRONT_CUT_MM)[:, :, None], labels.shape)


def _grow_into_bone(labels: np.ndarray, bone: np.ndarray, spacing: tuple[float, float, float]) -> np.ndarray:
    """Each vertebra extended through the bone touching it, within ``CORE_MM`` of the midline.

    The midline is the median left-right position of the labelled voxels: the network's
    box is centred on the column, and a scoliotic column is not handled.
    """
    from skimage.segmentation import watershed

    x = np.nonzero(labels)[2]
    if x.size == 0:
        return labels
    x_mid = float(np.median(x))
    core = np.abs(np.arange(labels.shape[2]) - x_mid) * spacing[2] <= CORE_MM
    mask = (labels > 0) | (bone & core[None, None, :])
    return watershed(np.zeros(labels.shape, np.uint8), markers=labels, mask=mask).astype(labels.dtype)


def _tube_like(voxels: np.ndarray, spacing: tuple[float, float, float], voxel_mm3: float) -> bool:
    """Whether a bone piece is thin and long like a rib, rather than a plate or a blob."""
    volume = len(voxels) * voxel_mm3
    if volume < MIN_SHAPE_MM3:
        return True
    points = voxels * np.asarray(spacing)
    length = float(np.sqrt(12.0 * max(np.linalg.eigvalsh(np.cov(points.T))[-1], 1e-6)))  # of a uniform rod
    return volume / length <= MAX_SECTION_MM2


def _lateral_reach(labels: np.ndarray, n: int, centres: list, spacing: tuple[float, float, float]) -> dict[int, float]:
    """How far (mm) each vertebra itself reaches from its centre, left or right (its transverse processes)."""
    from scipy import ndimage

    reach: dict[int, float] = {}
    objects = ndimage.find_objects(labels, max_label=n)
    for i in range(1, n + 1):
        where = objects[i - 1]
        if where is None:
            reach[i] = 0.0
            continue
        x = np.nonzero((labels[where] == i).any(axis=(0, 1)))[0] + where[2].start
        reach[i] = float(np.max(np.abs(x - centres[i - 1][2]))) * spacing[2]
    return reach


def _piece_score(
    voxels: np.ndarray, near: np.ndarray, centre: tuple[float, float, float], own_reach: float,
    spacing: tuple[float, float, float], y_back: bool,
) -> tuple[float, float, float] | None:
    """(side: +1 towards higher x / -1, evidence 0-1, forward-run evidence 0-1) of one bone
    piece touching a vertebra.

    None when the piece touches in front of the body (aorta, calcified plaque, osteophyte
    bridging) or on the midline (a spinous-process or laminar fragment the network missed).
    """
    dy = (near[:, 1] - centre[1]) * spacing[1] * (1.0 if y_back else -1.0)  # + = behind the centre
    dx = (near[:, 2] - centre[2]) * spacing[2]
    if np.median(dy) < -MAX_ANTERIOR_MM:
        return None
    side = float(np.sign(np.median(dx)))
    if side == 0.0 or np.abs(np.median(dx)) < 8.0:
        return None
    lateral = (voxels[:, 2] - centre[2]) * spacing[2] * side  # mm towards the piece's side
    beyond = float(lateral.max()) - max(own_reach, TP_REACH_MM)
    return side, float(np.clip(beyond / FULL_EVIDENCE_MM, 0.0, 1.0)), _forward_run(voxels, lateral, centre, spacing,
                                                                                     y_back)


def _forward_run(voxels: np.ndarray, lateral: np.ndarray, centre: tuple[float, float, float],
                 spacing: tuple[float, float, float], y_back: bool) -> float:
    """Evidence 0-1 that a piece runs forward from its vertebra as a rib does, away from the body."""
    away = lateral > FORWARD_LATERAL_MM
    if away.sum() < 2:
        return 0.0
    points = voxels * np.asarray(spacing)
    axis = np.linalg.eigh(np.cov(points.T))[1][:, -1]
    if abs(float(axis[0])) > MAX_AXIS_Z:
        return 0.0  # runs along the column: a vessel, not a rib
    ahead = (centre[1] - voxels[away, 1]) * spacing[1] * (1.0 if y_back else -1.0)  # + = in front of the centre
    return float(np.clip((float(ahead.max()) - FORWARD_FROM_MM) / FULL_EVIDENCE_MM, 0.0, 1.0))


def _first_rib(vertebrae: list[RibEvidence]) -> FirstRib:
    """The first rib-bearing instance, as T1, or none (with a note saying why, where it helps).

    Only with two vertebrae above it in view that are clearly rib-less (C6, C7), and one below
    it that bears ribs too (T2): a rib of a vertebra below the view reaches up beside the
    lowest vertebra in view, and a rib-less neighbour cut by the view proves nothing. Its own
    ribs must run forward on both sides (``FIRST_RIB_EVIDENCE``), as the first rib does; sure
    when the one below has ribs on both sides too. A full cervical rib (C7) cannot be told from a first rib by this alone;
    the other anchors are checked against it.
    """
    bearing = [v for v in vertebrae if v.rib_on_either_side]
    if not bearing:
        return FirstRib()
    first = bearing[0]
    above = [v for v in vertebrae if v.instance_id < first.instance_id]
    below = next((v for v in vertebrae if v.instance_id == first.instance_id + 1), None)
    if len(above) < RIBLESS_ABOVE_FIRST_RIB:
        return FirstRib()  # the first rib may be above the view (or its vertebra's ribs missed)
    unclear = [v.instance_id for v in above[-RIBLESS_ABOVE_FIRST_RIB:] if not v.ribless_either_way]
    if unclear:
        return FirstRib(notes=(f"unclear rib evidence on vertebra(e) {unclear}, above the most cranial "
                               f"rib-bearing one ({first.instance_id}): none is taken for T1",))
    if below is None or not below.rib_on_either_side:
        return FirstRib(notes=(f"vertebra {first.instance_id} has rib evidence and the one above none, but no "
                               "rib-bearing vertebra below it is in view: it is not taken for T1",))
    if min(first.forward) < FIRST_RIB_EVIDENCE:
        return FirstRib(notes=(f"faint or one-sided rib evidence on vertebra {first.instance_id}, the most cranial "
                               "with any: a cervical rib, or the first rib? It is not taken for T1",))
    sure = below.rib_on_both_sides
    notes = () if sure else (f"ribs seen on one side only of vertebra {below.instance_id}, below the first rib-bearing "
                             "one: levels counted from it as T1 are a suggestion: confirm one level",)
    return FirstRib(first.instance_id, sure, "rib-less vertebrae above it and ribs on the one below", notes)


def _pelvis_not_ribs(vertebrae: list[RibEvidence]) -> tuple[list[RibEvidence], list[int], int]:
    """(the evidence with the pelvis' "ribs" cleared, the instances cleared, how many rib-less
    vertebrae lie between them and the ribs): the rib-bearing
    vertebrae at the bottom of the view when at least ``MIN_RIBLESS_RUN_ABOVE_PELVIS`` clearly
    rib-less vertebrae separate them from rib-bearing ones above (the lumbar spine between
    the thorax and the pelvis). Without rib-bearing vertebrae above the run nothing is cleared:
    a cervical view's lowest vertebra bearing ribs is T1's question (``_first_rib``)."""
    tail = len(vertebrae)
    while tail > 0 and vertebrae[tail - 1].rib_on_either_side:
        tail -= 1
    run = tail
    while run > 0 and vertebrae[run - 1].ribless_either_way:
        run -= 1
    thorax_above = run > 0 and vertebrae[run - 1].rib_on_either_side
    if tail == len(vertebrae) or tail - run < MIN_RIBLESS_RUN_ABOVE_PELVIS or not thorax_above:
        return vertebrae, [], 0
    cleared = [v.instance_id for v in vertebrae[tail:]]
    log.info("bone beside vertebra(e) %s, below %d rib-less ones, is the pelvis, not ribs", cleared, tail - run)
    cleared_evidence = [RibEvidence(v.instance_id, 0.0, 0.0, cut_by_view=v.cut_by_view) for v in vertebrae[tail:]]
    kept = vertebrae[:tail] + cleared_evidence
    return kept, cleared, tail - run


def _decide(vertebrae: list[RibEvidence]) -> RibAnchor:
    """The most caudal rib-bearing vertebra, and whether the count from it can be trusted."""
    bearing = [v for v in vertebrae if v.has_ribs]
    cut = [v.instance_id for v in vertebrae if any(v.cut_by_view) and not v.has_ribs]
    cut_note = (f"bone leaving vertebra(e) {cut} sideways runs out of the field of view before it can be told "
                "from a transverse process: possibly ribs")
    if not bearing:
        return RibAnchor(vertebrae, None, False, 0.0, "", ["no rib-bearing vertebra seen"] + ([cut_note] if cut else []))
    last = bearing[-1]
    sides = " and ".join(s for s, has in (("left", last.has_left), ("right", last.has_right)) if has)
    below = next((v for v in vertebrae if v.instance_id == last.instance_id + 1), None)
    notes: list[str] = []
    if below is None:
        notes.append(f"no vertebra seen below the last rib-bearing one (vertebra {last.instance_id}): "
                     "more rib-bearing vertebrae may lie below the field of view, so it cannot be called T12")
        reason = f"ribs seen on {sides}; no vertebra below in view"
        certainty = 0.0
    elif any(below.cut_by_view) and below.instance_id == len(vertebrae):
        # the lowest vertebra in view, whose rib-like bone runs out of the view before it can
        # be measured: a twelfth rib sloping down and out, as likely as not (fresh T9-T12
        # 662001: T12 0.44 / 0.45, cut on both sides, and T11 was offered as T12)
        return RibAnchor(vertebrae, None, False, 0.0, "", [
            f"rib-like bone of vertebra {below.instance_id}, the lowest in view, below the last clearly rib-bearing "
            f"one ({last.instance_id}), runs out of the field of view: it may be a twelfth rib, so no level is "
            "suggested from the ribs"])
    elif not below.ribless:
        notes.append(f"weak or cut-off rib evidence on vertebra {below.instance_id} below the last rib-bearing one: "
                     "a short 12th rib or a lumbar rib? check the level count")
        reason = f"ribs seen on {sides}; vertebra below unclear"
        certainty = 0.0
    else:
        reason = f"ribs seen on {sides}; rib-less vertebra below"
        certainty = float(min(last.evidence, 1.0 - below.evidence / RIBLESS_EVIDENCE * 0.5))
    if not (last.has_left and last.has_right):
        notes.append(f"ribs seen on the {sides} side only of vertebra {last.instance_id}: check the level count")
    first = bearing[0].instance_id  # above it the ribs may be cut by the field of view
    gaps = [v.instance_id for v in vertebrae if first < v.instance_id < last.instance_id and not v.has_ribs]
    if gaps:
        notes.append(f"no rib found on vertebra(e) {gaps} between rib-bearing ones: check the level count")
    return RibAnchor(vertebrae, last.instance_id, confident=not notes, certainty=round(certainty, 3) if not notes else 0.0,
                     reason=reason, notes=notes)
