"""Where each vertebra sits and how big it is: the skeleton of the synthetic case.

Sizes follow adult morphometry (body height grows from ~16 mm at T1 and ~24 mm at T10 to
~29 mm at L5, width 36 -> 50 mm below T10; lumbar discs ~10 mm). The column is built as a
chain from S1 upwards: each motion segment adds its share of the lordosis (or kyphosis)
angle, and a wedge fracture tilts everything above it forwards, as a real one does.

Each vertebra has a local frame: ``u`` along its axis (superior), ``v`` posterior and
``w`` towards the patient's left; its body is centred on the origin of that frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..anatomy import TOTALSEG_VERTEBRA_IDS
from .params import CERVICAL_LEVELS, SUPPORTED_LEVELS, UPPER_THORACIC_LEVELS, FractureSpec, SpineParams

__all__ = ["LevelGeometry", "build_chain", "build_column", "LORDOSIS_SHARE", "KYPHOSIS_SHARE",
           "CERVICAL_LORDOSIS_SHARE", "ENDPLATE_CONCAVITY_MM"]

ENDPLATE_CONCAVITY_MM = 1.2

# level: body height, width (LR), depth (AP), disc below, canal AP, canal LR,
#        pedicle width, pedicle height, pedicle medial angle (deg), transverse process
#        reach from the midline, spinous length, spinous downward slope (deg)
#
# T1-T7 follow the trends of CT morphometry of the adult thoracic spine, scaled to join
# the T8 row: Kaur et al. 2016 (J Clin Orthop Trauma 7:101-108; pedicle width narrowest
# at T4 ~4.5 mm and widest at T1, transverse pedicle angle ~35 deg at T1 falling caudally,
# spinous process angle ~30 deg at T1 rising to ~58 deg at T6, transverse processes
# lengthening from T1 to T7); Chughtai et al. (Pak J Neurol Surg; anterior body height
# smallest at T1, ~17 mm); Fletcher et al. ("CT morphometry of adult thoracic discs":
# anterior height ~2.7 mm at T4-5, T2-3 similar, ~5.4 mm at T10-11; our disc gap is taken
# at the endplate centres, so a little larger). Body width dips slightly at T3-T4 and
# depth grows fastest (T1 ~16 mm). Only the abstracts of these studies were read; Panjabi et al. 1991 (Spine 16:888) was
# not checked. Values are rounded to what a synthetic image needs.
#
# C1-C7: C3-C7 body height ~14-15 mm, width ~16.5 mm at C3 rising to ~23 mm at C7, depth
# ~15.5-17 mm (Ezra et al. 2017, Spine J, C3-C7 skeletal study: bodies larger caudally;
# Bazaldua Cruz et al. 2011, Int J Morphol 29:325: bodies larger at lower levels, C3
# pedicles largest; Prabavathy et al., IJAE: spinous process longest at C7, lamina height
# rising C3->C7); discs ~5 mm; canal AP ~14 mm and LR ~24-25 mm with pedicles ~5-6 mm wide
# angled ~45 deg medially (Panjabi et al. 1991, Spine 16:861, not checked). C2: body 15 mm
# (the dens, drawn by ``cervical``, adds ~15.5 mm: Gosavi & Swamy 2012 dens height 14.9 mm,
# Yousuf et al. 15.8 mm, AP 10.7 mm), large bifid spinous process. C1 has no body: its row
# gives the lateral-mass height (17 mm), the C1/C2 joint gap below (~2 mm), the canal behind the dens
# (Patel & Gupta, IJRMS: canal AP 28 mm and LR 26.6 mm including the dens, anterior arch
# 10.2 mm and posterior arch 8.7 mm high, atlas width 71 mm) and the transverse process
# reach (+-38 mm). Its "depth" is set so that a 'posterior' lesion lands in the posterior
# arch. Only abstracts were read; values are rounded to what a synthetic image needs.
_TABLE: dict[str, tuple[float, ...]] = {
    "C1": (17.0, 52, 14, 1.5, 14, 26, 0.0, 0.0, 0, 38, 0, 0),
    "C2": (15.0, 17.5, 15.5, 5.0, 16, 24, 7.0, 8.0, 30, 28, 26, 20),
    "C3": (14.5, 16.5, 15.5, 5.0, 14.5, 24, 5.2, 7.0, 45, 27, 18, 25),
    "C4": (14.3, 17.5, 16.0, 5.5, 14, 24.5, 5.3, 7.0, 46, 28, 19, 25),
    "C5": (14.0, 18.5, 16.5, 5.5, 14, 25, 5.5, 7.0, 46, 29, 20, 25),
    "C6": (14.2, 20.5, 17.0, 5.5, 14, 24.5, 5.6, 7.0, 43, 30, 24, 28),
    "C7": (15.0, 23.0, 17.0, 4.5, 14, 24, 6.3, 7.5, 36, 35, 36, 35),
    "T1": (15.5, 29, 16.5, 4.0, 15, 21, 8.0, 9.5, 28, 37, 38, 30),
    "T2": (16.5, 28, 18.0, 4.0, 15, 19, 6.5, 10.5, 22, 38, 38, 38),
    "T3": (17.5, 27.5, 20.0, 4.0, 15, 17.5, 5.0, 11.0, 17, 38, 37, 45),
    "T4": (18.5, 28, 22.0, 4.0, 14.5, 16.5, 4.5, 11.5, 13, 38, 36, 50),
    "T5": (19.5, 29, 23.5, 4.2, 14.5, 16, 4.6, 12.0, 10, 37.5, 36, 55),
    "T6": (20.5, 30, 25.0, 4.5, 14.5, 16, 4.8, 12.0, 8, 37, 35, 55),
    "T7": (21.5, 31, 26.0, 4.8, 15, 16, 5.0, 12.5, 6, 36.5, 35, 50),
    "T8": (22.5, 32, 27, 5.0, 15, 16, 5.5, 13, 4, 36, 34, 45),
    "T9": (23.5, 34, 28, 5.5, 15, 16, 6.0, 14, 4, 36, 33, 40),
    "T10": (24.5, 36, 29, 6.0, 15, 17, 7.0, 14, 5, 34, 32, 35),
    "T11": (25.0, 38, 30, 6.5, 15, 17, 8.0, 15, 5, 26, 31, 25),
    "T12": (25.5, 40, 31, 7.5, 16, 19, 8.0, 15, 6, 24, 31, 15),
    "L1": (26.5, 42, 32, 9.0, 16, 21, 8.0, 15, 8, 34, 30, 5),
    "L2": (27.5, 44, 33, 10.0, 16, 22, 8.5, 15, 10, 40, 30, 0),
    "L3": (28.0, 46, 34, 11.0, 16, 23, 10.0, 15, 14, 47, 30, 0),
    "L4": (28.5, 48, 34, 11.5, 17, 24, 12.0, 15, 18, 42, 28, 0),
    "L5": (29.0, 50, 34, 10.0, 17, 25, 15.0, 16, 25, 40, 24, 0),
    "S1": (30.0, 50, 36, 0.0, 16, 28, 18.0, 18, 25, 0, 14, 0),
}

#: Share of the lumbar lordosis carried by the segment below each level (L5-S1 most).
LORDOSIS_SHARE = {"L1": 0.10, "L2": 0.15, "L3": 0.20, "L4": 0.25, "L5": 0.30}

#: Share of ``kyphosis_deg_per_level`` carried by the segment below each level where it is
#: not 1: the kyphosis flattens towards its ends (T1 and T12 are inflection zones), so
#: T1-T12 totals ~10 x the per-level angle (~42 deg at the default 4 deg; normal 30-50).
KYPHOSIS_SHARE = {"T1": 0.5, "T2": 0.6, "T3": 0.8, "T12": 0.5}

#: Share of ``cervical_lordosis_deg`` carried by the segment below each level (C2-C3 to
#: C6-C7; their sum is the C2-C7 angle). C7-T1 adds none; C1 sits ~5 deg extended on C2.
CERVICAL_LORDOSIS_SHARE = {"C2": 0.15, "C3": 0.20, "C4": 0.22, "C5": 0.23, "C6": 0.20, "C7": 0.0}
_C1_ON_C2_DEG = -5.0
#: Sagittal tilt (deg) range of the cervical levels: a head lying in a scanner is neither
#: hyperextended nor flexed chin-on-chest, whatever the random thoracic kyphosis was.
CERVICAL_TILT_RANGE_DEG = (-20.0, 35.0)

#: Forward tilt (deg) beyond which the kyphosis stops adding above T8: random lordosis,
#: sacral slope and kyphosis drawn independently could otherwise lay T1 horizontal, which
#: no patient lying in a scanner shows. (T8 and below are left as they always were.)
MAX_UPPER_TILT_DEG = 50.0


@dataclass
class LevelGeometry:
    """One vertebra: label, pose (centre, sagittal tilt) and dimensions in mm."""

    level: str
    label: int
    center: np.ndarray  # LPS (x, y, z) mm of the body centre
    theta: float  # sagittal tilt in radians; > 0 tips the superior end anteriorly
    height: float
    width: float
    depth: float
    disc_below: float
    canal_ap: float
    canal_lr: float
    pedicle_w: float
    pedicle_h: float
    pedicle_angle: float  # radians
    tp_reach: float
    spinous_len: float
    spinous_slope: float  # radians
    fracture: FractureSpec | None = None

    @property
    def thoracic(self) -> bool:
        return self.level.startswith("T")

    @property
    def cervical(self) -> bool:
        return self.level.startswith("C")

    @property
    def u_dir(self) -> np.ndarray:
        """LPS unit vector of the vertebral axis (superior)."""
        return np.array([0.0, -np.sin(self.theta), np.cos(self.theta)])

    @property
    def v_dir(self) -> np.ndarray:
        """LPS unit vector of the local posterior direction."""
        return np.array([0.0, np.cos(self.theta), np.sin(self.theta)])

    def local(self, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Local (u, v, w) of broadcastable LPS coordinates."""
        dy = y - np.float32(self.center[1])
        dz = z - np.float32(self.center[2])
        s, c = np.float32(np.sin(self.theta)), np.float32(np.cos(self.theta))
        return dz * c - dy * s, dy * c + dz * s, x - np.float32(self.center[0])

    def world(self, u: float, v: float, w: float) -> np.ndarray:
        """LPS point of local coordinates (u, v, w)."""
        return self.center + u * self.u_dir + v * self.v_dir + np.array([w, 0.0, 0.0])

    # --- endplates (where a fracture changes the body) ---------------------------------
    def collapse_top(self, v: np.ndarray | float, w: np.ndarray | float) -> np.ndarray:
        """Depression (mm) of the superior endplate at local (v, w)."""
        f = self.fracture
        zero = np.zeros(np.broadcast(v, w).shape, dtype=np.float32)
        if f is None:
            return zero
        loss = f.collapse_fraction * self.height
        if f.shape == "wedge":
            t = np.clip(0.55 - 0.9 * np.asarray(v, dtype=np.float32) / self.depth, 0.1, 1.0)
            return zero + np.float32(loss) * t
        if f.shape == "crush":
            return zero + np.float32(loss)
        return self._biconcave(v, w, loss)

    def collapse_bottom(self, v: np.ndarray | float, w: np.ndarray | float) -> np.ndarray:
        """Elevation (mm) of the inferior endplate at local (v, w) (biconcave fractures only)."""
        f = self.fracture
        if f is None or f.shape != "biconcave":
            return np.zeros(np.broadcast(v, w).shape, dtype=np.float32)
        return self._biconcave(v, w, f.collapse_fraction * self.height)

    def _biconcave(self, v: np.ndarray | float, w: np.ndarray | float, loss: float) -> np.ndarray:
        rr = (2 * np.asarray(v, dtype=np.float32) / self.depth) ** 2 + (
            2 * np.asarray(w, dtype=np.float32) / self.width
        ) ** 2
        return np.float32(loss / 2) * np.clip(1.0 - rr, 0.0, 1.0)

    def concavity(self, v: np.ndarray | float, w: np.ndarray | float) -> np.ndarray:
        """Normal endplate concavity (mm), deepest (~1.2 mm) at the centre of the endplate."""
        rr = (2 * np.asarray(v, dtype=np.float32) / self.depth) ** 2 + (
            2 * np.asarray(w, dtype=np.float32) / self.width
        ) ** 2
        return np.float32(ENDPLATE_CONCAVITY_MM) * np.clip(1.0 - rr, 0.0, 1.0)

    def endplate_top(self, v: np.ndarray | float, w: np.ndarray | float) -> np.ndarray:
        """Local u of the superior endplate surface at (v, w)."""
        return self.height / 2 - self.collapse_top(v, w) - self.concavity(v, w)

    def endplate_bottom(self, v: np.ndarray | float, w: np.ndarray | float) -> np.ndarray:
        """Local u of the inferior endplate surface at (v, w)."""
        return -self.height / 2 + self.collapse_bottom(v, w) + self.concavity(v, w)

    def body_height_at(self, v: float) -> float:
        """Body height (mm) along the axis at local AP position ``v`` in the midsagittal plane."""
        return float(self.endplate_top(v, 0.0) - self.endplate_bottom(v, 0.0))

    def wedge_angle(self) -> float:
        """Forward tilt (radians) the fracture gives the column above."""
        if self.fracture is None or self.fracture.shape != "wedge":
            return 0.0
        d = self.depth / 2
        drop = float(self.collapse_top(-d, 0.0) - self.collapse_top(d, 0.0))
        return float(np.arctan2(drop, self.depth))


def _segment_angle(upper: str, params: SpineParams) -> float:
    """Change of tilt (degrees) from the level below ``upper`` to ``upper``."""
    if upper in LORDOSIS_SHARE:
        return -params.lordosis_deg * LORDOSIS_SHARE[upper]
    if upper in CERVICAL_LORDOSIS_SHARE:
        return -params.cervical_lordosis_deg * CERVICAL_LORDOSIS_SHARE[upper]
    if upper == "C1":
        return _C1_ON_C2_DEG
    if upper in KYPHOSIS_SHARE:
        return KYPHOSIS_SHARE[upper] * params.kyphosis_deg_per_level
    return params.kyphosis_deg_per_level


def build_column(params: SpineParams) -> list[LevelGeometry]:
    """Geometry of every drawn level, cranial to caudal, with S1's body centre at the origin."""
    drawn = set(params.levels)
    return [g for g in build_chain(params) if g.level in drawn]


def build_chain(params: SpineParams) -> list[LevelGeometry]:
    """Geometry of every supported level, drawn or not, cranial to caudal.

    The levels outside the field of view place what reaches into it (upper ribs, heart).
    """
    fracture = params.fracture
    chain: list[LevelGeometry] = []
    order = list(SUPPORTED_LEVELS[::-1])  # S1 first, going up
    for level in order:
        t = _TABLE[level]
        geo = LevelGeometry(
            level=level,
            label=TOTALSEG_VERTEBRA_IDS[level],
            center=np.zeros(3),
            theta=np.radians(params.sacral_slope_deg),
            height=t[0], width=t[1], depth=t[2], disc_below=t[3],
            canal_ap=t[4], canal_lr=t[5], pedicle_w=t[6], pedicle_h=t[7],
            pedicle_angle=np.radians(t[8]), tp_reach=t[9], spinous_len=t[10],
            spinous_slope=np.radians(t[11]),
            fracture=fracture if fracture is not None and fracture.level.upper() == level else None,
        )
        if chain:
            below = chain[-1]
            geo.theta = below.theta + np.radians(_segment_angle(level, params)) + below.wedge_angle()
            if level in UPPER_THORACIC_LEVELS:
                geo.theta = min(geo.theta, max(below.theta, np.radians(MAX_UPPER_TILT_DEG)))
            if level in CERVICAL_LEVELS:
                geo.theta = float(np.clip(geo.theta, *np.radians(CERVICAL_TILT_RANGE_DEG)))
            top_centre = below.world(below.height / 2 - float(below.collapse_top(0.0, 0.0)), 0.0, 0.0)
            direction = below.u_dir + geo.u_dir
            direction /= np.linalg.norm(direction)
            bottom_centre = top_centre + geo.disc_below * direction
            geo.center = bottom_centre + (geo.height / 2) * geo.u_dir
        chain.append(geo)
    return chain[::-1]
