"""The skull base above C1: occipital condyles, foramen magnum, clivus and occipital shell.

Drawn only when C1 is drawn, in C1's frame (the head follows the atlas). Non-vertebral
bone (vertebra label 0, like the ribs): a network must learn that it is not a vertebra.
The occipital bone is the lower part of an ellipsoidal shell (~6 mm thick, cortex with
diploe) behind the clivus, pierced by the foramen magnum (~35 x 30 mm; its anterior rim,
the basion, ~5 mm above the dens tip); the condyles sit on C1's lateral masses across a
~2 mm joint space; the clivus rises forwards from the basion at ~65 deg. The posterior
fossa holds brain (cerebellum and medulla).
"""

from __future__ import annotations

import numpy as np

from .anatomy_model import LevelGeometry
from .ribs_pelvis import _paint_rib_bone
from .shapes import Grid, box_view, ellipse_sd, ellipsoid_sd, rounded_intersection, segment_sd, smooth_union
from .tissues import Tissue
from .vertebra import CaseArrays

__all__ = ["draw_skull_base", "paint_brain"]

_FM_U = 14.0  # foramen magnum plane above C1's centre (mm)
_FM_V, _FM_HALF_AP, _FM_HALF_LR = 17.0, 17.5, 15.0
_SHELL_RADII = (42.0, 58.0, 60.0)  # (u, v, w) of the skull ellipsoid
_SHELL_T = 6.0


def _shell_centre() -> tuple[float, float]:
    return _FM_U + _SHELL_RADII[0], _FM_V + 8.0


def _skull_box(atlas: LevelGeometry, grid: Grid, reach: float = 0.0):
    corners = np.array([atlas.world(u, v, w) for u in (atlas.height / 2, 120.0) for v in (-45.0, 95.0 + reach)
                        for w in (-70.0 - reach, 70.0 + reach)])
    return box_view(grid, corners.min(axis=0), corners.max(axis=0))


def _skull_sd(atlas: LevelGeometry, u: np.ndarray, v: np.ndarray, w: np.ndarray) -> np.ndarray:
    uc, vc = _shell_centre()
    shell = np.abs(ellipsoid_sd((u - uc, v - vc, w), _SHELL_RADII)) - _SHELL_T / 2
    basion_v = _FM_V - _FM_HALF_AP
    shell = np.maximum(shell, (basion_v - 4.0) - v - 0.5 * np.maximum(u - _FM_U, 0.0))  # nothing in front of the clivus
    hole = np.maximum(ellipse_sd(w, v - _FM_V, _FM_HALF_LR, _FM_HALF_AP), u - uc)
    tilt = np.radians(65.0)
    a = np.array([_FM_U - 1.0, basion_v - 1.0])
    b = a + 45.0 * np.array([np.sin(tilt), -np.cos(tilt)])
    clivus = rounded_intersection(segment_sd((u, v), a, b, 5.0), np.abs(w) - 11.0, 3.0)
    bone = smooth_union(np.maximum(shell, -hole), clivus, 3.0)
    u_c = atlas.height / 2 + 2.0 + 4.6  # condyles: 2 mm above the lateral masses
    for side in (1.0, -1.0):
        condyle = segment_sd((u, v, w), np.array([u_c, basion_v + 3.0, side * 13.5]),
                             np.array([u_c + 1.0, _FM_V + 4.0, side * 19.0]), 4.6)
        bone = smooth_union(bone, condyle, 2.5)
    return bone


def paint_brain(tissue: np.ndarray, grid: Grid, atlas: LevelGeometry) -> None:
    """Brain inside the skull ellipsoid above the foramen magnum (before any bone is painted)."""
    box = _skull_box(atlas, grid)
    if box.empty:
        return
    u, v, w = atlas.local(box.x, box.y, box.z)
    uc, vc = _shell_centre()
    inside = (ellipsoid_sd((u - uc, v - vc, w), _SHELL_RADII) < 0) & (v > _FM_V - _FM_HALF_AP - 6.0)
    tissue[box.slices][inside] = Tissue.BRAIN


def draw_skull_base(atlas: LevelGeometry, grid: Grid, arrays: CaseArrays) -> None:
    """Paint the occipital bone (label 0) over free voxels; the canal through the foramen stays."""
    box = _skull_box(atlas, grid)
    if box.empty:
        return
    u, v, w = atlas.local(box.x, box.y, box.z)
    _paint_rib_bone(arrays, box, _skull_sd(atlas, u, v, w).astype(np.float32))
