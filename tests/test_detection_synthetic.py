"""Lesion detection on synthetic cases with known lesions of each kind and site, and a fracture."""

from __future__ import annotations

import numpy as np
import pytest

from napari_spine_mets.detection.pipeline import detect_lesions
from napari_spine_mets.synthetic import FractureSpec, LesionSpec, SpineParams, generate_spine_ct

LEVELS = ("T12", "L1", "L2", "L3", "L4")


def _case(lesions: tuple[LesionSpec, ...], fracture: FractureSpec | None = None, seed: int = 11):
    params = SpineParams(seed=seed, levels=LEVELS, include_sacrum=False, spacing_mm=(2.0, 0.9, 0.9), fov_mm=220.0,
                         ribs=False, lesions=lesions, fracture=fracture, noise_hu=12.0)
    return generate_spine_ct(params)


def _match(case, report) -> dict[int, object]:
    """truth id -> detected record (>= 10 % of the detection inside the true lesion)."""
    out = {}
    for rec in report.lesions:
        ids = case.lesions.array[report.labels.array == rec.lesion.id]
        ids = ids[ids > 0]
        if ids.size >= 0.1 * (report.labels.array == rec.lesion.id).sum():
            out[int(np.bincount(ids).argmax())] = rec
    return out


@pytest.fixture(scope="module")
def body_case():
    lesions = (LesionSpec("T12", "lytic", 8.0, "body"), LesionSpec("L2", "blastic", 8.0, "body"),
               LesionSpec("L4", "mixed", 9.0, "body"))
    case = _case(lesions, FractureSpec("L3", 0.45, "wedge"))
    return case, detect_lesions(case.ct, case.vertebrae)


def test_each_kind_in_the_body_is_found_and_typed(body_case) -> None:
    case, report = body_case
    matched = _match(case, report)
    for truth in case.lesion_truth:
        rec = matched.get(truth.id)
        assert rec is not None, f"missed {truth}"
        assert rec.lesion.level == truth.level
        assert rec.lesion.kind.value == truth.kind, rec.evidence.rule
        assert rec.lesion.status.value == "proposed"
        assert rec.body_fraction is not None and 0 < rec.body_fraction < 1
        assert 0.4 < rec.lesion.volume_mm3 / truth.volume_mm3 < 1.6
    assert len(report.lesions) == len(case.lesion_truth), "no false positive in this case"


def test_lesion_records_keep_their_numbers(body_case) -> None:
    case, report = body_case
    data = report.to_json()
    assert data["disclaimer"] == "decision support, not a diagnosis"
    lytic = next(les for les in data["lesions"] if les["kind"] == "lytic")
    assert lytic["hu"]["mean"] < data["normal_bone"]["pooled_trabecular_hu"] - 50
    assert lytic["kind_evidence"]["lytic_fraction"] > 0.3
    assert "project heuristic" in lytic["kind_evidence"]["rule"]
    assert set(report.labels.names) == {les["id"] for les in data["lesions"]}
    assert report.labels.array.shape == case.ct.shape


def test_fracture_is_graded_and_flagged_pathologic_only_with_a_lesion(body_case) -> None:
    case, report = body_case
    truth = case.fracture_truth
    graded = {v.level: v for v in report.vertebrae}
    l3 = graded["L3"]
    assert l3.genant_grade is not None and abs(l3.genant_grade - truth.genant_grade) <= 1
    assert l3.genant_grade >= 2
    assert not l3.pathologic  # no lesion was placed in L3's body
    assert "Genant" in l3.to_json()["source"]
    for level in ("T12", "L1", "L2"):
        assert graded[level].genant_grade == 0, graded[level].to_json()


def test_posterior_element_lesions_report_their_side() -> None:
    case = _case((LesionSpec("L1", "lytic", 6.0, "pedicle_left"), LesionSpec("L3", "lytic", 6.0, "pedicle_right")),
                 seed=12)
    report = detect_lesions(case.ct, case.vertebrae)
    matched = _match(case, report)
    by_level = {t.level: matched.get(t.id) for t in case.lesion_truth}
    left, right = by_level["L1"], by_level["L3"]
    assert left is not None and right is not None
    assert left.posterolateral_left > 0.05 and left.posterolateral_right < 0.01
    assert right.posterolateral_right > 0.05 and right.posterolateral_left < 0.01


def test_healthy_spine_has_no_lesion() -> None:
    case = _case((), seed=13)
    report = detect_lesions(case.ct, case.vertebrae)
    assert report.lesions == []
    assert all(v.genant_grade in (0, None) for v in report.vertebrae)


def test_parts_map_gives_the_same_lesions(body_case) -> None:
    case, report = body_case
    with_parts = detect_lesions(case.ct, case.vertebrae, case.parts)
    assert [r.lesion.kind for r in with_parts.lesions] == [r.lesion.kind for r in report.lesions]
    assert with_parts.parameters["parts_map_used"] is True
