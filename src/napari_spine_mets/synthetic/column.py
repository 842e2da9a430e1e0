"""The whole column: vertebrae, the discs between them, and the sacrum below S1."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..anatomy import TOTALSEG_SACRUM, VertebraPart
from .anatomy_model import LevelGeometry
from .cervical import draw_atlas, draw_subaxial
from .shapes import Grid, ellipse_sd
from .tissues import Tissue
from .vertebra import CaseArrays, bone_box, draw_vertebra

__all__ = ["sacral_segments", "draw_column"]

# S2..S5: body height, width, depth, canal AP, canal LR, alae reach (mm from the midline)
_SACRAL = ((24.0, 42.0, 30.0, 12.0, 26.0, 52.0), (19.0, 34.0, 24.0, 10.0, 22.0, 40.0),
           (15.0, 26.0, 18.0, 8.0, 16.0, 26.0), (11.0, 18.0, 13.0, 6.0, 10.0, 14.0))
_SACRAL_CURVE_DEG = 13.0
S1_ALAE_MM = 62.0


def sacral_segments(s1: LevelGeometry) -> list[LevelGeometry]:
    """S2-S5 as fused segments, curving forwards (sacral kyphosis) below S1."""
    out: list[LevelGeometry] = []
    above, above_h = s1, s1.height
    for i, (h, wd, dp, cap, clr, _alae) in enumerate(_SACRAL):
        theta = above.theta + np.radians(_SACRAL_CURVE_DEG)
        seg = replace(
            above, level=f"S{i + 2}", label=TOTALSEG_SACRUM, theta=theta, height=h, width=wd,
            depth=dp, disc_below=0.0, canal_ap=cap, canal_lr=clr, pedicle_w=wd * 0.3,
            pedicle_h=h * 0.8, tp_reach=0.0, spinous_len=8.0 if i < 2 else 0.0,
            spinous_slope=0.0, fracture=None,
        )
        bottom = above.world(-above_h / 2 + 1.0, 0.0, 0.0)
        seg.center = bottom - (h / 2) * seg.u_dir
        seg.height = h * 1.3  # drawn taller than spaced: the segments are fused, without gaps
        out.append(seg)
        above, above_h = seg, h
    return out


def draw_column(column: list[LevelGeometry], sacrum: list[LevelGeometry], grid: Grid,
                arrays: CaseArrays, axis: LevelGeometry | None = None) -> None:
    """Paint the discs into the gaps between the endplates, then every vertebra over them.

    ``axis`` is C2's geometry (drawn or not), which places C1's ring around the dens.
    """
    for upper, lower in zip(column[:-1], column[1:]):
        if upper.level != "C1":  # C1/C2 is a pair of synovial joints, not a disc
            draw_disc(upper, lower, grid, arrays)
    for i, geo in enumerate(column):
        disc_above = column[i - 1].disc_below if i > 0 else 6.0
        if geo.level == "C1":
            draw_atlas(geo, axis, grid, arrays)
            continue
        if geo.cervical:
            draw_subaxial(geo, grid, arrays, disc_above)
            continue
        is_s1 = geo.level == "S1"
        draw_vertebra(geo, grid, arrays, disc_above, sacral=is_s1,
                      alae=S1_ALAE_MM if is_s1 else 0.0,
                      facets_below=not is_s1)
    for seg, spec in zip(sacrum, _SACRAL):
        draw_vertebra(seg, grid, arrays, 0.0, sacral=True, alae=spec[5],
                      facets_above=False, facets_below=False)


def draw_disc(upper: LevelGeometry, lower: LevelGeometry, grid: Grid, arrays: CaseArrays) -> None:
    """Disc filling the space between ``lower``'s superior and ``upper``'s inferior endplates."""
    width = (upper.width + lower.width) / 2 * 1.02
    depth = (upper.depth + lower.depth) / 2 * 1.02
    box = bone_box(lower, grid, lower.height / 2 - lower.height * 0.9, lower.height / 2 + upper.disc_below + 4,
                   depth / 2 + 2, width / 2 + 3)
    if box.empty:
        return
    u1, v1, w1 = lower.local(box.x, box.y, box.z)
    u2, v2, w2 = upper.local(box.x, box.y, box.z)
    above_lower = u1 > lower.endplate_top(v1, w1) - 0.4
    below_upper = u2 < upper.endplate_bottom(v2, w2) + 0.4
    radial = ellipse_sd(w1, (v1 + v2) / 2, width / 2, depth / 2)
    inside = above_lower & below_upper & (radial < 0)
    sl = box.slices
    free = (arrays.vlabel[sl] == 0) & (arrays.parts[sl] == 0)
    inside &= free
    nucleus = radial < -min(width, depth) * 0.22
    arrays.set_tissue(sl, inside & ~nucleus, Tissue.DISC)
    arrays.set_tissue(sl, inside & nucleus, Tissue.NUCLEUS)
    arrays.parts[sl][inside] = VertebraPart.DISC
