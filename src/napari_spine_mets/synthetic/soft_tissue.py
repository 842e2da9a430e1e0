"""Everything around the spine: body outline, fat, muscles, organs, vessels, lung bases.

Shapes are ellipses whose centre follows the spine slice by slice, evaluated by
broadcasting (z, 1, 1) x (1, y, 1) x (1, 1, x) so the full-volume cost is one compare.
The layout is that of a supine adult: subcutaneous fat, the abdominal wall, bowel
anteriorly, liver on the right, spleen and aorta on the left, kidneys and psoas beside
the spine, erector spinae behind it, posterior lung recesses above the diaphragm, and
the CT table under the back. When levels above T8 are drawn, ``upper_thorax`` then
replaces everything above the diaphragm by the chest (lungs, mediastinum, heart).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from .anatomy_model import LevelGeometry
from .params import CERVICAL_LEVELS, UPPER_THORACIC_LEVELS, SpineParams
from .shapes import Grid
from .tissues import Tissue

__all__ = ["Track", "spine_track", "draw_soft_tissue", "diaphragm_z", "fat_thickness"]


@dataclass(frozen=True)
class Track:
    """Per-slice landmarks (arrays over z, mm LPS) that the soft tissues hang on."""

    z: np.ndarray  # (nz,) slice positions
    y_body: np.ndarray  # AP centre of the vertebral body
    y_post: np.ndarray  # posterior skin
    half_lr: np.ndarray  # half width of the body outline
    half_ap: np.ndarray  # half depth of the body outline
    levels: dict[str, float]  # level -> z of its body centre
    #: z of the body centre of every supported level, drawn or not (organ positions do not
    #: depend on the field of view); filled only for upper-thorax cases.
    chain: dict[str, float] = field(default_factory=dict)

    @property
    def upper_thorax(self) -> bool:
        """Whether a level above T8 is drawn (and the chest model is used)."""
        return draws_upper_thorax(self.levels)

    @property
    def cervical(self) -> bool:
        """Whether a cervical level is drawn (the neck is then painted above the inlet)."""
        return any(level in CERVICAL_LEVELS for level in self.levels)

    @property
    def organ_levels(self) -> dict[str, float]:
        """Level z's that place the organs: the whole chain for the chest model, else the
        drawn levels (the original T8-S1 model, kept voxel-identical)."""
        return self.chain if self.upper_thorax else self.levels


def draws_upper_thorax(levels: Iterable[str]) -> bool:
    """Whether any of ``levels`` lies above T8 (the chest model is then used; a neck case
    uses it too, below the thoracic inlet)."""
    return any(level in UPPER_THORACIC_LEVELS or level in CERVICAL_LEVELS for level in levels)


def fat_thickness(params: SpineParams) -> float:
    """Subcutaneous fat (mm): thicker in women."""
    return 22.0 if params.sex == "F" else 14.0


def spine_track(column: list[LevelGeometry], sacrum: list[LevelGeometry], grid: Grid,
                params: SpineParams, chain: list[LevelGeometry] | None = None) -> Track:
    """Interpolate the spine's AP position and the outline size for every slice.

    ``chain`` (every supported level) is kept only when a level above T8 is drawn.
    """
    geos = sorted(column + sacrum, key=lambda g: g.center[2])
    zc = np.array([g.center[2] for g in geos])
    yc = np.array([g.center[1] for g in geos])
    z = grid.coords(0, slice(0, grid.shape[0])).astype(float)
    y_body = np.interp(z, zc, yc)
    # Smooth the track so the outline does not follow every vertebra.
    kernel = np.hanning(31)
    kernel /= kernel.sum()
    y_smooth = np.convolve(np.pad(y_body, 15, mode="edge"), kernel, mode="valid")
    y_post = y_smooth + 88.0 + (6.0 if params.sex == "F" else 2.0)
    levels = {g.level: float(g.center[2]) for g in column}
    chain_z = {g.level: float(g.center[2]) for g in chain or []} if draws_upper_thorax(levels) else {}
    z_l5 = (chain_z or levels).get("L5", float(zc.min()))
    pelvis = np.clip((z_l5 + 20.0 - z) / 60.0, 0.0, 1.0)  # widening into the pelvis
    base = 140.0 if params.sex == "F" else 148.0
    half_lr = base + 18.0 * pelvis
    half_ap = np.full_like(z, 108.0 if params.sex == "F" else 112.0)
    return Track(z=z, y_body=y_body, y_post=y_post, half_lr=half_lr, half_ap=half_ap, levels=levels,
                 chain=chain_z)


def _col(values: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=np.float32)[:, None, None]


def _ellipse(tissue: np.ndarray, grid: Grid, track: Track, code: int, cx: np.ndarray | float,
             cy: np.ndarray, ax: float | np.ndarray, ay: float | np.ndarray, zmask: np.ndarray,
             where: np.ndarray | None = None) -> None:
    """Paint an elliptic cross-section (per-slice centre and size) on the slices in ``zmask``."""
    idx = np.flatnonzero(zmask)
    if idx.size == 0:
        return
    zs = slice(int(idx[0]), int(idx[-1]) + 1)
    cx_a = np.broadcast_to(np.asarray(cx, dtype=float), track.z.shape)[zs]
    cy_a = np.broadcast_to(np.asarray(cy, dtype=float), track.z.shape)[zs]
    ax_a = np.broadcast_to(np.asarray(ax, dtype=float), track.z.shape)[zs]
    ay_a = np.broadcast_to(np.asarray(ay, dtype=float), track.z.shape)[zs]
    ys = grid.index_range(1, float((cy_a - ay_a).min()), float((cy_a + ay_a).max()))
    xs = grid.index_range(2, float((cx_a - ax_a).min()), float((cx_a + ax_a).max()))
    y = grid.coords(1, ys)[None, :, None]
    x = grid.coords(2, xs)[None, None, :]
    inside = ((y - _col(cy_a)) / _col(ay_a)) ** 2 + ((x - _col(cx_a)) / _col(ax_a)) ** 2 <= 1.0
    inside &= _col(zmask[zs]) > 0
    target = tissue[zs, ys, xs]
    if where is not None:
        inside &= where[zs, ys, xs]
    target[inside] = code


def draw_soft_tissue(grid: Grid, track: Track, params: SpineParams, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Tissue map of everything but bone and canal; also returns the inner-cavity mask."""
    nz, ny, nx = grid.shape
    y = grid.coords(1, slice(0, ny))[None, :, None]
    x = grid.coords(2, slice(0, nx))[None, None, :]
    half_ap = _col(track.half_ap)
    yc = _col(track.y_post) - half_ap
    dy = (y - yc) / half_ap
    dy = np.where(dy > 0, dy * 1.08, dy)  # flatter back
    r2 = dy**2 + (x / _col(track.half_lr)) ** 2
    fat_mm = fat_thickness(params)
    rf = (1.0 - fat_mm / 120.0) ** 2
    rm = (1.0 - (fat_mm + 11.0) / 120.0) ** 2
    tissue = np.zeros(grid.shape, dtype=np.uint8)
    tissue[r2 <= 1.0] = Tissue.FAT
    tissue[r2 <= rf] = Tissue.MUSCLE
    cavity = r2 <= rm
    tissue[cavity] = Tissue.FAT
    del r2, dy
    _bowel(tissue, cavity, grid, track, rng)

    every = np.ones(nz, dtype=bool)
    lv = track.organ_levels
    z = track.z
    top = float(z.max())
    z_t12 = lv.get("T12", top + 30.0)
    z_l1 = lv.get("L1", z_t12 - 33.0)
    z_l2 = lv.get("L2", z_l1 - 36.0)
    z_l4 = lv.get("L4", z_l2 - 75.0)
    z_l5 = lv.get("L5", z_l4 - 40.0)
    yb = track.y_body
    # Organs (lungs are painted later over anything above the diaphragm).
    _ellipse(tissue, grid, track, Tissue.LIVER, -70.0 + 0 * z, yb - 38.0,
             _taper(z, z_t12 + 40, 95.0, 130.0), _taper(z, z_t12 + 40, 70.0, 130.0),
             every, where=cavity)
    _ellipse(tissue, grid, track, Tissue.SPLEEN, 92.0, yb + 5.0, _taper(z, z_t12 + 15, 28.0, 70.0),
             _taper(z, z_t12 + 15, 42.0, 70.0), every, where=cavity)
    for side, zk in ((1.0, z_l1 + 5.0), (-1.0, z_l1 - 12.0)):
        ax, ay = _taper(z, zk, 30.0, 60.0), _taper(z, zk, 27.0, 60.0)
        _ellipse(tissue, grid, track, Tissue.KIDNEY, side * 78.0, yb + 12.0, ax, ay, every)
        _ellipse(tissue, grid, track, Tissue.FAT, side * 66.0, yb + 8.0, ax * 0.35, ay * 0.4, every)
    # Muscles: psoas (from T12, growing caudally), quadratus lumborum, erector spinae.
    psoas = np.clip((z_t12 - z) / (z_t12 - z_l5 + 1e-6), 0.0, 1.0)
    for side in (1.0, -1.0):
        _ellipse(tissue, grid, track, Tissue.MUSCLE, side * (24.0 + 20.0 * psoas), yb - 4.0 - 10.0 * psoas,
                 4.0 + 16.0 * psoas, 4.0 + 13.0 * psoas, (z < z_t12) & (z > z_l5 - 80.0))
        _ellipse(tissue, grid, track, Tissue.MUSCLE, side * 58.0, yb + 36.0, 17.0, 9.0,
                 (z < z_t12) & (z > z_l4 - 10.0))
        _ellipse(tissue, grid, track, Tissue.MUSCLE, side * 36.0, yb + 60.0, 36.0, 25.0, every)
        _ellipse(tissue, grid, track, Tissue.MUSCLE, side * 16.0, yb + 52.0, 16.0, 26.0, every)
    # Vessels: aorta (bifurcating at L4) and IVC.
    bif = z_l4 + 5.0
    above = z > bif
    _ellipse(tissue, grid, track, Tissue.BLOOD, 14.0, yb - 31.0, 11.0, 11.0, above)
    _ellipse(tissue, grid, track, Tissue.BLOOD, -20.0, yb - 26.0, 12.0, 9.0, z > bif - 10.0)
    for side in (1.0, -1.0):
        spread = np.clip(bif - z, 0.0, None)
        _ellipse(tissue, grid, track, Tissue.BLOOD, side * (8.0 + 0.55 * spread), yb - 31.0 + 0.1 * spread,
                 7.0, 7.0, ~above)
    _lungs(tissue, grid, track, cavity, z_t12)
    _table(tissue, grid, track)
    return tissue, cavity


def _taper(z: np.ndarray, z0: float, size: float, half_len: float) -> np.ndarray:
    """Size of an organ section: ``size`` at z0 tapering (ellipsoidally) to 0 at z0 +- half_len."""
    t = np.clip(1.0 - ((z - z0) / half_len) ** 2, 1e-4, None)
    return size * np.sqrt(t)


def smooth_field(n: tuple[int, int, int], spacing: tuple[float, float, float], scale_mm: float,
                 rng: np.random.Generator) -> np.ndarray:
    """Smooth random field (unit SD) on an ``n`` grid: coarse noise upsampled by matrix products.

    Separable Gaussian interpolation as three small matrix products is much faster than
    ``ndimage.zoom`` on the full volume.
    """
    coarse_shape = tuple(int(np.ceil(k * s / scale_mm)) + 3 for k, s in zip(n, spacing))
    field = rng.standard_normal(coarse_shape).astype(np.float32)
    for axis, (k, s) in enumerate(zip(n, spacing)):
        pos = np.arange(k) * s / scale_mm + 1.0
        grid = np.arange(coarse_shape[axis])
        weights = np.exp(-0.5 * ((pos[:, None] - grid[None, :]) / 0.75) ** 2).astype(np.float32)
        weights /= weights.sum(axis=1, keepdims=True)
        field = np.moveaxis(np.tensordot(weights, np.moveaxis(field, axis, 0), axes=(1, 0)), 0, axis)
    field -= field.mean()
    return field / (field.std() + 1e-6)


def _bowel(tissue: np.ndarray, cavity: np.ndarray, grid: Grid, track: Track, rng: np.random.Generator) -> None:
    """Bowel loops in the anterior abdomen: thresholded smooth noise, with a little gas."""
    ny = grid.shape[1]
    y = grid.coords(1, slice(0, ny))
    y_limit = float(track.y_body.max()) - 20.0
    ys = slice(0, int(np.searchsorted(y, y_limit)))
    sub = (grid.shape[0], ys.stop, grid.shape[2])
    field = smooth_field(sub, grid.spacing, 7.0, rng)
    # Loops thin out towards the retroperitoneum instead of stopping at a straight line.
    depth = (y[ys][None, :, None] - (_col(track.y_body) - 60.0)) / 40.0
    loops = cavity[:, ys] & (field > -0.2 + 2.5 * np.clip(depth, 0.0, None))
    region = tissue[:, ys]
    region[loops] = Tissue.BOWEL
    region[loops & (field > 1.8)] = Tissue.GAS


def _lungs(tissue: np.ndarray, grid: Grid, track: Track, cavity: np.ndarray, z_t12: float) -> None:
    """Lung bases above a dome-shaped diaphragm, deepest in the posterior recesses."""
    nz, ny, nx = grid.shape
    y = grid.coords(1, slice(0, ny))[None, :, None]
    x = grid.coords(2, slice(0, nx))[None, None, :]
    z = _col(track.z)
    z_diaph = diaphragm_z(track, y, x, z_t12)
    zs = slice(int(np.searchsorted(track.z, z_t12 - 40.0)), nz)
    lung = (z[zs] > z_diaph[zs]) & cavity[zs] & (np.abs(x) > 28.0)
    tissue[zs][lung] = Tissue.LUNG


def diaphragm_z(track: Track, y: np.ndarray, x: np.ndarray, z_t12: float,
                rise_limit_mm: float | None = None) -> np.ndarray:
    """z of the diaphragm under (y, x) for every slice's spine position, broadcast to (z, y, x).

    Domes highest anteriorly and medially; recesses deepest posterolaterally. The chest
    model passes ``rise_limit_mm`` so the dome stops rising ~10 cm in front of the spine
    (towards the xiphoid it does not keep climbing under the sternum).
    """
    lateral = (x / _col(track.half_lr)) ** 2
    forward = _col(track.y_body) + 40.0 - y
    if rise_limit_mm is not None:
        forward = np.minimum(forward, rise_limit_mm)
    return (z_t12 - 6.0 + 0.55 * forward + 25.0 * np.exp(-((x / 45.0) ** 2))
            + 30.0 * (0.35 - lateral))


def _table(tissue: np.ndarray, grid: Grid, track: Track) -> None:
    """The CT table: a slightly curved foam-core slab under the patient's back."""
    ny, nx = grid.shape[1:]
    y = grid.coords(1, slice(0, ny))[:, None]
    x = grid.coords(2, slice(0, nx))[None, :]
    y_top = float(track.y_post.max()) + 3.0
    curve = y_top - 18.0 * (1 - np.sqrt(np.clip(1 - (x / 260.0) ** 2, 0, 1)))
    slab = (y > curve) & (y < curve + 12.0) & (np.abs(x) < 230.0)
    tissue[:, slab] = np.where(tissue[:, slab] == Tissue.AIR, Tissue.TABLE, tissue[:, slab])
