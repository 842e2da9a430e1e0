"""The neck above the thoracic inlet, for cases that draw a cervical level.

Above the lung apices the trunk narrows to the neck (~12 cm wide, ~11 cm deep at mid
neck), with the shoulders (deltoid and trapezius over the shoulder girdle) lateral to it
from ~T3 up to ~C6, and the head above C1. Inside: paraspinal muscle behind and beside the
column, a fatty visceral space in front holding the airway (pharynx above C4, larynx and
trachea below) with the oesophagus between it and the spine, the thyroid lobes either
side of the trachea (~C6-T1), the carotid arteries and jugular veins, the
sternocleidomastoids, and the vertebral arteries in the transverse foramina. The slices
are repainted from scratch above the inlet (the CT table is kept); nothing is painted
unless a cervical level is drawn, so every other case keeps its voxels.
"""

from __future__ import annotations

import numpy as np

from .anatomy_model import LevelGeometry
from .cervical import foramen_world
from .shapes import Grid, box_view, segment_sd
from .soft_tissue import Track, _col, _ellipse
from .tissues import Tissue

__all__ = ["draw_neck", "neck_start_z"]

_NECK_HALF_LR, _NECK_HALF_AP, _NECK_BACK = 60.0, 56.0, 64.0  # mm; back = posterior skin behind the bodies
_HEAD_HALF_LR, _HEAD_HALF_AP, _HEAD_BACK = 72.0, 92.0, 95.0
_FAT_MM = 7.0


def neck_start_z(chain: dict[str, float]) -> float:
    """z above which the neck replaces the chest: just over the lung apices (~T1 + 14 mm)."""
    return chain["T1"] + 12.0


def _smoothstep(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3 - 2 * t)


def _outline(track: Track, zs: slice) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Half width, half depth and AP centre of the body outline on the neck slices: the chest's
    narrowing to the neck by C6, widening again into the head above C1."""
    c, z, yb = track.chain, track.z[zs], track.y_body[zs]
    s = _smoothstep((z - neck_start_z(c)) / (c["C6"] - neck_start_z(c)))
    hd = _smoothstep((z - (c["C1"] + 6.0)) / 22.0)
    half_lr = (1 - s) * track.half_lr[zs] + s * ((1 - hd) * _NECK_HALF_LR + hd * _HEAD_HALF_LR)
    half_ap = (1 - s) * track.half_ap[zs] + s * ((1 - hd) * _NECK_HALF_AP + hd * _HEAD_HALF_AP)
    back = (1 - s) * track.y_post[zs] + s * (yb + (1 - hd) * _NECK_BACK + hd * _HEAD_BACK)
    return half_lr, half_ap, back - half_ap


def draw_neck(tissue: np.ndarray, grid: Grid, track: Track, chain: list[LevelGeometry]) -> None:
    """Repaint every slice above the thoracic inlet as neck (or head) soft tissue, in place."""
    z0 = neck_start_z(track.chain)
    k0 = int(np.searchsorted(track.z, z0))
    if k0 >= grid.shape[0]:
        return
    zs = slice(k0, grid.shape[0])
    sub = tissue[zs]
    sub[sub != Tissue.TABLE] = Tissue.AIR
    half_lr, half_ap, yc = _outline(track, zs)
    zmask = np.zeros(track.z.shape, bool)
    zmask[zs] = True
    full = lambda a: _pad(a, zs, track.z.size)  # noqa: E731
    _shoulders(tissue, grid, track, zmask)
    _ellipse(tissue, grid, track, Tissue.FAT, 0.0, full(yc), full(half_lr), full(half_ap), zmask)
    _ellipse(tissue, grid, track, Tissue.MUSCLE, 0.0, full(yc), full(half_lr - _FAT_MM), full(half_ap - _FAT_MM),
             zmask)
    _viscera(tissue, grid, track, zmask)
    _vessels(tissue, grid, track, zmask)
    _vertebral_arteries(tissue, grid, chain)


def _pad(a: np.ndarray, zs: slice, n: int) -> np.ndarray:
    """Per-slice values of the neck slices, padded to all slices (1 where unused)."""
    out = np.ones(n)
    out[zs] = a
    return out


def _shoulders(tissue: np.ndarray, grid: Grid, track: Track, zmask: np.ndarray) -> None:
    """Deltoid and trapezius over each shoulder (~T3 to ~C6): a muscle mass lateral to the
    neck, its top sloping down from the neck to the acromion, with a fat rim."""
    c, z, yb = track.chain, track.z, track.y_body
    top = c["C6"]
    t = np.clip((top - z) / (top - c["T3"]), 0.0, 1.0)
    size = np.sqrt(np.clip(1.0 - (1.0 - t) ** 2 * 1.0, 0.0, 1.0))  # rounded top
    m = zmask & (z < top) & (z > c["T4"])
    for side in (1.0, -1.0):
        cx = side * (75.0 + 50.0 * t)
        _ellipse(tissue, grid, track, Tissue.FAT, cx, yb + 22.0, 12.0 + 58.0 * size, 10.0 + 48.0 * size, m)
        _ellipse(tissue, grid, track, Tissue.MUSCLE, cx, yb + 22.0, 6.0 + 54.0 * size, 5.0 + 44.0 * size, m)


def _viscera(tissue: np.ndarray, grid: Grid, track: Track, zmask: np.ndarray) -> None:
    """Visceral space in front of the spine: fat, airway, oesophagus, thyroid, sternocleidomastoids."""
    c, z, yb = track.chain, track.z, track.y_body
    neck = zmask & (z < c["C1"] + 6.0)
    t = np.clip((z - neck_start_z(c)) / (c["C1"] - neck_start_z(c)), 0.0, 1.0)
    for side in (1.0, -1.0):  # sternocleidomastoid: from the sternum round to the mastoid
        cx, cy = side * (22.0 + 18.0 * t), yb - 40.0 + 34.0 * t
        _ellipse(tissue, grid, track, Tissue.FAT, cx, cy, 13.0, 9.0, neck)
        _ellipse(tissue, grid, track, Tissue.MUSCLE, cx, cy, 9.0, 5.5, neck)
    _ellipse(tissue, grid, track, Tissue.FAT, 0.0, yb - 30.0, 30.0, 17.0, neck & (z < c["C3"]))
    pharynx = z > c["C4"]
    _ellipse(tissue, grid, track, Tissue.MUSCLE, 0.0, yb - 31.0, 12.0, 12.0, neck & ~pharynx)
    _ellipse(tissue, grid, track, Tissue.GAS, 0.0, yb - 31.0, 8.5, 8.5, neck & ~pharynx)
    _ellipse(tissue, grid, track, Tissue.GAS, 0.0, yb - 22.0, 15.0, 6.0, neck & pharynx & (z < c["C1"] + 4.0))
    _ellipse(tissue, grid, track, Tissue.MUSCLE, 0.0, yb - 15.0, 8.0, 4.5, neck & ~pharynx)
    lobes = neck & (z > c["T1"] - 5.0) & (z < c["C5"])
    h = np.sqrt(np.clip(1.0 - ((z - 0.5 * (c["T1"] + c["C5"])) / (0.5 * (c["C5"] - c["T1"]) + 5.0)) ** 2, 0, 1))
    for side in (1.0, -1.0):
        _ellipse(tissue, grid, track, Tissue.THYROID, side * 16.0, yb - 30.0, 1.0 + 7.0 * h, 1.0 + 9.0 * h, lobes)


def _vessels(tissue: np.ndarray, grid: Grid, track: Track, zmask: np.ndarray) -> None:
    """Common/internal carotid arteries and internal jugular veins either side of the viscera."""
    c, z, yb = track.chain, track.z, track.y_body
    neck = zmask & (z < c["C1"] + 10.0)
    for side in (1.0, -1.0):
        _ellipse(tissue, grid, track, Tissue.FAT, side * 29.0, yb - 18.0, 11.0, 9.0, neck)
        _ellipse(tissue, grid, track, Tissue.BLOOD, side * 24.0, yb - 16.0, 3.8, 3.8, neck)
        _ellipse(tissue, grid, track, Tissue.BLOOD, side * 33.0, yb - 21.0, 5.5, 4.5, neck)


def _vertebral_arteries(tissue: np.ndarray, grid: Grid, chain: list[LevelGeometry]) -> None:
    """Vertebral arteries rising through the transverse foramina of C6 to C1, then medially
    over C1's posterior arch to the foramen magnum (bone painted later keeps only the lumen)."""
    geos = {g.level: g for g in chain}
    for side in (1.0, -1.0):
        pts = [foramen_world(geos["C6"], side) + np.array([0.0, -4.0, -25.0])]
        pts += [foramen_world(geos[lv], side) for lv in ("C6", "C5", "C4", "C3", "C2", "C1")]
        c1 = geos["C1"]
        pts += [c1.world(7.0, 12.0, side * 16.0), c1.world(14.0, 14.0, side * 6.0)]
        for a, b in zip(pts[:-1], pts[1:]):
            box = box_view(grid, np.minimum(a, b) - 3.0, np.maximum(a, b) + 3.0)
            if box.empty:
                continue
            inside = segment_sd((box.x, box.y, box.z), a, b, 2.0) < 0
            tissue[box.slices][inside] = Tissue.BLOOD
