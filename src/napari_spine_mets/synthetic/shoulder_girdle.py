"""The shoulder girdle for cases that draw a cervical level: clavicles, scapulae, humeral heads.

Non-vertebral bone (label 0), so that the axial field widens at ~C6-T2 as in a real neck
scan: each clavicle runs from the manubrium (~T2) laterally, up and back to the acromion
(~C7-T1, ~15 cm from the midline); the scapula's spine runs from the acromion back and
medially, its body a thin plate on the back of the chest down to ~T7; the humeral head
(~46 mm across) lies below the acromion against the glenoid.
"""

from __future__ import annotations

import numpy as np

from .ribs_pelvis import _paint_capsule
from .shapes import Grid
from .soft_tissue import Track
from .vertebra import CaseArrays

__all__ = ["draw_shoulder_girdle"]


def _p(track: Track, x: float, dy: float, z: float) -> np.ndarray:
    """LPS point at height z, ``dy`` mm behind the spine's AP position there."""
    return np.array([x, float(np.interp(z, track.z, track.y_body)) + dy, z])


def _polyline(grid: Grid, arrays: CaseArrays, pts: list[np.ndarray], radii: list[float]) -> None:
    for a, b, r in zip(pts[:-1], pts[1:], radii):
        _paint_capsule(grid, arrays, a, b, r)


def draw_shoulder_girdle(grid: Grid, track: Track, arrays: CaseArrays) -> None:
    """Both shoulders' bones, placed by the z of T1, T2 and T7 in the chain."""
    c = track.chain
    z_sc, z_ac = c["T2"] + 4.0, c["T1"] + 12.0
    for s in (1.0, -1.0):
        clavicle = [_p(track, s * 22.0, -62.0, z_sc), _p(track, s * 60.0, -66.0, z_sc + 8.0),
                    _p(track, s * 105.0, -52.0, z_ac + 2.0), _p(track, s * 140.0, -20.0, z_ac)]
        _polyline(grid, arrays, clavicle, [6.0, 5.0, 4.5])
        spine = [_p(track, s * 150.0, -12.0, z_ac + 2.0), _p(track, s * 135.0, 10.0, z_ac - 6.0),
                 _p(track, s * 80.0, 45.0, c["T3"])]
        _polyline(grid, arrays, spine, [4.5, 4.0])
        glenoid = _p(track, s * 128.0, 5.0, z_ac - 22.0)
        for lo in (c["T4"], c["T5"], c["T6"], c["T7"]):  # the body: a fan of thin strands
            _paint_capsule(grid, arrays, glenoid, _p(track, s * (70.0 + 0.1 * (z_ac - lo)), 55.0, lo), 3.0)
        _paint_capsule(grid, arrays, _p(track, s * 80.0, 45.0, c["T3"]), _p(track, s * 78.0, 55.0, c["T7"]), 3.0)
        head = _p(track, s * 152.0, 4.0, z_ac - 26.0)
        _paint_capsule(grid, arrays, head, head + np.array([s * 1.0, 0.0, -1.0]), 23.0)
        _paint_capsule(grid, arrays, head, head + np.array([s * 12.0, 2.0, -160.0]), 12.0)
