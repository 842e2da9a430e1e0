"""Bone-quality flags: thresholds exactly at their published boundaries, sources and caveats."""

from __future__ import annotations

import numpy as np
import pytest

from napari_spine_mets.display import hu_caveats
from napari_spine_mets.measure.hu_flags import (
    PICKHARDT_SOURCE,
    SCREW_FAILURE_SOURCE,
    SCREW_FAILURE_THRESHOLD_HU,
    evaluate_flags,
    l1_band,
    l1_band_flag,
    screw_failure_flag,
)
from napari_spine_mets.measure.hu_roi import LevelHu
from napari_spine_mets.measure.manual_roi import SliceRoi, roi_stats
from napari_spine_mets.volume import VolumeMetadata


def _level(level: str, values, caveats=(), **kwargs) -> LevelHu:
    v = np.asarray(values, dtype=float)
    roi = SliceRoi(level=level, slice_index=3, z_mm=0.0, stats=roi_stats(v), values=v)
    return LevelHu(level=level, label=None, slices=[roi], base_caveats=list(caveats), **kwargs)


@pytest.mark.parametrize(
    ("hu", "raised"),
    [(127.0, True), (127.27, True), (SCREW_FAILURE_THRESHOLD_HU, False), (127.28, False), (90.0, True), (200.0, False)],
)
def test_screw_failure_boundary(hu: float, raised: bool) -> None:
    flag = screw_failure_flag("L5", hu, "LIV")
    assert flag.raised is raised
    assert flag.source == SCREW_FAILURE_SOURCE and "127.273" in flag.source
    assert "lowest instrumented vertebra" in flag.message
    assert flag.disclaimer == "decision support, not a diagnosis"


def test_screw_failure_at_uiv_says_it_is_an_extension() -> None:
    assert "by extension" in screw_failure_flag("T10", 100.0, "UIV").message
    assert "if this level is one" in screw_failure_flag("T10", 100.0, None).message


@pytest.mark.parametrize(
    ("hu", "band"),
    [(80.0, "osteoporosis range"), (110.0, "osteoporosis range"), (110.01, "osteopenia range"),
     (160.0, "osteopenia range"), (160.01, "normal range"), (250.0, "normal range")],
)
def test_l1_band_boundaries(hu: float, band: str) -> None:
    assert l1_band(hu) == band
    flag = l1_band_flag(hu)
    assert flag.raised is (band != "normal range")
    assert flag.source == PICKHARDT_SOURCE and "Ann Intern Med 2013" in flag.source and "120 kVp" in flag.source


def test_flags_per_level_with_and_without_a_construct() -> None:
    levels = {"T12": _level("T12", [100.0, 120.0]), "L1": _level("L1", [150.0, 152.0]), "L2": _level("L2", [200.0])}
    report = type("R", (), {"levels": levels})()
    evaluate_flags(report)
    assert [f.name for f in levels["L1"].flags] == ["screw_failure_risk", "l1_osteoporosis_band"]
    assert levels["T12"].flags[0].raised and not levels["L2"].flags[0].raised
    assert levels["L1"].flags[1].message.startswith("L1: 151 HU, 110–160 HU: osteopenia range")
    assert [f.name for f in levels["T12"].flags] == ["screw_failure_risk"]  # bands are for L1 only
    evaluate_flags(report, uiv="T12", liv="L2")
    assert [f.name for f in levels["L1"].flags] == ["l1_osteoporosis_band"]
    assert "upper instrumented" in levels["T12"].flags[0].message
    assert "lowest instrumented" in levels["L2"].flags[0].message


def test_caveats_travel_with_every_flag() -> None:
    meta = VolumeMetadata(modality="CT", kvp=100.0, contrast_agent="OMNIPAQUE")
    caveats = hu_caveats(meta)
    assert any("100 kVp" in c for c in caveats) and any("contrast" in c.lower() for c in caveats)
    lv = _level("L1", [105.0, 107.0], caveats=caveats)
    lv.slices[0].lesion_voxels_excluded = 12
    evaluate_flags(lv)
    for flag in lv.flags:
        assert any("100 kVp" in c for c in flag.caveats)
        assert any("contrast" in c.lower() for c in flag.caveats)
        assert any("touches a lesion" in c for c in flag.caveats)
    unknown = hu_caveats(VolumeMetadata(modality="CT"))
    assert any("kVp) unknown" in c for c in unknown)


def test_unusable_levels_get_no_flag() -> None:
    fractured = _level("L1", [90.0], fractured=True)
    missing = LevelHu(level="L2", label=30, problem="L2: no vertebral body found")
    evaluate_flags(fractured)
    evaluate_flags(missing)
    assert fractured.flags == [] and missing.flags == []
    assert not fractured.usable
