"""Per-vertebra figures: level, volume, centroid (LPS mm), body heights, confidence.

Body heights are measured along the scan's superior axis in the anterior, middle and
posterior thirds of the body (the Genant semi-quantitative method compares exactly these);
the figures ignore the vertebra's sagittal tilt, which overestimates heights by under 4 %
for tilts under 15 degrees.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..anatomy import VertebraPart, level_of_label
from ..io.geometry import spacing_of, world_from_index

__all__ = ["vertebra_statistics", "body_heights"]


def body_heights(body: np.ndarray, spacing_z: float) -> dict[str, float | None]:
    """Anterior, middle and posterior heights (mm) of one body mask (z, y, x) (y = anterior->posterior)."""
    if not body.any():
        return {"anterior_mm": None, "middle_mm": None, "posterior_mm": None}
    ys = np.nonzero(body.any(axis=(0, 2)))[0]
    y0, y1 = int(ys.min()), int(ys.max()) + 1
    thirds = np.linspace(y0, y1, 4).round().astype(int)
    heights: dict[str, float | None] = {}
    for name, (a, b) in zip(("anterior_mm", "middle_mm", "posterior_mm"), zip(thirds[:-1], thirds[1:])):
        columns = body[:, a:max(b, a + 1), :]
        zs = np.nonzero(columns.any(axis=(1, 2)))[0]
        # the height of the column of bone: count slices that hold body voxels
        heights[name] = float(len(zs) * spacing_z) if len(zs) else None
    return heights


def vertebra_statistics(
    vertebrae: np.ndarray, parts: np.ndarray, names: dict[int, str], affine: np.ndarray, confidence: np.ndarray,
    origin: tuple[int, int, int] = (0, 0, 0),
) -> list[dict[str, Any]]:
    """One record per vertebra label, cranial to caudal.

    The arrays may be a box of the volume that ``affine`` belongs to, whose first voxel is
    at index ``origin`` there (the spine's box: a quarter of a clinical CT, nothing outside it).
    """
    from scipy import ndimage

    spacing = spacing_of(affine)
    voxel = float(np.prod(spacing))
    # the labels present, from their boxes: one pass, where np.unique would sort the whole volume (~1 s)
    objects = ndimage.find_objects(vertebrae)
    labels = [i + 1 for i, box in enumerate(objects) if box is not None and names.get(i + 1, "") != "sacrum"]
    records = []
    for label in labels:
        region = objects[label - 1]
        mask = vertebrae[region] == label
        index = np.argwhere(mask).mean(axis=0) + [s.start + o for s, o in zip(region, origin)]
        body = mask & (parts[region] == int(VertebraPart.BODY))
        records.append(
            {
                "label": label,
                "level": level_of_label(label),
                "name": names.get(label, f"label_{label}"),
                "volume_mm3": round(float(mask.sum()) * voxel, 1),
                "centroid_lps_mm": [round(float(v), 2) for v in world_from_index(affine, index)],
                "body_height": body_heights(body, spacing[0]),
                "confidence": round(float(confidence[region][mask].mean()), 3),
            }
        )
    records.sort(key=lambda r: -r["centroid_lps_mm"][2])
    return records
