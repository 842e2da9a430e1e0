"""The cervical vertebrae as signed distances: C3-C7, C2 (axis) and C1 (atlas).

C3-C7 (sub-axial): a small body, wider than deep, with uncinate processes (upward lips on
its lateral superior edges); short pedicles angled ~45 deg medially to the articular
pillars (lateral masses stacked with facet joints inclined ~45 deg); thin laminae; a bifid
spinous process (C3-C6; C7's is long and single, the vertebra prominens); transverse
processes ringing the transverse foramen (the vertebral artery's canal; small at C7).
C2 adds the dens rising ~15 mm above its body, the broad superior facets that carry C1,
and a large bifid spinous process. C1 has no body: a ring of anterior arch, lateral masses
and posterior arch, with wide transverse processes; the dens sits inside the ring, 2 mm
behind the anterior arch, held by the transverse ligament. Joint spaces are soft tissue
(``Tissue.LIGAMENT``), never discs. Painting follows ``vertebra`` (the first claim wins);
every C1 voxel is ``POSTERIOR_ELEMENTS``, the dens is C2's ``BODY``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .anatomy_model import LevelGeometry
from .shapes import BoxView, Grid, box_view, ellipse_sd, ellipsoid_sd, rounded_intersection, segment_sd, smooth_union
from .tissues import Tissue
from .vertebra import CaseArrays, _body_sd, _paint_bone, _paint_canal

__all__ = ["DENS_MM", "draw_subaxial", "draw_atlas", "foramen_world", "dens_axis", "ATLAS_CANAL_TOP_MM"]

#: Height of the dens above C2's body (Gosavi & Swamy 2012: 14.9 mm; Yousuf et al.: 15.8 mm).
DENS_MM = 15.5
_DENS_R = 4.8  # dens radius (AP ~10 mm)
_NOTCH = 1.0
_GAP_DENS = 2.0  # atlanto-dental interval (adult normal < 3 mm)
_LIGAMENT_MM = 2.5  # transverse ligament behind the dens
#: How far (mm above C1's centre) the canal is drawn up through the foramen magnum.
ATLAS_CANAL_TOP_MM = 16.0
_LATERAL_MASS_W = 18.0  # C1 lateral-mass centre from the midline (canal LR ~26 mm between them)
_ATLAS_FORAMEN_W = 26.5  # C1 foramen transversarium centre (Patel & Gupta: margins 44.8-55.5 mm apart)


@dataclass(frozen=True)
class _Layout:
    """Landmarks of a C2-C7 vertebra in its local frame (mm)."""

    v_c: float  # canal centre
    v_post: float  # posterior canal wall
    u_p: float  # pedicle centre height
    v_ped0: float  # pedicle start (inside the body)
    w_ped0: float
    v_ped1: float  # pedicle end (into the pillar)
    tan: float  # medial angle of the pedicle
    v_pil: float  # articular pillar centre
    w_pil: float
    v_f: float  # transverse foramen centre
    w_f: float
    r_f: float
    u_tp: float  # transverse process height


def _layout(geo: LevelGeometry) -> _Layout:
    h, d = geo.height, geo.depth
    v_c = d / 2 - _NOTCH + geo.canal_ap / 2
    tan = float(np.tan(geo.pedicle_angle))
    v_ped0, w_ped0 = d / 2 - 2.5, geo.width / 2 + 1.0
    v_ped1 = d / 2 + 5.5
    w_pil = w_ped0 + (v_ped1 - v_ped0) * tan + 1.5
    v_f = d / 2 - (0.0 if geo.level == "C7" else 1.0)
    r_f = 1.8 if geo.level == "C7" else 2.8
    w_f = w_ped0 + (v_f - v_ped0) * tan + geo.pedicle_w / 2 + 1.0 + r_f
    u_p = h * 0.08
    u_tp = u_p - (3.0 if geo.level == "C2" else 1.0)
    return _Layout(v_c=v_c, v_post=v_c + geo.canal_ap / 2, u_p=u_p, v_ped0=v_ped0, w_ped0=w_ped0,
                   v_ped1=v_ped1, tan=tan, v_pil=d / 2 + 8.5, w_pil=w_pil, v_f=v_f, w_f=w_f, r_f=r_f, u_tp=u_tp)


def _box(geo: LevelGeometry, grid: Grid, u_lo: float, u_hi: float, v_lo: float, v_hi: float,
         w_half: float) -> BoxView:
    """Grid box holding the local box [u_lo, u_hi] x [v_lo, v_hi] x [-w_half, w_half]."""
    corners = np.array([geo.world(u, v, w) for u in (u_lo, u_hi) for v in (v_lo, v_hi) for w in (-w_half, w_half)])
    return box_view(grid, corners.min(axis=0), corners.max(axis=0))


def foramen_world(geo: LevelGeometry, side: float) -> np.ndarray:
    """LPS centre of the transverse foramen of C1-C7 on ``side`` (+1 left, -1 right)."""
    if geo.level == "C1":
        return geo.world(0.0, _atlas_lateral_v(geo), side * _ATLAS_FORAMEN_W)
    lay = _layout(geo)
    return geo.world(lay.u_tp, lay.v_f, side * lay.w_f)


def dens_axis(axis: LevelGeometry) -> tuple[np.ndarray, np.ndarray]:
    """LPS end points of the dens's axis (base inside C2's body, tip centre); it leans back a little."""
    h = axis.height
    return axis.world(h / 2 - 6.0, -0.5, 0.0), axis.world(h / 2 + DENS_MM - _DENS_R, 0.8, 0.0)


# --- C2-C7 -------------------------------------------------------------------------------
def _pedicle_sd(geo: LevelGeometry, lay: _Layout, u: np.ndarray, v: np.ndarray, w: np.ndarray,
                side: float) -> np.ndarray:
    """Short elliptic bar from the posterolateral body to the pillar, diverging posteriorly."""
    w_c = side * (lay.w_ped0 + (v - lay.v_ped0) * np.float32(lay.tan))
    radial = ellipse_sd(u - lay.u_p, w - w_c, geo.pedicle_h / 2, geo.pedicle_w / 2)
    return rounded_intersection(radial, np.maximum(lay.v_ped0 - v, v - lay.v_ped1 - 1.0), 1.0)


def _pillar_sd(geo: LevelGeometry, lay: _Layout, u: np.ndarray, v: np.ndarray, w: np.ndarray,
               disc_above: float, top_flat: float | None) -> np.ndarray:
    """Both articular pillars, cut by facet planes inclined ~42 deg (facing up and back) at
    mid-disc height, 1 mm short of it, so adjacent pillars leave a ~2 mm joint space."""
    k = np.float32(0.9)
    slant = (v - lay.v_pil) * k
    top = (geo.height / 2 + disc_above / 2 - 1.0) - slant if top_flat is None else np.float32(top_flat) + 0 * slant
    bottom = (-geo.height / 2 - geo.disc_below / 2 + 1.0) - slant
    out = None
    for side in (1.0, -1.0):
        radial = ellipse_sd(v - lay.v_pil, w - side * lay.w_pil, 5.5, 5.0)
        pillar = rounded_intersection(radial, np.maximum(u - top, bottom - u), 1.0)
        out = pillar if out is None else np.minimum(out, pillar)
    return out


def _laminae_sd(geo: LevelGeometry, lay: _Layout, u: np.ndarray, v: np.ndarray, w: np.ndarray,
                lam_t: float) -> np.ndarray:
    """Thin laminae from each pillar to the midline behind the canal, sloping down posteriorly."""
    h = geo.height
    v_lam = lay.v_post + lam_t / 2
    slope = (v - lay.v_pil) * np.float32(0.3)
    lam_u = np.maximum(u - (h / 2 - 3.0 - slope), (-h / 2 + 1.5 - slope) - u)
    out = None
    for side in (1.0, -1.0):
        seg = segment_sd((v, w), np.array([lay.v_pil + 2.0, side * (lay.w_pil - 3.0)]), np.array([v_lam, 0.0]),
                         lam_t / 2)
        lam = rounded_intersection(seg, lam_u, 1.0)
        out = lam if out is None else np.minimum(out, lam)
    return out


def _spinous_sd(geo: LevelGeometry, lay: _Layout, u: np.ndarray, v: np.ndarray, w: np.ndarray,
                lam_t: float) -> np.ndarray:
    """Spinous process sloping down posteriorly: bifid at C2-C6 (two tubercles ~9 mm apart),
    long and single with a knob at C7."""
    axis = geo.level == "C2"
    p0 = np.array([-geo.height * 0.05 - 1.0, lay.v_post + lam_t / 2 - 1.0, 0.0])
    direction = np.array([-np.sin(geo.spinous_slope), np.cos(geo.spinous_slope), 0.0])
    tip = p0 + geo.spinous_len * direction
    pts = (u, v, w)
    if geo.level == "C7":
        stem = segment_sd(pts, p0, tip, 3.0)
        return smooth_union(stem, segment_sd(pts, tip - 2.0 * direction, tip, 4.2), 2.0)
    r_stem, r_tip, spread = (3.6, 3.2, 6.0) if axis else (2.6, 2.2, 4.5)
    fork = p0 + 0.6 * geo.spinous_len * direction
    out = segment_sd(pts, p0, fork, r_stem)
    for side in (1.0, -1.0):
        out = smooth_union(out, segment_sd(pts, fork, tip + np.array([0.0, 0.0, side * spread]), r_tip), 1.5)
    return out


def _transverse_sd(geo: LevelGeometry, lay: _Layout, u: np.ndarray, v: np.ndarray,
                   w: np.ndarray) -> np.ndarray:
    """Transverse processes: a ring round the foramen, joined to the body (anterior root) and
    pillar (posterior root), with anterior and posterior tubercles out to ``tp_reach``."""
    out = None
    for side in (1.0, -1.0):
        wf, tip = side * lay.w_f, side * (geo.tp_reach - 2.0)
        ring = np.sqrt((v - lay.v_f) ** 2 + (w - wf) ** 2) - (lay.r_f + 2.2)
        parts = [
            ring,
            segment_sd((v, w), np.array([lay.v_f - 2.0, side * (geo.width / 2 - 1.5)]),
                       np.array([lay.v_f - 1.0, wf]), 2.5),
            segment_sd((v, w), np.array([lay.v_f - lay.r_f - 0.5, wf]), np.array([lay.v_f - lay.r_f - 1.5, tip]), 2.2),
            segment_sd((v, w), np.array([lay.v_f + lay.r_f, wf]), np.array([lay.v_f + lay.r_f - 0.5, tip]), 2.4),
            segment_sd((v, w), np.array([lay.v_f + lay.r_f + 1.0, wf]), np.array([lay.v_pil - 2.0, side * lay.w_pil]),
                       2.5),
        ]
        flat = parts[0]
        for p in parts[1:]:
            flat = np.minimum(flat, p)
        tp = rounded_intersection(flat, np.abs(u - lay.u_tp) - 3.2, 1.0)
        out = tp if out is None else np.minimum(out, tp)
    return out


def _foramen_tunnel_sd(lay: _Layout, u: np.ndarray, v: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Both transverse foramina as short vertical tunnels (carved out of the bone)."""
    out = None
    for side in (1.0, -1.0):
        hole = np.maximum(np.sqrt((v - lay.v_f) ** 2 + (w - side * lay.w_f) ** 2) - lay.r_f,
                          np.abs(u - lay.u_tp) - 6.0)
        out = hole if out is None else np.minimum(out, hole)
    return out


def _uncinate_sd(geo: LevelGeometry, u: np.ndarray, v: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Uncinate processes: lips rising ~3 mm from the posterolateral superior body edges."""
    h, d, half = geo.height, geo.depth, geo.width / 2
    out = None
    for side in (1.0, -1.0):
        lip = segment_sd((u, v, w), np.array([h / 2 - 2.5, -d * 0.15, side * (half - 1.3)]),
                         np.array([h / 2 + 1.6, d * 0.2, side * (half - 1.0)]), 1.6)
        out = lip if out is None else np.minimum(out, lip)
    return out


def _axis_extras_sd(geo: LevelGeometry, u: np.ndarray, v: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """C2's dens (returned first, part of its body) and its broad superior facets, lateral to
    the dens and just below the body's top, that carry C1's lateral masses."""
    a, b = dens_axis(geo)
    la = np.array([float(c) for c in geo.local(*a)])  # (u, v, w) of the dens base and tip
    lb = np.array([float(c) for c in geo.local(*b)])
    dens = segment_sd((u, v, w), la, lb, _DENS_R)
    facets = None
    for side in (1.0, -1.0):
        f = ellipsoid_sd((u - (geo.height / 2 - 4.0), v - 1.5, w - side * 17.5), (3.6, 8.5, 7.0))
        facets = f if facets is None else np.minimum(facets, f)
    return dens, facets


def draw_subaxial(geo: LevelGeometry, grid: Grid, arrays: CaseArrays, disc_above: float) -> None:
    """Paint one of C2-C7 (bone, parts, canal and cord)."""
    h, d = geo.height, geo.depth
    axis = geo.level == "C2"
    lay = _layout(geo)
    u_hi = h / 2 + disc_above + 6 + (DENS_MM if axis else 0.0)
    v_hi = lay.v_post + geo.spinous_len + 12
    w_half = max(geo.tp_reach, lay.w_pil + 6, 26.0) + 6
    box = _box(geo, grid, -h / 2 - geo.disc_below - 6, u_hi, -d / 2 - 4, v_hi, w_half)
    if box.empty:
        return
    u, v, w = geo.local(box.x, box.y, box.z)
    lam_t = 5.0 if axis else 3.6
    body = _body_sd(geo, u, v, w, _NOTCH)
    posterior = _pillar_sd(geo, lay, u, v, w, disc_above, h * 0.1 if axis else None)
    if axis:
        dens, facets = _axis_extras_sd(geo, u, v, w)
        body = smooth_union(body, dens, 2.0)
        posterior = smooth_union(posterior, facets, 2.0)
    else:
        body = smooth_union(body, _uncinate_sd(geo, u, v, w), 1.0)
    posterior = np.minimum(posterior, _laminae_sd(geo, lay, u, v, w, lam_t))
    posterior = smooth_union(posterior, _spinous_sd(geo, lay, u, v, w, lam_t), 1.5)
    posterior = smooth_union(posterior, _transverse_sd(geo, lay, u, v, w), 1.5)
    ped_l, ped_r = (_pedicle_sd(geo, lay, u, v, w, side) for side in (1.0, -1.0))
    bone = smooth_union(body, np.minimum(posterior, np.minimum(ped_l, ped_r)), 1.0)
    bone = np.maximum(bone, -_foramen_tunnel_sd(lay, u, v, w))
    _paint_canal(geo, box, arrays, u, v, w, lay.v_c, disc_above, bone)
    _paint_bone(geo, box, arrays, bone, body, ped_l, ped_r, posterior)


# --- C1 ----------------------------------------------------------------------------------
def _atlas_dens_v(atlas: LevelGeometry, axis: LevelGeometry | None, u: float) -> float:
    """Local v (in C1's frame) of the dens axis at C1 height ``u`` (C2 placed by the chain)."""
    if axis is None:
        return 0.5
    a, b = dens_axis(axis)
    la = np.array([float(c) for c in atlas.local(*a)])
    lb = np.array([float(c) for c in atlas.local(*b)])
    t = (u - la[0]) / (lb[0] - la[0])
    return float(la[1] + t * (lb[1] - la[1]))


def _atlas_lateral_v(atlas: LevelGeometry) -> float:
    """Local v of C1's lateral masses (and transverse processes): over the dens, 1.5 mm behind."""
    return 2.0


@dataclass(frozen=True)
class _Ring:
    """Landmarks of the atlas ring in C1's frame (mm)."""

    dv: float  # dens centre at the anterior arch's height
    u_aa: float  # anterior arch centre height
    v_aa: float  # anterior arch centreline (midline)
    v_pa: float  # posterior arch centreline (midline)
    u_pa: float
    v_lm: float  # lateral masses centre


def _ring(atlas: LevelGeometry, axis: LevelGeometry | None) -> _Ring:
    u_aa = 1.5
    dv = _atlas_dens_v(atlas, axis, u_aa)
    inner = dv - _DENS_R - _GAP_DENS  # posterior surface of the anterior arch
    return _Ring(dv=dv, u_aa=u_aa, v_aa=inner - 3.2, v_pa=inner + 28.0 + 2.8, u_pa=-2.0,
                 v_lm=_atlas_lateral_v(atlas))


def _atlas_sd(atlas: LevelGeometry, ring: _Ring, u: np.ndarray, v: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The atlas: lateral masses, anterior and posterior arches with tubercles, transverse
    processes (tips ~+-38 mm) ringing their foramina."""
    h = atlas.height
    parts = []
    for side in (1.0, -1.0):
        radial = ellipse_sd(v - ring.v_lm, w - side * _LATERAL_MASS_W, 9.5, 5.5)
        parts.append(rounded_intersection(radial, np.abs(u) - h / 2, 2.0))
        tip_w = side * (atlas.tp_reach - 4.5)
        tp = segment_sd((u, v, w), np.array([0.5, ring.v_lm, side * 20.0]),
                        np.array([-0.5, ring.v_lm + 1.5, tip_w]), 4.0)
        tp = smooth_union(tp, ellipsoid_sd((u + 0.5, v - ring.v_lm - 1.5, w - tip_w), (6.0, 5.0, 4.5)), 1.5)
        ring_f = np.sqrt((v - ring.v_lm) ** 2 + (w - side * _ATLAS_FORAMEN_W) ** 2) - 4.9
        parts.append(smooth_union(tp, rounded_intersection(ring_f, np.abs(u) - 4.0, 1.0), 1.0))
    front = np.abs(ellipse_sd(w, v - ring.v_lm, 18.0, ring.v_lm - ring.v_aa)) - 3.2
    front = np.maximum(front, v - (ring.v_lm - 2.0))
    parts.append(rounded_intersection(front, np.abs(u - ring.u_aa) - 5.0, 1.5))
    parts.append(ellipsoid_sd((u - ring.u_aa + 0.5, v - ring.v_aa + 2.5, w), (5.0, 3.0, 5.5)))
    back = np.abs(ellipse_sd(w, v - ring.v_lm - 2.0, 17.5, ring.v_pa - ring.v_lm - 2.0)) - 2.8
    back = np.maximum(back, (ring.v_lm + 2.0) - v)
    parts.append(rounded_intersection(back, np.abs(u - ring.u_pa) - 4.3, 1.5))
    parts.append(ellipsoid_sd((u - ring.u_pa + 0.5, v - ring.v_pa - 2.5, w), (5.5, 3.5, 7.0)))
    bone = parts[0]
    for p in parts[1:]:
        bone = smooth_union(bone, p, 1.5)
    for side in (1.0, -1.0):  # foramina transversaria
        hole = np.maximum(np.sqrt((v - ring.v_lm) ** 2 + (w - side * _ATLAS_FORAMEN_W) ** 2) - 2.7, np.abs(u) - 7.0)
        bone = np.maximum(bone, -hole)
    return bone


def _atlas_joints(atlas: LevelGeometry, ring: _Ring, box: BoxView, arrays: CaseArrays, u: np.ndarray,
                  v: np.ndarray, w: np.ndarray) -> None:
    """Soft tissue (not disc) in the joint spaces and the transverse ligament behind the dens."""
    h, gap = atlas.height, atlas.disc_below
    lm = None
    for side in (1.0, -1.0):
        m = ellipse_sd(v - ring.v_lm, w - side * _LATERAL_MASS_W, 9.0, 5.0) < 0
        lm = m if lm is None else lm | m
    below = lm & (u > -h / 2 - gap - 0.6) & (u < -h / 2 + 0.6)
    above = lm & (u > h / 2 - 0.6) & (u < h / 2 + 2.6)
    r = ring.dv
    front = (v > ring.v_aa + 2.9) & (v < r - _DENS_R + 0.4) & (np.abs(w) < 7.0) & (np.abs(u - ring.u_aa) < 5.0)
    ligament = (v > r + _DENS_R - 0.4) & (v < r + _DENS_R + _LIGAMENT_MM) & (np.abs(w) < 13.5) & (
        np.abs(u - ring.u_aa) < 3.5)
    sl = box.slices
    free = (arrays.vlabel[sl] == 0) & (arrays.parts[sl] == 0)
    arrays.set_tissue(sl, free & (below | above | front | ligament), Tissue.LIGAMENT)


def draw_atlas(atlas: LevelGeometry, axis: LevelGeometry | None, grid: Grid, arrays: CaseArrays) -> None:
    """Paint C1: every bony voxel ``POSTERIOR_ELEMENTS``; the canal (and cord) through its ring up
    to the foramen magnum, behind the dens and the transverse ligament."""
    h = atlas.height
    ring = _ring(atlas, axis)
    box = _box(atlas, grid, -h / 2 - atlas.disc_below - 3, ATLAS_CANAL_TOP_MM + 4, ring.v_aa - 9,
               ring.v_pa + 10, atlas.tp_reach + 4)
    if box.empty:
        return
    u, v, w = atlas.local(box.x, box.y, box.z)
    _atlas_joints(atlas, ring, box, arrays, u, v, w)
    bone = _atlas_sd(atlas, ring, u, v, w)
    v_c = ring.dv + _DENS_R + _LIGAMENT_MM + atlas.canal_ap / 2
    disc_above = 2 * (ATLAS_CANAL_TOP_MM - 1.5 - h / 2)
    _paint_canal(atlas, box, arrays, u, v, w, v_c, disc_above, bone)
    never = np.full(bone.shape, np.float32(1e6))
    _paint_bone(atlas, box, arrays, bone, never, never, never, bone)
