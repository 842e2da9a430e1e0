"""Segmenting in the memory free now: the scan's grid when it fits, a coarser one when not, else a refusal."""

from __future__ import annotations

import numpy as np
import pytest

from napari_spine_mets.anatomy import TOTALSEG_VERTEBRA_IDS
from napari_spine_mets.safety.memory import LIMIT_ENV, MemoryLimitError
from napari_spine_mets.segmentation.memory_plan import estimate_segmentation_bytes, plan_refinement

BOX, SPACING, VOLUME, WORKING = (430, 373, 200), (1.25, 0.8, 0.8), (430, 512, 512), (358, 199, 107)


def test_the_scans_grid_when_it_fits_else_the_finest_grid_that_does() -> None:
    full = estimate_segmentation_bytes(VOLUME, WORKING, 8, BOX, BOX)
    plan = plan_refinement(BOX, SPACING, VOLUME, WORKING, 1.5, 8, budget=full)
    assert not plan.reduced and plan.shape == BOX and plan.note(SPACING) is None
    tighter = plan_refinement(BOX, SPACING, VOLUME, WORKING, 1.5, 8, budget=int(full * 0.8))
    assert tighter.reduced and tighter.needed_bytes <= int(full * 0.8)
    assert all(c >= f for c, f in zip(tighter.spacing_mm, SPACING)) and max(tighter.spacing_mm) < 1.51  # never coarser than the network (but for rounding)
    assert np.prod(tighter.shape) < np.prod(BOX)
    assert "grid, not the scan's 1.25 × 0.80 × 0.80 mm" in tighter.note(SPACING)
    # the finest that fits: the next finer candidate would not have
    finer = plan_refinement(BOX, SPACING, VOLUME, WORKING, 1.5, 8, budget=int(full * 0.95))
    assert np.prod(finer.shape) >= np.prod(tighter.shape)


def test_refused_with_the_figures_when_not_even_the_networks_grid_fits() -> None:
    coarsest = estimate_segmentation_bytes(VOLUME, WORKING, 8, (358, 199, 107), BOX)
    with pytest.raises(MemoryLimitError, match=r"scan.nii.*even with the vertebrae drawn on the network's 1.5 mm grid") as info:
        plan_refinement(BOX, SPACING, VOLUME, WORKING, 1.5, 8, path="/data/scan.nii", budget=coarsest // 2)
    assert info.value.budget == coarsest // 2 and info.value.needed > info.value.budget


def test_a_segmentation_short_of_memory_is_drawn_coarser_and_says_so(monkeypatch) -> None:
    from napari_spine_mets.segmentation.inference import segment_vertebrae
    from napari_spine_mets.synthetic import SpineParams, generate_spine_ct

    case = generate_spine_ct(SpineParams(seed=424242, levels=("L2", "L3", "L4", "L5", "S1"), spacing_mm=(1.0, 0.6, 0.6),
                                         fov_mm=220, lesions=(), fracture=None))
    full = segment_vertebrae(case.ct, device="cpu", precision="float32")
    assert full.provenance["refinement_spacing_mm"] == pytest.approx(case.ct.spacing, abs=0.01)
    # a budget that holds the network and the outputs but not the refinement on the 0.6 mm grid
    monkeypatch.setenv(LIMIT_ENV, str(0.62 + 48 * 0.5 * case.ct.array.size / 1e9))
    short = segment_vertebrae(case.ct, device="cpu", precision="float32")
    assert min(short.provenance["refinement_spacing_mm"]) > 0.6 + 0.05
    assert any("not the scan's" in note for note in short.notes)
    assert short.vertebrae.array.shape == case.ct.shape  # on the scan's grid all the same
    assert [s["level"] for s in short.vertebra_stats] == [s["level"] for s in full.vertebra_stats] == ["L2", "L3", "L4", "L5", "S1"]
    for level in ("L2", "L3", "L4", "L5"):
        label = TOTALSEG_VERTEBRA_IDS[level]
        a, b = short.vertebrae.array == label, case.vertebrae.array == label
        assert 2 * (a & b).sum() / (a.sum() + b.sum()) > 0.85, level
