"""Bones that are not vertebrae: ribs on the thoracic levels and the iliac wings.

They carry no vertebra label (TotalSegmentator has its own rib and hip classes, which
this project does not write), but they must be there: a spine CT without them would
teach a network the wrong context.
"""

from __future__ import annotations

import numpy as np

from .anatomy_model import LevelGeometry
from .shapes import Grid, blend_bone, box_view, segment_sd
from .soft_tissue import Track
from .tissues import Tissue
from .vertebra import CaseArrays

__all__ = ["draw_ribs", "draw_pelvis"]

# level: angle (deg) around the trunk where the rib ends, drop (mm) along its course, radius
_RIBS = {"T8": (168, 70, 4.0), "T9": (162, 64, 4.0), "T10": (152, 58, 4.0),
         "T11": (118, 45, 3.8), "T12": (82, 30, 3.3)}
_CORTEX = 1.1


def _paint_capsule(grid: Grid, arrays: CaseArrays, a: np.ndarray, b: np.ndarray, r: float) -> None:
    """One rib segment (LPS end points): cortex, then marrow that wins where segments overlap."""
    lo = np.minimum(a, b) - r - 1
    hi = np.maximum(a, b) + r + 1
    box = box_view(grid, lo, hi)
    if box.empty:
        return
    sd = segment_sd((box.x, box.y, box.z), a, b, r)
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
              fat_mm: float) -> None:
    """A rib on each side of every thoracic level, from the costovertebral joint around the trunk."""
    for geo in column:
        if geo.level not in _RIBS:
            continue
        phi_end, drop, radius = _RIBS[geo.level]
        h, d = geo.height, geo.depth
        v_c = d / 2 - 1.0 + geo.canal_ap / 2
        v1 = v_c + geo.canal_ap * 0.15
        u_p = h / 2 - geo.pedicle_h / 2 - 1.0
        for side in (1.0, -1.0):
            head = geo.world(h * 0.3, d * 0.3, side * (geo.width / 2 + 4.0))
            tubercle = geo.world(u_p + 2.0, v1 + 13.0, side * (max(geo.tp_reach, 30.0) + 3.0))
            k = int(np.clip(np.searchsorted(track.z, tubercle[2]), 0, track.z.size - 1))
            a_r = track.half_lr[k] - fat_mm - 16.0
            b_r = track.half_ap[k] - fat_mm - 16.0
            y_oc = track.y_post[k] - track.half_ap[k]
            phi0 = np.arcsin(min(0.95, (abs(tubercle[0]) + 14.0) / a_r))
            phis = np.linspace(phi0, np.radians(phi_end), 14)
            frac = (phis - phi0) / (phis[-1] - phi0)
            pts = [head, tubercle]
            for phi, f in zip(phis, frac):
                pts.append(np.array([side * a_r * np.sin(phi), y_oc + b_r * np.cos(phi),
                                     tubercle[2] - 8.0 - drop * f**1.3]))
            for a, b in zip(pts[:-1], pts[1:]):
                _paint_capsule(grid, arrays, a, b, radius)


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
