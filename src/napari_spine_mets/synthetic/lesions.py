"""Metastases: irregular ellipsoids clipped to their vertebra, painted as lytic/blastic tissue.

A lytic deposit replaces trabecular bone and, where it reaches the surface, the cortex
(a cortical breach, as on real scans); a blastic one is sclerotic bone; a mixed one is
mottled, about half of each. The lesion never leaves its vertebra's bone label, so
"lesions lie inside vertebrae" holds by construction.
"""

from __future__ import annotations

import logging

import numpy as np

from ..anatomy import VertebraPart
from .anatomy_model import LevelGeometry
from .params import LesionSpec
from .shapes import Grid, box_view
from .tissues import Tissue
from .vertebra import CaseArrays

__all__ = ["lesion_centre_local", "draw_lesions"]

log = logging.getLogger(__name__)


def lesion_centre_local(geo: LevelGeometry, spec: LesionSpec, rng: np.random.Generator) -> np.ndarray:
    """Local (u, v, w) of the lesion centre for its site, jittered by the seed."""
    h, d = geo.height, geo.depth
    notch = 1.0 if geo.thoracic else 2.5
    v_c = d / 2 - notch + geo.canal_ap / 2
    v1 = v_c + geo.canal_ap * 0.15
    u_p = h / 2 - geo.pedicle_h / 2 - 1.0
    w0 = geo.canal_lr / 2 + geo.pedicle_w / 2
    jitter = rng.uniform(-1.0, 1.0, size=3)
    if spec.site == "body":
        r = spec.radius_mm
        if geo.fracture is not None:  # the deposit sits under the collapsed endplate
            return np.array([h * 0.1, -d * 0.1, jitter[2] * geo.width * 0.08])
        return np.array([
            jitter[0] * max(h / 2 - r, 1.0) * 0.5,
            jitter[1] * d * 0.15,
            jitter[2] * max(geo.width / 2 - r, 1.0) * 0.4,
        ])
    if spec.site in ("pedicle_left", "pedicle_right"):
        side = 1.0 if spec.site == "pedicle_left" else -1.0
        v = (d / 2 + v1) / 2
        w = side * (w0 + (v - d / 2) * np.tan(geo.pedicle_angle))
        return np.array([u_p, v, w])
    v_post = v_c + geo.canal_ap / 2
    return np.array([-h * 0.05 + jitter[0], v_post + 6.0, jitter[2] * 2.0])


def draw_lesions(specs: tuple[LesionSpec, ...], geos: dict[str, LevelGeometry], grid: Grid,
                 arrays: CaseArrays, rng: np.random.Generator) -> tuple[np.ndarray, list[dict]]:
    """Paint every lesion; returns the instance label map and one record per drawn lesion."""
    from scipy import ndimage

    labels = np.zeros(grid.shape, dtype=np.uint8 if len(specs) < 255 else np.uint16)
    records: list[dict] = []
    for spec in specs:
        geo = geos[spec.level.upper()]
        centre_local = lesion_centre_local(geo, spec, rng)
        centre = geo.world(*centre_local)
        radii = spec.radius_mm * rng.uniform(0.8, 1.2, size=3)  # x, y, z
        reach = radii.max() * 1.4 + 2.0
        box = box_view(grid, centre - reach, centre + reach)
        if box.empty:
            log.warning("lesion in %s lies outside the field of view; skipped", spec.level)
            continue
        shape = tuple(s.stop - s.start for s in box.slices)
        bumps = ndimage.gaussian_filter(rng.standard_normal(shape).astype(np.float32), 2.0, mode="nearest")
        bumps /= bumps.std() + 1e-6
        norm = np.sqrt(((box.x - centre[0]) / radii[0]) ** 2 + ((box.y - centre[1]) / radii[1]) ** 2
                       + ((box.z - centre[2]) / radii[2]) ** 2)
        sl = box.slices
        inside = (norm - 1.0 + 0.15 * bumps < 0) & (arrays.vlabel[sl] == geo.label) & (labels[sl] == 0)
        inside &= arrays.parts[sl] != VertebraPart.CANAL
        if not inside.any():
            log.warning("lesion in %s %s has no voxel inside the vertebra; skipped", spec.level, spec.site)
            continue
        lesion_id = len(records) + 1
        if spec.kind == "lytic":
            code = np.full(shape, Tissue.LESION_LYTIC, dtype=np.uint8)
        elif spec.kind == "blastic":
            code = np.full(shape, Tissue.LESION_BLASTIC, dtype=np.uint8)
        else:
            mottle = ndimage.gaussian_filter(rng.standard_normal(shape).astype(np.float32), 1.2, mode="nearest")
            threshold = np.median(mottle[inside])
            code = np.where(mottle > threshold, Tissue.LESION_BLASTIC, Tissue.LESION_LYTIC).astype(np.uint8)
        arrays.tissue[sl][inside] = code[inside]
        arrays.hu[sl][inside] = arrays.lut[code[inside]]
        labels[sl][inside] = lesion_id
        records.append({"id": lesion_id, "level": geo.level, "kind": spec.kind, "site": spec.site,
                        "radius_mm": spec.radius_mm})
    return labels, records
