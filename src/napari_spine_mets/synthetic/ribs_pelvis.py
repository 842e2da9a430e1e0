"""Bones that are not vertebrae: ribs on the thoracic levels, the sternum and the iliac wings.

They carry no vertebra label (TotalSegmentator has its own rib and hip classes, which
this project does not write), but they must be there: a spine CT without them would
teach a network the wrong context.
"""

from __future__ import annotations

import numpy as np

from .anatomy_model import LevelGeometry
from .params import UPPER_THORACIC_LEVELS
from .shapes import BoxView, Grid, blend_bone, box_view, rounded_intersection, segment_sd
from .soft_tissue import Track
from .tissues import Tissue
from .upper_thorax import cage_ellipse
from .vertebra import CaseArrays

__all__ = ["draw_ribs", "draw_pelvis"]

# level: angle (deg) around the trunk where the rib ends, drop (mm) along its course, radius.
# Ribs 1-7 (true ribs) reach round to the sternum on a cage that narrows upwards
# (``upper_thorax.cage_ellipse``); the first is short, strongly curved (it rings the small
# thoracic inlet) and flat (two strands side by side).
_RIBS = {"T1": (158, 32, 3.0), "T2": (172, 48, 3.8), "T3": (172, 55, 4.0), "T4": (172, 60, 4.0),
         "T5": (172, 64, 4.0), "T6": (171, 68, 4.0), "T7": (170, 70, 4.0),
         "T8": (168, 70, 4.0), "T9": (162, 64, 4.0), "T10": (152, 58, 4.0),
         "T11": (118, 45, 3.8), "T12": (82, 30, 3.3)}
_FLAT_MM = {"T1": 2.0}  # in-plane half-offset of the two strands of a flat rib
_CORTEX = 1.1


def _paint_capsule(grid: Grid, arrays: CaseArrays, a: np.ndarray, b: np.ndarray, r: float) -> None:
    """One rib segment (LPS end points): cortex, then marrow that wins where segments overlap."""
    lo = np.minimum(a, b) - r - 1
    hi = np.maximum(a, b) + r + 1
    box = box_view(grid, lo, hi)
    if box.empty:
        return
    _paint_rib_bone(arrays, box, segment_sd((box.x, box.y, box.z), a, b, r))


def _paint_rib_bone(arrays: CaseArrays, box: BoxView, sd: np.ndarray) -> None:
    """Thin-cortex bone of signed distance ``sd`` in ``box``, on voxels no vertebra holds."""
    sl = box.slices
    free = (arrays.vlabel[sl] == 0) & (arrays.parts[sl] == 0)
    tissue = arrays.tissue[sl]
    outer = free & (tissue != Tissue.RIB_MARROW)
    blend_bone(arrays.hu[sl], sd, arrays.spacing, _CORTEX, arrays.lut[Tissue.CORTICAL],
               arrays.lut[Tissue.RIB_MARROW], outer)
    tissue[outer & (sd < 0) & (sd > -_CORTEX)] = Tissue.CORTICAL
    deep = free & (sd <= -_CORTEX)
    tissue[deep] = Tissue.RIB_MARROW
    arrays.hu[sl][deep & (sd <= -_CORTEX - 1.0)] = arrays.lut[Tissue.RIB_MARROW]


def draw_ribs(column: list[LevelGeometry], grid: Grid, track: Track, arrays: CaseArrays,
              fat_mm: float, sternum: bool = False) -> None:
    """A rib on each side of every thoracic level, from the costovertebral joint around the trunk.

    With ``sternum`` the sternum joins the anterior ends of ribs 1-7 (those of ``column``).
    """
    ends: dict[str, np.ndarray] = {}
    for geo in column:
        if geo.level in _RIBS:
            ends[geo.level] = _draw_rib_pair(geo, grid, track, arrays, fat_mm)
    true_ribs = [ends[lv] for lv in ("T1", "T2", "T3", "T4", "T5", "T6", "T7") if lv in ends]
    if sternum and len(true_ribs) >= 2:
        _draw_sternum(true_ribs, grid, arrays)


def _draw_rib_pair(geo: LevelGeometry, grid: Grid, track: Track, arrays: CaseArrays,
                   fat_mm: float) -> np.ndarray:
    """Both ribs of one level; returns the midpoint of their anterior ends (LPS)."""
    phi_end, drop, radius = _RIBS[geo.level]
    h, d = geo.height, geo.depth
    v_c = d / 2 - 1.0 + geo.canal_ap / 2
    v1 = v_c + geo.canal_ap * 0.15
    u_p = h / 2 - geo.pedicle_h / 2 - 1.0
    flat = _FLAT_MM.get(geo.level)
    offsets = (-flat, flat) if flat else (0.0,)
    tips = []
    for side in (1.0, -1.0):
        head = geo.world(h * 0.3, d * 0.3, side * (geo.width / 2 + 4.0))
        tubercle = geo.world(u_p + 2.0, v1 + 13.0, side * (max(geo.tp_reach, 30.0) + 3.0))
        k = int(np.clip(np.searchsorted(track.z, tubercle[2]), 0, track.z.size - 1))
        a_r = track.half_lr[k] - fat_mm - 16.0
        b_r = track.half_ap[k] - fat_mm - 16.0
        y_oc = track.y_post[k] - track.half_ap[k]
        upper = geo.level in UPPER_THORACIC_LEVELS
        if upper:  # the cage narrows upwards: follow it at the height of the tubercle
            a_r = float(cage_ellipse(track, tubercle[2], fat_mm)[0])
        phi0 = np.arcsin(min(0.95, (abs(tubercle[0]) + 14.0) / a_r))
        phis = np.linspace(phi0, np.radians(phi_end), 14)
        frac = (phis - phi0) / (phis[-1] - phi0)
        _paint_capsule(grid, arrays, head, tubercle, radius)
        for off in offsets:
            pts = [tubercle]
            for phi, f in zip(phis, frac):
                z_p = tubercle[2] - 8.0 - drop * f**1.3
                if upper:  # each point on the cage at its own height, as the lungs are
                    a_r, b_r, y_oc = (float(v) for v in cage_ellipse(track, z_p, fat_mm))
                pts.append(np.array([side * (a_r + off) * np.sin(phi), y_oc + (b_r + off) * np.cos(phi), z_p]))
            for a, b in zip(pts[:-1], pts[1:]):
                _paint_capsule(grid, arrays, a, b, radius)
        tips.append(pts[-1])
    return (tips[0] + tips[1]) / 2


def _draw_sternum(ends: list[np.ndarray], grid: Grid, arrays: CaseArrays) -> None:
    """Manubrium (wide and thick, down to the 2nd ribs) and sternal body: a flat plate just in
    front of the true ribs' anterior ends, from the jugular notch to the xiphisternal joint."""
    pts = np.array([e + np.array([0.0, -4.0, 0.0]) for e in ends])
    z_knots = np.concatenate([[pts[0, 2] + 10.0], pts[:, 2], [pts[-1, 2] - 8.0]])
    y_knots = np.concatenate([[pts[0, 1]], pts[:, 1], [pts[-1, 1]]])
    n = z_knots.size
    half_w = np.array([24.0, 22.0] + [13.0] * (n - 2))  # mm: manubrium, then body
    half_t = np.array([6.0, 6.0] + [4.5] * (n - 2))
    lo = np.array([-30.0, y_knots.min() - 10.0, z_knots.min() - 2.0])
    hi = np.array([30.0, y_knots.max() + 10.0, z_knots.max() + 2.0])
    box = box_view(grid, lo, hi)
    if box.empty:
        return
    order = np.argsort(z_knots)  # np.interp needs rising z
    zz = box.z[:, 0, 0]
    yc, hw, ht = (np.interp(zz, z_knots[order], v[order])[:, None, None] for v in (y_knots, half_w, half_t))
    plate = rounded_intersection(np.abs(box.x) - hw, np.abs(box.y - yc) - ht, 3.0)
    ends_sd = np.maximum(box.z - z_knots.max(), z_knots.min() - box.z)
    _paint_rib_bone(arrays, box, np.maximum(plate, ends_sd).astype(np.float32))


def draw_pelvis(s1: LevelGeometry, grid: Grid, track: Track, arrays: CaseArrays, z_l5: float) -> None:
    """Iliac wings (extruded curved plates, crest highest laterally) with glutei and iliacus."""
    y0 = float(s1.center[1])
    k = int(np.clip(np.searchsorted(track.z, s1.center[2]), 0, track.z.size - 1))
    half_lr = float(track.half_lr[k])
    z_bottom = float(track.z.min()) - 1.0
    for side in (1.0, -1.0):
        p0 = np.array([side * 64.0, y0 + 38.0])
        p1 = np.array([side * 72.0, y0 - 8.0])
        p2 = np.array([side * (half_lr - 38.0), y0 - 62.0])
        t = np.linspace(0.0, 1.0, 13)
        curve = ((1 - t) ** 2)[:, None] * p0 + (2 * (1 - t) * t)[:, None] * p1 + (t**2)[:, None] * p2
        thick = 7.0 - 3.5 * t  # thick posteriorly (sacroiliac region), thin wing anteriorly
        z_top = z_l5 + 12.0 - 110.0 * (t - 0.55) ** 2
        lo = np.array([curve[:, 0].min() - 10, curve[:, 1].min() - 10, z_bottom])
        hi = np.array([curve[:, 0].max() + 10, curve[:, 1].max() + 10, float(z_top.max())])
        box = box_view(grid, lo, hi)
        if box.empty:
            continue
        x2, y2 = box.x[0], box.y[0]  # (1, nx), (ny, 1)
        sd = np.full(np.broadcast(x2, y2).shape, np.inf, dtype=np.float32)
        top = np.zeros_like(sd)
        for i in range(len(t) - 1):
            seg = segment_sd((x2, y2), curve[i], curve[i + 1], (thick[i] + thick[i + 1]) / 4)
            closer = seg < sd
            sd = np.where(closer, seg, sd)
            top = np.where(closer, (z_top[i] + z_top[i + 1]) / 2, top)
        # Gluteal muscles behind the wing and iliacus inside it (only over fat).
        sl = box.slices
        tissue = arrays.tissue[sl]
        z = box.z
        glut = (((x2 - side * (half_lr - 62.0)) / 48.0) ** 2 + ((y2 - (y0 + 48.0)) / 30.0) ** 2 <= 1)
        iliacus = (((x2 - side * 88.0) / 24.0) ** 2 + ((y2 - (y0 - 38.0)) / 13.0) ** 2 <= 1)
        for region, z_hi in ((glut, z_l5 - 5.0), (iliacus, z_l5 + 5.0)):
            m = region[None] & (z < z_hi) & (tissue == Tissue.FAT)
            arrays.set_tissue(sl, m, Tissue.MUSCLE)
        below_top = z <= top[None]
        free = (arrays.vlabel[sl] == 0) & (arrays.parts[sl] == 0)
        sd3 = np.where(below_top, sd[None], np.float32(50.0)) + np.zeros(free.shape, np.float32)
        blend_bone(arrays.hu[sl], sd3, arrays.spacing, 1.3, arrays.lut[Tissue.CORTICAL],
                   arrays.lut[Tissue.RIB_MARROW], free)
        bone = (sd3 < 0) & free
        marrow = bone & (sd3 < -1.3) & (z <= top[None] - 1.3)
        tissue[bone] = Tissue.CORTICAL
        tissue[marrow] = Tissue.RIB_MARROW
