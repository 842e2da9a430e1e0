"""SINS: every table row, the location of every level, the band boundaries, proposals and bad input."""

from __future__ import annotations

import pytest

from napari_spine_mets.anatomy import LEVELS
from napari_spine_mets.scores import Basis, ScoreInputError, sins
from napari_spine_mets.scores.sins import (
    location_category,
    propose_bone_lesion,
    propose_collapse,
    propose_location,
    propose_posterolateral,
    sins_band,
)

BASE = dict(location="T5", pain="none", bone_lesion="blastic", alignment="normal", collapse="none",
            posterolateral="none")  # 1 point: semi-rigid only

EXPECTED_LOCATION = {
    **{lv: "junctional" for lv in ("C1", "C2", "C7", "T1", "T2", "T11", "T12", "L1", "L5", "S1")},
    **{lv: "mobile" for lv in ("C3", "C4", "C5", "C6", "L2", "L3", "L4")},
    **{f"T{i}": "semi-rigid" for i in range(3, 11)},
    **{lv: "rigid" for lv in ("S2", "S3", "S4", "S5")},
}


@pytest.mark.parametrize("level", [*LEVELS, "S2", "S3", "S4", "S5"])
def test_location_category_of_every_level(level: str) -> None:
    assert location_category(level) == EXPECTED_LOCATION[level]


@pytest.mark.parametrize("level,points", [("C6", 2), ("C7", 3), ("T2", 3), ("T3", 1), ("T10", 1), ("T11", 3),
                                          ("L1", 3), ("L2", 2), ("L4", 2), ("L5", 3), ("S1", 3), ("S2", 0)])
def test_junction_boundaries_score_their_points(level: str, points: int) -> None:
    result = sins(**{**BASE, "location": level})
    assert result.items[0].points == points
    assert result.level == level


@pytest.mark.parametrize("field,value,points", [
    ("pain", "mechanical", 3), ("pain", "occasional_non_mechanical", 1), ("pain", "none", 0),
    ("bone_lesion", "lytic", 2), ("bone_lesion", "mixed", 1), ("bone_lesion", "blastic", 0),
    ("alignment", "subluxation_translation", 4), ("alignment", "de_novo_deformity", 2), ("alignment", "normal", 0),
    ("collapse", "gt50", 3), ("collapse", "lt50", 2), ("collapse", "none_gt50_involved", 1), ("collapse", "none", 0),
    ("posterolateral", "bilateral", 3), ("posterolateral", "unilateral", 1), ("posterolateral", "none", 0),
])
def test_every_table_row(field: str, value: str, points: int) -> None:
    assert sins(**{**BASE, field: value}).total == 1 + points


def test_aliases_and_location_category_entry() -> None:
    result = sins(location="Junctional", pain="Occasional", bone_lesion="Lytic/Blastic", alignment="kyphosis",
                  collapse=">50", posterolateral="Bilateral")
    assert [i.points for i in result.items] == [3, 1, 1, 2, 3, 3]
    assert result.level is None


@pytest.mark.parametrize("total,band", [(0, "stable"), (6, "stable"), (7, "indeterminate"), (12, "indeterminate"),
                                        (13, "unstable"), (18, "unstable")])
def test_band_boundaries(total: int, band: str) -> None:
    assert sins_band(total).startswith(band)


def test_six_seven_boundary_sets_consultation_flag() -> None:
    six = sins(location="T5", pain="mechanical", bone_lesion="lytic", alignment="normal", collapse="none",
               posterolateral="none")  # 1+3+2 = 6
    seven = sins(location="T5", pain="mechanical", bone_lesion="lytic", alignment="normal", collapse="none",
                 posterolateral="unilateral")  # 7
    assert (six.total, seven.total) == (6, 7)
    assert six.band == "stable" and not six.flags
    assert seven.band.startswith("indeterminate") and any("surgical consultation" in f for f in seven.flags)
    assert seven.thresholds[0].crossed and not six.thresholds[0].crossed


def test_twelve_thirteen_boundary() -> None:
    twelve = sins(location="T12", pain="mechanical", bone_lesion="lytic", alignment="normal", collapse="gt50",
                  posterolateral="unilateral")  # 3+3+2+0+3+1 = 12
    thirteen = sins(location="T12", pain="mechanical", bone_lesion="lytic", alignment="de_novo_deformity",
                    collapse="lt50", posterolateral="unilateral")  # 3+3+2+2+2+1 = 13
    assert (twelve.total, thirteen.total) == (12, 13)
    assert twelve.band.startswith("indeterminate") and not twelve.thresholds[1].crossed
    assert thirteen.band == "unstable" and thirteen.thresholds[1].crossed


def test_maximum_and_minimum() -> None:
    top = sins(location="L1", pain="mechanical", bone_lesion="lytic", alignment="subluxation",
               collapse="gt50", posterolateral="bilateral")
    low = sins(location="S3", pain="none", bone_lesion="blastic", alignment="normal", collapse="none",
               posterolateral="none")
    assert (top.total, low.total) == (18, 0)


def test_brief_example_explains_itself() -> None:
    result = sins(location="T12", pain="mechanical", bone_lesion="lytic", alignment="normal", collapse="lt50",
                  posterolateral="unilateral")
    assert result.total == 11
    data = result.to_json()
    assert [i["points"] for i in data["items"]] == [3, 3, 2, 0, 2, 1]
    assert all(i["basis"] == "user entry" for i in data["items"])
    assert "Spine 2010" in data["citation"] and data["disclaimer"]
    findings = result.to_findings()
    assert findings[0].value == 11 and findings[0].level == "T12" and "Fisher" in findings[0].source


def test_proposals_are_recorded_with_their_measurements() -> None:
    result = sins(location=propose_location("L1"), pain="mechanical",
                  bone_lesion=propose_bone_lesion("lytic", lesion_hu=35.0, reference_hu=180.0),
                  alignment="normal", collapse=propose_collapse(0.35),
                  posterolateral=propose_posterolateral(0.3, 0.0))
    by_name = {item.name: item for item in result.items}
    assert by_name["pain"].basis is Basis.ENTRY
    for name in ("location", "bone lesion", "collapse", "posterolateral"):
        assert by_name[name].basis is Basis.IMAGE
        assert by_name[name].measurements
    assert by_name["collapse"].choice == "lt50"
    assert by_name["collapse"].measurements[0].value == pytest.approx(0.35)
    assert by_name["posterolateral"].choice == "unilateral"
    assert result.total == 3 + 3 + 2 + 0 + 2 + 1
    assert any("image proposals" in n for n in result.notes)


@pytest.mark.parametrize("loss,involved,choice", [(0.6, None, "gt50"), (0.51, None, "gt50"), (0.5, None, "lt50"),
                                                 (0.2, None, "lt50"), (0.19, 0.6, "none_gt50_involved"),
                                                 (0.0, 0.5, "none"), (0.0, 0.2, "none")])
def test_collapse_proposal_thresholds(loss: float, involved: float | None, choice: str) -> None:
    assert propose_collapse(loss, involved).value == choice


def test_collapse_proposal_refuses_to_guess_involvement() -> None:
    with pytest.raises(ScoreInputError, match="body_involvement_fraction"):
        propose_collapse(0.05)


@pytest.mark.parametrize("left,right,choice", [(0.0, 0.0, "none"), (0.05, 0.0, "unilateral"),
                                               (0.04, 0.9, "unilateral"), (0.5, 0.5, "bilateral")])
def test_posterolateral_proposal(left: float, right: float, choice: str) -> None:
    assert propose_posterolateral(left, right).value == choice


@pytest.mark.parametrize("kwargs,message", [
    ({"pain": None}, "missing: pain"),
    ({"location": "T13"}, "not recognised"),
    ({"location": ""}, "location is missing"),
    ({"pain": "severe"}, "accepted values"),
    ({"bone_lesion": "osteolytic-ish"}, "accepted values"),
    ({"alignment": 3}, "must be one of"),
    ({"collapse": "40%"}, "accepted values"),
    ({"posterolateral": "left"}, "accepted values"),
])
def test_bad_input_has_specific_messages(kwargs: dict, message: str) -> None:
    with pytest.raises(ScoreInputError, match=message):
        sins(**{**BASE, **kwargs})


def test_bad_proposal_inputs() -> None:
    with pytest.raises(ScoreInputError, match="fraction 0-1"):
        propose_collapse(1.5)
    with pytest.raises(ScoreInputError, match="cannot propose"):
        propose_bone_lesion("unknown")
    with pytest.raises(ScoreInputError, match="fraction 0-1"):
        propose_posterolateral(-0.1, 0.2)
    with pytest.raises(ScoreInputError, match="not a vertebral level"):
        propose_location("X9")
