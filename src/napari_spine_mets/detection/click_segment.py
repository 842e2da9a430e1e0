"""Click inside a lesion, get its 3D mask: region growing constrained to the clicked vertebra.

The seed's vertebra (or sacrum) label bounds the growth, so a lesion never leaks into the
disc, the canal or the next level. The grown region is the connected set of bone voxels
(26-connectivity) whose smoothed HU departs from the patient's normal bone at the same
depth by at least ``grow_z`` robust SDs (:mod:`.candidates`), in the direction of the
clicked voxel (lower for a lytic click, higher for a blastic one), or in either direction
when ``either`` is set (a mixed deposit). When the clicked voxel itself does not depart
from normal, the click is refused with a message rather than guessing. The result is a
plain boolean mask on the CT's grid, for the user to edit in a labels layer; its record
has status "drawn" (made by the user's click).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..case_parts import LesionStatus
from ..volume import LabelMap, Volume
from .bone_grid import prepare_bone_grid
from .candidates import Candidate, CandidateParams, expected_maps
from .classify import classify_candidate
from .describe import LesionRecord, describe_candidate
from .inputs import DetectionError, check_inputs
from .normal_bone import NormalBone, estimate_normal_bone, level_name
from .regions import vertebra_regions

__all__ = ["ClickResult", "segment_from_click"]


@dataclass
class ClickResult:
    mask: np.ndarray  # bool, the CT's full grid
    record: LesionRecord
    direction: str  # "low", "high" or "either"


def segment_from_click(volume: Volume, vertebrae: LabelMap, point_zyx: Sequence[float], lesion_id: int = 1,
                       parts: LabelMap | None = None, grow_z: float = CandidateParams().grow_z,
                       either: bool = False, normal: NormalBone | None = None) -> ClickResult:
    """The lesion around ``point_zyx`` (voxel index, may be fractional) and its measurements."""
    from scipy import ndimage

    present = check_inputs(volume, vertebrae, parts)
    point = tuple(int(round(float(p))) for p in point_zyx)
    if len(point) != 3 or any(not 0 <= p < n for p, n in zip(point, volume.shape)):
        raise DetectionError(f"the click {tuple(point_zyx)} is outside the image {volume.shape}")
    label = int(vertebrae.array[point])
    if label not in present:
        raise DetectionError("the click is not inside a labelled vertebra or the sacrum: lesions are grown within "
                             "the clicked bone only (draw the lesion by hand elsewhere)")
    grid = prepare_bone_grid(volume, vertebrae, present)
    normal = normal or estimate_normal_bone(grid)
    local = tuple(p - s.start for p, s in zip(point, grid.box))
    expected_low, expected_high, spread, high_spread, _ = expected_maps(grid, normal)
    with np.errstate(invalid="ignore"):
        z_low = (grid.smoothed - expected_low) / spread
        z_high = (grid.smoothed - expected_high) / high_spread
    own = grid.labels == label
    low, high = own & (z_low <= -grow_z), own & (z_high >= grow_z)
    if either:
        allowed, direction = low | high, "either"
    elif low[local]:
        allowed, direction = low, "low"
    elif high[local]:
        allowed, direction = high, "high"
    else:
        raise DetectionError(
            f"the clicked voxel ({level_name(label)}, smoothed {float(grid.smoothed[local]):.0f} HU) does not depart "
            f"from this patient's normal bone by {grow_z:g} SD: click inside the lesion, or draw it by hand")
    components, _ = ndimage.label(allowed, structure=np.ones((3, 3, 3), bool))
    mask = components == components[local]
    box = ndimage.find_objects(mask.astype(np.int8))[0]
    zs = np.where(direction == "low", -z_low, z_high)[box][mask[box]] if direction != "either" else \
        np.abs(np.where(z_low < 0, z_low, z_high))[box][mask[box]]
    cand = Candidate(index=lesion_id, label=label, mask_box=box, mask=mask[box],
                     n_lytic_voxels=int(low[box][mask[box]].sum()), n_blastic_voxels=int(high[box][mask[box]].sum()),
                     peak_z=float(np.nanmax(zs)), mean_abs_z=float(np.nanmean(zs)), labels_touched={label: int(mask.sum())})
    regions = vertebra_regions(grid, vertebrae, parts)
    record = describe_candidate(lesion_id, cand, classify_candidate(cand, grid, normal), grid, regions, volume.affine,
                                status=LesionStatus.DRAWN, source="click-to-segment (region growing), user seed")
    return ClickResult(mask=grid.full(mask, volume.shape, bool), record=record, direction=direction)
