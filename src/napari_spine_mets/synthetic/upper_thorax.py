"""The chest above the diaphragm, for cases that draw levels above T8.

The lower-thorax model of ``soft_tissue`` shows lung bases over abdominal organs. Above
T8 a CT shows the chest instead: both lungs inside a rib cage that narrows to the
thoracic inlet, thick chest-wall muscle outside the upper ribs, and the mediastinum
between the lungs: fat, trachea and main bronchi, oesophagus, the heart (enhancing
chambers with contrast) in front of ~T5-T9, the ascending aorta, arch and descending
aorta to the left-front of the bodies, the great arteries and the superior vena cava.
Organs are placed by the z of every level of the chain (``Track.chain``), drawn or not,
so they sit where they belong whatever part of the spine is in the field of view.
Everything is an ellipse per slice, as in ``soft_tissue``: a few cheap passes.
"""

from __future__ import annotations

import numpy as np

from .params import SpineParams
from .shapes import Grid
from .soft_tissue import Track, _col, _ellipse, _taper, diaphragm_z, fat_thickness
from .tissues import Tissue

__all__ = ["cage_ellipse", "draw_upper_thorax"]

#: The chest wall's inner outline (the cage that the upper ribs and the lungs follow), at
#: the height of each level's body centre: fractions of the lower cage's half width and
#: half depth, and how far (mm) its back is drawn forwards. It narrows to the thoracic
#: inlet (~11 cm wide, its front ~6 cm before T1), so the first rib, lying on its smallest
#: part, is short and strongly curved, and the sternum slopes back towards the manubrium.
_CAGE_KNOTS: tuple[tuple[str, float, float, float], ...] = (
    ("T7", 1.0, 1.0, 0.0), ("T6", 1.0, 0.98, 0.0), ("T5", 0.96, 0.94, 2.0), ("T4", 0.90, 0.88, 5.0),
    ("T3", 0.80, 0.80, 10.0), ("T2", 0.66, 0.70, 18.0), ("T1", 0.50, 0.58, 28.0),
)


def cage_ellipse(track: Track, z: np.ndarray | float, fat_mm: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Half width, half depth and AP centre (mm) of the rib cage at height(s) ``z``.

    Below T7 it is the full-size cage the T8-T12 ribs follow; above, it narrows per
    ``_CAGE_KNOTS`` (interpolated in z, constant above T1).
    """
    knots = np.array([track.chain[lv] for lv, *_ in _CAGE_KNOTS])
    s_lr, s_ap, back = (np.interp(z, knots, [row[i] for row in _CAGE_KNOTS]) for i in (1, 2, 3))
    k = np.clip(np.searchsorted(track.z, z), 0, track.z.size - 1)
    a = s_lr * (track.half_lr[k] - fat_mm - 16.0)
    b = s_ap * (track.half_ap[k] - fat_mm - 16.0)
    return a, b, track.y_post[k] - fat_mm - 16.0 - back - b


def draw_upper_thorax(tissue: np.ndarray, cavity: np.ndarray, grid: Grid, track: Track,
                      params: SpineParams) -> None:
    """Turn everything above the diaphragm into the chest (in place on the tissue map)."""
    ny, nx = grid.shape[1:]
    y = grid.coords(1, slice(0, ny))[None, :, None]
    x = grid.coords(2, slice(0, nx))[None, None, :]
    chest = (_col(track.z) > diaphragm_z(track, y, x, track.chain["T12"], rise_limit_mm=110.0)) & cavity
    fat_mm = fat_thickness(params)
    _chest_wall_and_lungs(tissue, chest, grid, track, fat_mm)
    _heart(tissue, chest, grid, track, fat_mm)
    _oesophagus(tissue, cavity, grid, track)
    _aorta(tissue, cavity, grid, track)
    _veins_and_branches(tissue, cavity, grid, track)
    _airways(tissue, chest, grid, track)


def _chest_wall_and_lungs(tissue: np.ndarray, chest: np.ndarray, grid: Grid, track: Track, fat_mm: float) -> None:
    """Above the diaphragm: lungs filling the rib cage (closing in a dome ~14 mm above T1's
    centre), around a mediastinum of fat from the sternum to the spine, and back to the
    paravertebral gutters; chest-wall and back muscle outside. Nothing abdominal is left."""
    ny, nx = grid.shape[1:]
    y = grid.coords(1, slice(0, ny))[None, :, None]
    x = grid.coords(2, slice(0, nx))[None, None, :]
    z = track.z
    a, b, yc = cage_ellipse(track, z, fat_mm)
    z0 = track.chain["T1"] - 6.0
    dome = np.sqrt(np.clip(1.0 - (np.clip(z - z0, 0.0, None) / 20.0) ** 2, 0.0, 1.0))
    yc = yc + b * (1.0 - dome)  # the apex shrinks towards the back
    a, b = a * dome, b * dome
    in_cage = (x / _col(a + 2.0)) ** 2 + ((y - _col(yc)) / _col(b + 4.0)) ** 2 <= 1.0
    yb = _col(track.y_body)
    front = _col(yc - b)
    mediastinum = ((x - 3.0) / 24.0) ** 2 + ((y - 0.5 * (front + yb)) / (0.5 * (yb - front) + 1e-3)) ** 2 <= 1.0
    ax = np.abs(x)
    gutter = y > yb + 20.0 + 0.6 * np.clip(ax - 20.0, 0.0, None)  # behind the transverse processes
    beside_body = (ax < 17.0) & (y > yb - 15.0)
    tissue[chest] = Tissue.FAT
    tissue[chest & (~in_cage | gutter)] = Tissue.MUSCLE
    tissue[chest & in_cage & ~gutter & ~mediastinum & ~beside_body] = Tissue.LUNG


def _heart(tissue: np.ndarray, chest: np.ndarray, grid: Grid, track: Track, fat_mm: float) -> None:
    """Heart in front of ~T5-T9, left of the midline, resting on the diaphragm: myocardium
    (muscle) around blood-filled chambers (bright with contrast)."""
    c, z = track.chain, track.z
    a, b, yc = cage_ellipse(track, z, fat_mm)
    front = yc - b + 6.0
    back = track.y_body - 24.0
    zc = 0.5 * (c["T5"] + c["T9"])
    half = 0.5 * (c["T5"] - c["T9"]) + 12.0
    size = _taper(z, zc, 1.0, half)
    cy = 0.5 * (front + back)
    ax, ay = 0.55 * a * size, 0.5 * (back - front) * size
    zmask = np.abs(z - zc) < half
    _ellipse(tissue, grid, track, Tissue.MUSCLE, 12.0, cy, ax, ay, zmask, where=chest)
    _ellipse(tissue, grid, track, Tissue.BLOOD, 12.0, cy - 2.0, ax * 0.72, ay * 0.7, zmask, where=chest)


def _oesophagus(tissue: np.ndarray, cavity: np.ndarray, grid: Grid, track: Track) -> None:
    """Oesophagus behind the trachea, moving forwards and rightwards of the aorta to the hiatus."""
    c, z = track.chain, track.z
    t = np.clip((c["T7"] - z) / (c["T7"] - c["T10"]), 0.0, 1.0)
    _ellipse(tissue, grid, track, Tissue.MUSCLE, 2.0 - 6.0 * t, track.y_body - 20.0 - 26.0 * t, 8.0, 6.0,
             z > c["T10"], where=cavity)


def _aorta(tissue: np.ndarray, cavity: np.ndarray, grid: Grid, track: Track) -> None:
    """Descending aorta at the left-front of the bodies (joining the abdominal one below the
    diaphragm), the arch at ~T4 passing left of the trachea, and the ascending aorta."""
    c, z, yb = track.chain, track.z, track.y_body
    z_arch = c["T4"] + 0.3 * (c["T3"] - c["T4"])
    t = np.clip((z - c["T10"]) / (c["T5"] - c["T10"]), 0.0, 1.0)
    _ellipse(tissue, grid, track, Tissue.BLOOD, 14.0 + 9.0 * t, yb - 31.0 + 19.0 * t, 11.5, 11.5,
             (z > c["T11"]) & (z < z_arch), where=cavity)
    _ellipse(tissue, grid, track, Tissue.BLOOD, -6.0, yb - 62.0, 14.0, 14.0,
             (z > c["T6"]) & (z < z_arch), where=cavity)
    p0, p1, p2 = np.array([-6.0, -62.0]), np.array([26.0, -58.0]), np.array([23.0, -12.0])
    for s in np.linspace(0.0, 1.0, 9):
        px, py = (1 - s) ** 2 * p0 + 2 * (1 - s) * s * p1 + s**2 * p2
        zp = z_arch + 6.0 * np.sin(np.pi * s)
        r = _taper(z, zp, 12.0, 12.0)
        _ellipse(tissue, grid, track, Tissue.BLOOD, px, yb + py, r, r, np.abs(z - zp) < 12.0, where=cavity)


def _veins_and_branches(tissue: np.ndarray, cavity: np.ndarray, grid: Grid, track: Track) -> None:
    """Great arteries rising from the arch (diverging towards the shoulders) and the SVC."""
    c, z, yb = track.chain, track.z, track.y_body
    z_arch = c["T4"] + 0.3 * (c["T3"] - c["T4"])
    rise = np.clip(z - z_arch, 0.0, None)
    for x0, y0, r, drift in ((-10.0, -55.0, 7.0, -0.25), (5.0, -52.0, 5.0, 0.05), (16.0, -42.0, 6.0, 0.3)):
        _ellipse(tissue, grid, track, Tissue.BLOOD, x0 + drift * rise, yb + y0, r, r, z > z_arch,
                 where=cavity)
    _ellipse(tissue, grid, track, Tissue.BLOOD, -28.0, yb - 50.0, 9.0, 9.0, (z > c["T6"]) & (z < c["T2"]),
             where=cavity)


def _airways(tissue: np.ndarray, chest: np.ndarray, grid: Grid, track: Track) -> None:
    """Trachea in front of the oesophagus down to the carina (~T4-T5), then the two main
    bronchi (the right one steeper); air-filled with a soft-tissue wall."""
    c, z, yb = track.chain, track.z, track.y_body
    z_car = 0.5 * (c["T4"] + c["T5"])
    t = np.clip(z_car - z, 0.0, None)
    bronchi = (z <= z_car) & (z > z_car - 30.0)
    for code, r in ((Tissue.MUSCLE, 10.5), (Tissue.GAS, 8.5)):
        _ellipse(tissue, grid, track, code, -2.0, yb - 36.0, r, r, z > z_car, where=chest)
    for code, r in ((Tissue.MUSCLE, 7.5), (Tissue.GAS, 5.5)):
        for slope, stretch in ((-0.8, 1.28), (1.1, 1.49)):
            _ellipse(tissue, grid, track, code, -2.0 + slope * t, yb - 36.0 + 0.25 * t, r * stretch, r,
                     bronchi, where=chest)
