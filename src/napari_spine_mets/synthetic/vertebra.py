"""One vertebra as signed-distance functions, painted into the case's label arrays.

Body: a rounded elliptic cylinder with a slight waist and a posterior (kidney-bean)
notch, whose endplates a fracture may depress. Posterior elements: pedicles diverging
posteriorly, a V of laminae, the spinous process (sloping down in the thoracic spine),
transverse processes and superior/inferior articular processes. The sacral segments
reuse the same pieces with alae in place of transverse processes.

Painting rule used by every structure: a voxel is claimed by the first structure that
labels it (``vlabel == 0``), so neighbours never overwrite each other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..anatomy import VertebraPart
from .anatomy_model import LevelGeometry
from .shapes import (BoxView, Grid, blend_bone, box_view, ellipse_sd, rounded_intersection, segment_sd,
                     smooth_union)
from .tissues import Tissue

__all__ = ["CaseArrays", "draw_vertebra", "bone_box"]

CORTEX_MM = 1.3


@dataclass
class CaseArrays:
    """The full-volume label arrays that every painter writes into."""

    tissue: np.ndarray  # Tissue codes
    vlabel: np.ndarray  # TotalSegmentator ids
    parts: np.ndarray  # VertebraPart codes
    hu: np.ndarray  # float32 HU before texture, blur and noise (bone with partial volume)
    lut: np.ndarray  # Tissue code -> HU
    spacing: tuple[float, float, float]  # (z, y, x) mm
    #: Gap (mm) kept between a vertebra's bone and a neighbour's where they meet (facet joints).
    joint_space_mm: float = 0.0

    def set_tissue(self, sl: tuple[slice, ...], mask: np.ndarray, code: int) -> None:
        """Paint one tissue class (binary, no partial volume) in the box ``sl``."""
        self.tissue[sl][mask] = code
        self.hu[sl][mask] = self.lut[code]


def bone_box(geo: LevelGeometry, grid: Grid, u_lo: float, u_hi: float, v_hi: float, w_half: float) -> BoxView:
    """Grid box holding the local box u in [u_lo, u_hi], v in [-depth/2-3, v_hi], |w| <= w_half."""
    corners = np.array(
        [geo.world(u, v, w) for u in (u_lo, u_hi) for v in (-geo.depth / 2 - 3, v_hi) for w in (-w_half, w_half)]
    )
    return box_view(grid, corners.min(axis=0), corners.max(axis=0))


def _body_sd(geo: LevelGeometry, u: np.ndarray, v: np.ndarray, w: np.ndarray, notch: float) -> np.ndarray:
    """Body: waisted elliptic cylinder, posterior wall notched, endplates per the fracture."""
    h = geo.height
    waist = 1.0 - 0.06 * (1.0 - np.clip((2 * u / h) ** 2, 0.0, 1.0))
    radial = ellipse_sd(w, v, geo.width / 2 * waist, geo.depth / 2 * waist)
    radius = geo.width * 0.4
    notch_sd = np.sqrt((v - (geo.depth / 2 + radius - notch)) ** 2 + w**2) - radius
    radial = np.maximum(radial, -notch_sd)
    top = geo.endplate_top(v, w)
    bottom = geo.endplate_bottom(v, w)
    return rounded_intersection(radial, np.maximum(u - top, bottom - u), 2.5)


def draw_vertebra(
    geo: LevelGeometry,
    grid: Grid,
    arrays: CaseArrays,
    disc_above: float,
    *,
    sacral: bool = False,
    alae: float = 0.0,
    facets_above: bool = True,
    facets_below: bool = True,
) -> None:
    """Paint the bone, parts and canal of one vertebra (or sacral segment) into ``arrays``.

    ``alae`` is the lateral reach (mm from the midline) of sacral alae, 0 for none.
    """
    h, d = geo.height, geo.depth
    notch = 1.0 if geo.thoracic else 2.5
    v_c = d / 2 - notch + geo.canal_ap / 2  # canal centre
    v_post = v_c + geo.canal_ap / 2  # posterior wall of the canal
    v_hi = v_post + 6 + geo.spinous_len + 4
    w_half = max(geo.width / 2, geo.tp_reach, alae, geo.canal_lr / 2 + geo.pedicle_w + 8) + 8
    box = bone_box(geo, grid, -h / 2 - geo.disc_below - 6, h / 2 + disc_above + 6, v_hi, w_half)
    if box.empty:
        return
    u, v, w = geo.local(box.x, box.y, box.z)

    body = _body_sd(geo, u, v, w, notch)
    # Pedicles: elliptic bars from the body to the lamina, diverging posteriorly.
    v_j = d / 2 - 4.0
    v1 = v_c + geo.canal_ap * 0.15
    u_p = h / 2 - geo.pedicle_h / 2 - 1.0
    tan = np.float32(np.tan(geo.pedicle_angle))
    w0 = geo.canal_lr / 2 + geo.pedicle_w / 2
    peds = []
    for side in (1.0, -1.0):
        w_c = side * (w0 + np.maximum(v - (d / 2), 0.0) * tan)
        radial = ellipse_sd(u - u_p, w - w_c, geo.pedicle_h / 2, geo.pedicle_w / 2)
        peds.append(rounded_intersection(radial, np.maximum(v_j - v, v - v1 - 2.0), 1.0))
    w_f = w0 + (v1 - d / 2) * float(tan)  # pedicle centre at the lamina junction
    # Laminae: a V from each pedicle to the midline behind the canal, sloping down posteriorly.
    lam_t = 5.0 if geo.thoracic else 6.0
    v_lam = v_post + lam_t / 2
    slope = (v - v1) * 0.3
    lam_u = np.maximum(u - (h / 2 - 3.0 - slope), (-h / 2 + 1.0 - slope) - u)
    posterior = None
    for side in (1.0, -1.0):
        seg = segment_sd((v, w), np.array([v1, side * w_f]), np.array([v_lam, 0.0]), lam_t / 2)
        lam = rounded_intersection(seg, lam_u, 1.0)
        posterior = lam if posterior is None else np.minimum(posterior, lam)
    # Spinous process (median crest on the sacrum).
    if geo.spinous_len > 0:
        u_c = (-h * 0.05 if not sacral else 0.0) - (v - v_lam) * np.float32(np.tan(geo.spinous_slope))
        half_h = (6.0 if geo.thoracic else 8.5) * (0.5 if sacral else 1.0)
        half_t = 2.5 if geo.thoracic else 3.0 + 1.2 * np.clip((v - v_lam) / geo.spinous_len, 0, 1)
        d_uw = np.maximum(np.abs(u - u_c) - half_h, np.abs(w) - half_t)
        d_v = np.maximum(v_lam - 2.0 - v, v - (v_lam + geo.spinous_len))
        posterior = smooth_union(posterior, rounded_intersection(d_uw, d_v, 1.5), 2.0)
    # Transverse processes (thoracic ones point posterolaterally to meet the ribs).
    if geo.tp_reach > 0:
        for side in (1.0, -1.0):
            a = np.array([u_p, v1, side * w_f])
            if geo.thoracic:
                b = np.array([u_p + 2.0, v1 + 11.0, side * geo.tp_reach])
                r = 4.5
            else:
                b = np.array([u_p - 2.0, v1 + 3.0, side * geo.tp_reach])
                r = 3.2
            posterior = smooth_union(posterior, segment_sd((u, v, w), a, b, r), 2.0)
    # Articular processes: superior ones rise into the disc space above, inferior ones hang below.
    for side in (1.0, -1.0):
        if facets_above and not sacral or geo.level == "S1":
            a = np.array([h * 0.15, v1 - 1.0, side * (w_f + 2.8)])
            b = np.array([h / 2 + disc_above + 1.0, v1 - 2.0, side * (w_f + 3.2)])
            posterior = smooth_union(posterior, segment_sd((u, v, w), a, b, 3.0), 1.5)
        if facets_below and not sacral:
            a = np.array([-h * 0.15, v1 + 2.0, side * (w_f - 2.6)])
            b = np.array([-h / 2 - geo.disc_below - 1.0, v1 + 3.0, side * (w_f - 2.2)])
            posterior = smooth_union(posterior, segment_sd((u, v, w), a, b, 3.0), 1.5)
    # Sacral alae: broad lateral masses fused to the body and pedicles.
    if alae > 0:
        for side in (1.0, -1.0):
            wing = ellipse_sd(w - side * (geo.width / 2 + (alae - geo.width / 2) * 0.45), v - d * 0.2,
                              (alae - geo.width / 2) * 0.6, d * 0.45)
            wing = rounded_intersection(wing, np.abs(u + h * 0.05) - h * 0.45, 3.0)
            posterior = smooth_union(posterior, wing, 4.0)

    ped_l, ped_r = peds
    bone = smooth_union(body, np.minimum(posterior, np.minimum(ped_l, ped_r)), 1.5)
    _paint_canal(geo, box, arrays, u, v, w, v_c, disc_above, bone)
    _paint_bone(geo, box, arrays, bone, body, ped_l, ped_r, posterior)


def keep_joint_space(label: int, box: BoxView, arrays: CaseArrays, bone: np.ndarray) -> np.ndarray:
    """``bone`` pulled back to ``arrays.joint_space_mm`` from any other vertebra's bone in the box.

    Vertebrae are painted cranial to caudal, so the lower one of a facet joint gives way: its
    articular surface ends a joint space short of the upper one's, as the cartilage and synovial
    space show on CT, instead of touching it.
    """
    gap = arrays.joint_space_mm
    if gap <= 0:
        return bone
    sl = box.slices
    labels = arrays.vlabel[sl]
    tissue = arrays.tissue[sl]
    others = (labels != 0) & (labels != label) & ((tissue == Tissue.CORTICAL) | (tissue == Tissue.TRABECULAR))
    if not others.any():
        return bone
    crop = _grown_bounds(others, gap, arrays.spacing)
    distance = np.full(bone.shape, np.float32(np.inf), np.float32)
    distance[crop] = ndimage.distance_transform_edt(~others[crop], sampling=arrays.spacing)
    return np.maximum(bone, np.float32(gap) - distance)


def _grown_bounds(mask: np.ndarray, margin_mm: float, spacing: tuple[float, float, float]) -> tuple[slice, ...]:
    """Bounding box of ``mask``'s voxels grown by ``margin_mm`` (and one voxel), clipped to the array."""
    box = ndimage.find_objects(mask.astype(np.uint8))[0]
    grow = [int(np.ceil(margin_mm / step)) + 1 for step in spacing]
    return tuple(slice(max(b.start - g, 0), min(b.stop + g, n)) for b, g, n in zip(box, grow, mask.shape))


def _paint_bone(geo: LevelGeometry, box: BoxView, arrays: CaseArrays, bone: np.ndarray,
                body: np.ndarray, ped_l: np.ndarray, ped_r: np.ndarray, posterior: np.ndarray) -> None:
    sl = box.slices
    bone = keep_joint_space(geo.label, box, arrays, bone)
    free = arrays.vlabel[sl] == 0
    inside = (bone < 0) & free
    tissue = np.where(bone > -CORTEX_MM, Tissue.CORTICAL, Tissue.TRABECULAR).astype(np.uint8)
    part = np.full(bone.shape, VertebraPart.POSTERIOR_ELEMENTS, dtype=np.uint8)
    nearest = np.minimum(np.minimum(ped_l, ped_r), posterior)
    part[body <= nearest + 0.5] = VertebraPart.BODY
    is_ped = ~(body <= nearest + 0.5) & (np.minimum(ped_l, ped_r) <= posterior + 0.5)
    part[is_ped & (ped_l <= ped_r)] = VertebraPart.PEDICLE_LEFT
    part[is_ped & (ped_r < ped_l)] = VertebraPart.PEDICLE_RIGHT
    blend_bone(arrays.hu[sl], bone, arrays.spacing, CORTEX_MM, arrays.lut[Tissue.CORTICAL],
               arrays.lut[Tissue.TRABECULAR], free)
    arrays.tissue[sl][inside] = tissue[inside]
    arrays.parts[sl][inside] = part[inside]
    arrays.vlabel[sl][inside] = geo.label


def _paint_canal(geo: LevelGeometry, box: BoxView, arrays: CaseArrays, u: np.ndarray,
                 v: np.ndarray, w: np.ndarray, v_c: float, disc_above: float, bone: np.ndarray) -> None:
    """CSF-filled canal through this level and half of each adjacent disc, cord where present."""
    sl = box.slices
    taper = 1.0 - (0.3 if not geo.thoracic else 0.1) * np.clip((v - v_c) / (geo.canal_ap / 2), -1, 1)
    canal = ellipse_sd(w, v - v_c, geo.canal_lr / 2 * taper, geo.canal_ap / 2)
    u_ext = np.maximum(u - (geo.height / 2 + disc_above / 2 + 1.5), -(geo.height / 2 + geo.disc_below / 2 + 1.5) - u)
    canal = np.maximum(canal, u_ext)
    free = (arrays.vlabel[sl] == 0) & (arrays.parts[sl] == 0)
    inside = (canal < 0) & free & (bone >= 0)
    arrays.set_tissue(sl, inside, Tissue.CSF)
    arrays.parts[sl][inside] = VertebraPart.CANAL
    if geo.level in _CORD_LEVELS:
        cord = ellipse_sd(w, v - (v_c - 0.5), *_CORD_HALF_AXES.get(geo.level, (4.8, 3.8)))
        if geo.level == _CONUS_LEVEL:  # the conus medullaris ends at the L1 body's lower third
            cord = np.maximum(cord, -geo.height * 0.2 - u)
        in_cord = inside & (cord < 0)
        arrays.set_tissue(sl, in_cord, Tissue.CORD)
        arrays.parts[sl][in_cord] = VertebraPart.CORD
        arrays.vlabel[sl][in_cord] = _CORD_ID


_CONUS_LEVEL = "L1"
_CORD_LEVELS = ("C1", "C2", "C3", "C4", "C5", "C6", "C7",
                "T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9", "T10", "T11", "T12", "L1")
_CORD_ID = 79
#: Cord half widths (LR, AP) in mm where they differ from the thoracic ~10 x 8 mm: the
#: cervical cord is ~11 x 8 mm at C1-C3 and widest (~13 x 8 mm, cervical enlargement) at C4-C7.
_CORD_HALF_AXES = {"C1": (5.6, 4.1), "C2": (5.6, 4.1), "C3": (5.8, 4.1), "C4": (6.4, 4.0),
                   "C5": (6.6, 4.0), "C6": (6.4, 4.0), "C7": (6.0, 3.9)}
