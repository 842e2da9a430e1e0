"""Revised Tokuhashi, Tomita and modified Bauer: every row, band boundaries, sites, bad input."""

from __future__ import annotations

import pytest

from napari_spine_mets.scores import ScoreInputError, modified_bauer, tokuhashi, tomita
from napari_spine_mets.scores.bauer import bauer_band
from napari_spine_mets.scores.primary_sites import (
    SITES,
    canonical_site,
    tokuhashi_category,
    tomita_growth,
)
from napari_spine_mets.scores.tokuhashi import tokuhashi_band
from napari_spine_mets.scores.tomita import tomita_band

# Everything favourable: 2+2+2+2+5+2 = 15.
BEST = dict(karnofsky=90, extraspinal_bone_metastases=0, vertebral_metastases=1, major_organ_metastases="none",
            primary_site="breast", frankel_grade="E")


# ------------------------------------------------------------------------- Tokuhashi
@pytest.mark.parametrize("kps,points", [(10, 0), (40, 0), (50, 1), (70, 1), (80, 2), (100, 2)])
def test_tokuhashi_karnofsky_rows(kps: int, points: int) -> None:
    assert tokuhashi(**{**BEST, "karnofsky": kps}).items[0].points == points


@pytest.mark.parametrize("count,points", [(0, 2), (1, 1), (2, 1), (3, 0), (7, 0)])
def test_tokuhashi_extraspinal_rows(count: int, points: int) -> None:
    assert tokuhashi(**{**BEST, "extraspinal_bone_metastases": count}).items[1].points == points


@pytest.mark.parametrize("count,points", [(1, 2), (2, 1), (3, 0), (10, 0)])
def test_tokuhashi_vertebral_rows(count: int, points: int) -> None:
    assert tokuhashi(**{**BEST, "vertebral_metastases": count}).items[2].points == points


@pytest.mark.parametrize("value,points", [("unremovable", 0), ("removable", 1), ("none", 2)])
def test_tokuhashi_organ_rows(value: str, points: int) -> None:
    assert tokuhashi(**{**BEST, "major_organ_metastases": value}).items[3].points == points


@pytest.mark.parametrize("site,points", [
    ("lung", 0), ("osteosarcoma", 0), ("stomach", 0), ("bladder", 0), ("esophagus", 0), ("pancreas", 0),
    ("liver", 1), ("gallbladder", 1), ("unidentified", 1), ("colon", 2), ("other", 2), ("kidney", 3),
    ("uterus", 3), ("rectum", 4), ("thyroid", 5), ("breast", 5), ("prostate", 5), ("carcinoid", 5),
])
def test_tokuhashi_primary_rows(site: str, points: int) -> None:
    assert tokuhashi(**{**BEST, "primary_site": site}).items[4].points == points


@pytest.mark.parametrize("grade,points", [("A", 0), ("B", 0), ("C", 1), ("d", 1), ("E", 2)])
def test_tokuhashi_frankel_rows(grade: str, points: int) -> None:
    assert tokuhashi(**{**BEST, "frankel_grade": grade}).items[5].points == points


@pytest.mark.parametrize("total,band", [(0, "< 6 months"), (8, "< 6 months"), (9, ">= 6 months"),
                                        (11, ">= 6 months"), (12, ">= 1 year"), (15, ">= 1 year")])
def test_tokuhashi_band_boundaries(total: int, band: str) -> None:
    assert tokuhashi_band(total).endswith(band)


def test_tokuhashi_8_9_and_11_12_through_the_calculator() -> None:
    # 15 - 5 (lung) - 2 (3+ vertebral) = 8; one point back (2 vertebral) = 9
    eight = tokuhashi(**{**BEST, "primary_site": "lung", "vertebral_metastases": 3})
    nine = tokuhashi(**{**BEST, "primary_site": "lung", "vertebral_metastases": 2})
    eleven = tokuhashi(**{**BEST, "primary_site": "kidney", "vertebral_metastases": 3})  # 15-2-2
    twelve = tokuhashi(**{**BEST, "primary_site": "kidney", "vertebral_metastases": 2})  # 15-2-1
    assert [r.total for r in (eight, nine, eleven, twelve)] == [8, 9, 11, 12]
    assert "< 6 months" in eight.band and ">= 6 months" in nine.band
    assert ">= 6 months" in eleven.band and ">= 1 year" in twelve.band
    assert "Spine 2005" in twelve.citation


@pytest.mark.parametrize("kwargs,message", [
    ({"karnofsky": 130}, "above the accepted range"),
    ({"karnofsky": 0}, "below the accepted range"),
    ({"karnofsky": 75}, "steps of 10"),
    ({"karnofsky": None}, "missing"),
    ({"extraspinal_bone_metastases": -1}, "below the accepted range"),
    ({"vertebral_metastases": 0}, "below the accepted range"),
    ({"vertebral_metastases": 1.5}, "whole number"),
    ({"major_organ_metastases": "some"}, "accepted values"),
    ({"primary_site": "martian"}, "not recognised: accepted are"),
    ({"primary_site": None}, "primary site is missing"),
    ({"frankel_grade": "F"}, "not recognised"),
    ({"frankel_grade": None}, "missing"),
])
def test_tokuhashi_bad_input(kwargs: dict, message: str) -> None:
    with pytest.raises(ScoreInputError, match=message):
        tokuhashi(**{**BEST, **kwargs})


# ---------------------------------------------------------------------------- sites
@pytest.mark.parametrize("text,site", [("Renal cell carcinoma", "kidney"), ("NSCLC", "lung"),
                                       ("oesophageal cancer", "oesophagus"), ("Unknown primary", "unknown"),
                                       ("multiple-myeloma", "multiple myeloma"), ("Prostate cancer", "prostate"),
                                       ("Gastric carcinoma", "stomach"), ("head_and_neck", "head and neck")])
def test_site_aliases(text: str, site: str) -> None:
    assert canonical_site(text) == site


def test_every_canonical_site_has_a_tokuhashi_row() -> None:
    for site in SITES:
        assert tokuhashi_category(site)[1] in (0, 1, 2, 3, 4, 5)


def test_unknown_site_lists_accepted_sites() -> None:
    with pytest.raises(ScoreInputError) as info:
        canonical_site("spleen")
    assert "breast" in str(info.value) and "kidney" in str(info.value)


# ---------------------------------------------------------------------------- Tomita
@pytest.mark.parametrize("site,growth", [("breast", "slow"), ("thyroid", "slow"), ("prostate", "slow"),
                                         ("kidney", "moderate"), ("uterus", "moderate"), ("lung", "rapid"),
                                         ("liver", "rapid"), ("stomach", "rapid"), ("colon", "rapid"),
                                         ("unknown", "rapid")])
def test_tomita_named_sites(site: str, growth: str) -> None:
    assert tomita_growth(site)[1] == growth


def test_tomita_refuses_to_guess_unnamed_sites() -> None:
    with pytest.raises(ScoreInputError, match="enter the growth category"):
        tomita(visceral_metastases="none", bone_metastases="solitary", primary_site="melanoma")
    result = tomita(visceral_metastases="none", bone_metastases="solitary", primary_site="melanoma", growth="rapid")
    assert result.total == 5 and result.items[0].basis.value == "user entry"


@pytest.mark.parametrize("growth,visceral,bone,total", [
    ("slow", "none", "solitary", 2), ("slow", "none", "multiple", 3), ("moderate", "none", "multiple", 4),
    ("slow", "treatable", "multiple", 5), ("rapid", "none", "multiple", 6), ("rapid", "none", "isolated", 5),
    ("moderate", "untreatable", "solitary", 7), ("rapid", "treatable", "multiple", 8),
    ("rapid", "untreatable", "multiple", 10),
])
def test_tomita_totals(growth: str, visceral: str, bone: str, total: int) -> None:
    assert tomita(visceral_metastases=visceral, bone_metastases=bone, growth=growth).total == total


@pytest.mark.parametrize("total,band", [(2, "wide or marginal"), (3, "wide or marginal"), (4, "marginal or intra"),
                                        (5, "marginal or intra"), (6, "palliative"), (7, "palliative"),
                                        (8, "non-operative"), (10, "non-operative")])
def test_tomita_band_boundaries(total: int, band: str) -> None:
    assert tomita_band(total).startswith(band)


@pytest.mark.parametrize("kwargs,message", [
    ({"visceral_metastases": "some"}, "accepted values"),
    ({"bone_metastases": None}, "missing"),
    ({"growth": "fast"}, "accepted values"),
])
def test_tomita_bad_input(kwargs: dict, message: str) -> None:
    base = dict(visceral_metastases="none", bone_metastases="solitary", growth="slow")
    with pytest.raises(ScoreInputError, match=message):
        tomita(**{**base, **kwargs})


def test_tomita_needs_growth_or_site() -> None:
    with pytest.raises(ScoreInputError, match="primary tumour growth"):
        tomita(visceral_metastases="none", bone_metastases="solitary")


# ----------------------------------------------------------------------------- Bauer
@pytest.mark.parametrize("visceral,site,solitary,total", [
    (False, "breast", True, 4), (False, "kidney", False, 3), (True, "lymphoma", False, 2),
    (False, "prostate", False, 2), (True, "prostate", True, 2), (True, "prostate", False, 1),
    (True, "lung", False, 0), (False, "lung", False, 1), (False, "myeloma", True, 4),
])
def test_bauer_totals(visceral: bool, site: str, solitary: bool, total: int) -> None:
    result = modified_bauer(visceral_metastases=visceral, primary_site=site, solitary_skeletal_metastasis=solitary)
    assert result.total == total
    assert len(result.items) == 4


@pytest.mark.parametrize("total,band", [(0, "poor"), (1, "poor"), (2, "moderate"), (3, "good"), (4, "good")])
def test_bauer_band_boundaries(total: int, band: str) -> None:
    assert bauer_band(total).startswith(band)


def test_bauer_unknown_primary_needs_an_answer_on_lung() -> None:
    with pytest.raises(ScoreInputError, match="cannot be scored"):
        modified_bauer(visceral_metastases=False, primary_site="unknown", solitary_skeletal_metastasis=True)
    result = modified_bauer(visceral_metastases=False, primary_site="unknown", solitary_skeletal_metastasis=True,
                            lung_primary=False)
    assert result.total == 3 and "entered" in result.items[1].detail


@pytest.mark.parametrize("kwargs,message", [
    ({"visceral_metastases": None}, "missing"),
    ({"visceral_metastases": "yes"}, "yes/no"),
    ({"primary_site": "moon"}, "not recognised"),
    ({"solitary_skeletal_metastasis": None}, "missing"),
])
def test_bauer_bad_input(kwargs: dict, message: str) -> None:
    base = dict(visceral_metastases=False, primary_site="breast", solitary_skeletal_metastasis=True)
    with pytest.raises(ScoreInputError, match=message):
        modified_bauer(**{**base, **kwargs})
