"""How fine the refinement can be in the memory free now, decided before any work starts.

The network sees the spine's box on its own 1.5 mm grid whatever the scan; the refinement
then draws every vertebra on the scan's own grid, and on a large, fine scan that is most of
what a segmentation needs: 41 bytes per voxel of the box at its peak (tracemalloc, a 430 ×
373 × 200 box of a 0.8 mm CT: 1.32 GB). Where that does not fit the budget
(``safety.memory.memory_budget_bytes``), the refinement runs on a coarser grid, at most as
coarse as the network's, and its labels are brought back to the scan's grid by nearest
neighbour; the result's notes say so. Only when even that does not fit is the segmentation
refused, with the figures, before anything was allocated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from os import PathLike

from ..safety.memory import MemoryLimitError, format_bytes, memory_budget_bytes, voxel_count

__all__ = ["RefinementPlan", "plan_refinement", "estimate_segmentation_bytes"]

#: Peak bytes per voxel of the refinement grid (41 measured; margin for the threads beside it).
REFINE_BYTES_PER_VOXEL = 48
#: The box's HU as float32 while it is resampled to a coarser refinement grid.
RESAMPLE_BYTES_PER_VOXEL = 4
#: Vertebrae and parts (uint8) and the confidence map (float16) over the whole scan.
OUTPUT_BYTES_PER_VOXEL = 4
#: One patch's activations in the network (the 64-channel levels of a 48 × 64 × 64 patch, with margin).
NETWORK_PATCH_BYTES = 512 * 10**6
#: Refinement grids tried, as multiples of the scan's spacing (each axis capped at the network's).
_COARSENING = (1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 6.0, 8.0)


@dataclass(frozen=True)
class RefinementPlan:
    """The grid the refinement runs on; ``reduced`` when it is coarser than the scan's."""

    shape: tuple[int, int, int]
    spacing_mm: tuple[float, float, float]
    needed_bytes: int
    budget_bytes: int
    reduced: bool

    def note(self, scan_spacing: Sequence[float]) -> str | None:
        """What the user is told when the vertebrae were drawn on a coarser grid than the scan's."""
        if not self.reduced:
            return None
        coarse = " × ".join(f"{s:.2f}" for s in self.spacing_mm)
        fine = " × ".join(f"{s:.2f}" for s in scan_spacing)
        return (f"vertebrae drawn on a {coarse} mm grid, not the scan's {fine} mm: the scan's grid needs more "
                f"memory than is free now ({format_bytes(self.budget_bytes)} usable); close other images or "
                "applications and segment again for full detail")


def estimate_segmentation_bytes(volume_shape: Sequence[int], working_shape: Sequence[int], n_classes: int,
                                refine_shape: Sequence[int], box_shape: Sequence[int]) -> int:
    """Peak bytes of a segmentation whose refinement runs on ``refine_shape`` (the box resampled)."""
    resampling = RESAMPLE_BYTES_PER_VOXEL * voxel_count(box_shape) if tuple(refine_shape) != tuple(box_shape) else 0
    return int(REFINE_BYTES_PER_VOXEL * voxel_count(refine_shape) + resampling
               + OUTPUT_BYTES_PER_VOXEL * voxel_count(volume_shape)
               + 4 * (n_classes + 2) * voxel_count(working_shape) + NETWORK_PATCH_BYTES)


def plan_refinement(box_shape: Sequence[int], spacing: Sequence[float], volume_shape: Sequence[int],
                    working_shape: Sequence[int], working_spacing: float, n_classes: int, *,
                    path: str | PathLike[str] | None = None, budget: int | None = None) -> RefinementPlan:
    """The finest refinement grid (the scan's first) whose segmentation fits the memory budget.

    Raises :class:`MemoryLimitError` naming ``path`` when not even the network's grid fits.
    """
    budget = memory_budget_bytes() if budget is None else budget
    needed = 0
    for factor in _COARSENING:
        target = [min(s * factor, max(s, working_spacing)) for s in spacing]
        shape = tuple(max(1, int(round(n * s / t))) for n, s, t in zip(box_shape, spacing, target))
        needed = estimate_segmentation_bytes(volume_shape, working_shape, n_classes, shape, box_shape)
        if needed <= budget:
            actual = tuple(float(n * s / m) for n, s, m in zip(box_shape, spacing, shape))
            return RefinementPlan(shape, actual, needed, budget, reduced=shape != tuple(int(n) for n in box_shape))  # type: ignore[arg-type]
        if all(t >= max(s, working_spacing) for t, s in zip(target, spacing)):
            break
    dims = "x".join(str(int(s)) for s in volume_shape)
    raise MemoryLimitError(
        path,
        f"segmenting this volume ({dims} voxels) needs about {format_bytes(needed)} of memory even with the "
        f"vertebrae drawn on the network's {working_spacing:g} mm grid, but only {format_bytes(budget)} can be "
        "used safely now (close other images or applications)",
        needed, budget, None,
    )
