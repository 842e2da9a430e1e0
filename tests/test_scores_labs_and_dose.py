"""PNI (42.8 cut-off, units), HU bands (110/160, 127.273) and BED (BED3 104 Gy)."""

from __future__ import annotations

import math

import pytest

from napari_spine_mets.case_parts import ClinicalEntries, HuStats
from napari_spine_mets.scores import ScoreInputError, bed, hu_bone_quality, pni, pni_from_entries
from napari_spine_mets.scores.bed import bed_gy
from napari_spine_mets.scores.hu_bands import hu_band


# ------------------------------------------------------------------------------ PNI
def test_pni_formula() -> None:
    result = pni(albumin_g_per_dl=3.5, lymphocytes_per_mm3=1500)
    assert result.total == pytest.approx(42.5)  # 35 + 7.5
    assert result.flags and not result.thresholds[0].crossed


@pytest.mark.parametrize("albumin,lymphocytes,high", [(3.5, 1560, True), (3.5, 1559.9, False), (4.28, 0, True),
                                                      (4.0, 560, True), (4.0, 540, False)])
def test_pni_cutoff_42_8_exactly(albumin: float, lymphocytes: float, high: bool) -> None:
    result = pni(albumin_g_per_dl=albumin, lymphocytes_per_mm3=lymphocytes)
    assert result.thresholds[0].crossed is high
    assert result.band.startswith("PNI >= 42.8" if high else "PNI < 42.8")


def test_pni_from_entries_converts_si_units() -> None:
    entries = ClinicalEntries(albumin_g_per_l=35.0, lymphocytes_1e9_per_l=1.5)
    result = pni_from_entries(entries)
    assert result.total == pytest.approx(42.5)
    assert any("converted" in n for n in result.notes)


@pytest.mark.parametrize("albumin,lymphocytes,message", [
    (None, 1500, "albumin is missing"),
    (35.0, 1500, "probably g/L"),
    (-1.0, 1500, "below the accepted range"),
    (3.5, -5, "below the accepted range"),
    (3.5, 1.5, "multiplied by 1000"),
    (3.5, None, "missing"),
    (float("nan"), 1500, "finite"),
    ("abc", 1500, "must be a number"),
])
def test_pni_bad_input(albumin: object, lymphocytes: object, message: str) -> None:
    with pytest.raises(ScoreInputError, match=message):
        pni(albumin_g_per_dl=albumin, lymphocytes_per_mm3=lymphocytes)  # type: ignore[arg-type]


def test_pni_from_entries_missing() -> None:
    with pytest.raises(ScoreInputError, match="missing"):
        pni_from_entries(ClinicalEntries(albumin_g_per_l=35.0))


# --------------------------------------------------------------------------- HU bands
@pytest.mark.parametrize("hu,band", [(200, "normal"), (160.01, "normal"), (160, "osteopenia"), (110.01, "osteopenia"),
                                     (110, "osteoporosis"), (50, "osteoporosis")])
def test_hu_bands_110_160(hu: float, band: str) -> None:
    assert hu_band(hu).startswith(band)


@pytest.mark.parametrize("hu,flag", [(127.0, True), (127.272, True), (127.273, False), (127.3, False),
                                     (128.0, False)])
def test_screw_failure_flag_127(hu: float, flag: bool) -> None:
    result = hu_bone_quality(hu_mean=hu, level="L1", kvp=120, contrast=False)
    assert result.thresholds[2].crossed is flag
    assert bool(result.flags) is flag


def test_hu_caveats_and_stats() -> None:
    result = hu_bone_quality(hu_mean=150, level="L3", kvp=100, contrast=True,
                             stats=HuStats(mean=150, sd=30, median=148, n_voxels=900), roi_source="roi:1")
    notes = " ".join(result.notes)
    assert "100 kVp" in notes and "contrast" in notes and "L1" in notes and "invalidates" in notes
    names = [m.name for m in result.items[0].measurements]
    assert names == ["trabecular mean", "median", "SD", "ROI voxels"]
    assert result.items[0].basis.value == "image proposal"
    clean = hu_bone_quality(hu_mean=150, level="L1", kvp=120, contrast=False)
    assert not any("kVp" in n or "contrast" in n for n in clean.notes)


@pytest.mark.parametrize("hu,message", [(None, "missing"), (-2000, "below"), (5000, "above"), ("x", "number")])
def test_hu_bad_input(hu: object, message: str) -> None:
    with pytest.raises(ScoreInputError, match=message):
        hu_bone_quality(hu_mean=hu)  # type: ignore[arg-type]


# -------------------------------------------------------------------------------- BED
@pytest.mark.parametrize("d,n,ab,expected", [(8, 3, 3, 88.0), (24, 1, 3, 216.0), (9, 3, 3, 108.0),
                                             (2, 30, 10, 72.0), (8, 1, 3, 29.333333)])
def test_bed_worked_examples(d: float, n: int, ab: float, expected: float) -> None:
    assert bed(dose_per_fraction_gy=d, fractions=n, alpha_beta_gy=ab).total == pytest.approx(expected, abs=1e-5)


def test_bed3_104_exactly_is_flagged() -> None:
    d = (-3 + math.sqrt(9 + 4 * 312)) / 2  # one fraction with d (1 + d/3) = 104
    assert bed_gy(d, 1, 3.0) == pytest.approx(104.0)
    at = bed(dose_per_fraction_gy=d, fractions=1)
    assert at.thresholds[0].crossed and at.flags
    below = bed(dose_per_fraction_gy=d - 0.01, fractions=1)
    assert not below.thresholds[0].crossed and not below.flags


def test_bed3_flag_uses_alpha_beta_3_whatever_is_asked() -> None:
    result = bed(dose_per_fraction_gy=9, fractions=3, alpha_beta_gy=10)
    assert result.total == pytest.approx(51.3)
    assert result.flags  # BED3 = 108 >= 104
    assert any("BED3" in item.name for item in result.items)


@pytest.mark.parametrize("kwargs,message", [
    ({"dose_per_fraction_gy": 0}, "above 0 Gy"),
    ({"dose_per_fraction_gy": -2}, "below"),
    ({"dose_per_fraction_gy": 800}, "cGy"),
    ({"fractions": 0}, "below"),
    ({"fractions": 2.5}, "whole number"),
    ({"alpha_beta_gy": 0}, "below"),
    ({"fractions": None}, "missing"),
])
def test_bed_bad_input(kwargs: dict, message: str) -> None:
    base = dict(dose_per_fraction_gy=8, fractions=3, alpha_beta_gy=3)
    with pytest.raises(ScoreInputError, match=message):
        bed(**{**base, **kwargs})
