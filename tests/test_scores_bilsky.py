"""Bilsky grade entry, the canal-area CT estimate (a labelled heuristic) and canal measurement."""

from __future__ import annotations

import numpy as np
import pytest

from napari_spine_mets.anatomy import VertebraPart, label_of_level
from napari_spine_mets.scores import (
    ScoreInputError,
    bilsky_ct_estimate,
    bilsky_ct_estimate_from_labels,
    bilsky_grade,
    measure_canal_areas,
)
from napari_spine_mets.volume import LabelMap


@pytest.mark.parametrize("grade,band", [("0", "low"), ("1a", "low"), ("1B", "low"), ("1c", "1c"), (2, "high"),
                                        ("3", "high")])
def test_grade_entry_bands(grade: object, band: str) -> None:
    result = bilsky_grade(grade, level="T8")
    assert result.band.startswith(band)
    assert result.items[0].basis.value == "user entry"
    assert ("high" in band) == bool(result.flags)


def test_grade_bad_input() -> None:
    with pytest.raises(ScoreInputError, match="accepted values"):
        bilsky_grade("4")
    with pytest.raises(ScoreInputError, match="missing"):
        bilsky_grade(None)


@pytest.mark.parametrize("area,band", [(270, "no measurable"), (243, "no measurable"), (242.9, "mild"),
                                       (202.5, "mild"), (202.4, "moderate"), (135, "moderate"), (134.9, "severe")])
def test_ct_estimate_heuristic_boundaries(area: float, band: str) -> None:
    result = bilsky_ct_estimate(lesion_area_mm2=area, above_area_mm2=280, below_area_mm2=260)
    assert result.band.startswith(band)
    assert "CT estimate" in result.band and "CT estimate" in result.name
    assert any("project heuristic" in n for n in result.notes)


def test_ct_estimate_with_one_neighbour_says_so() -> None:
    result = bilsky_ct_estimate(lesion_area_mm2=100, above_area_mm2=None, below_area_mm2=200)
    assert result.total == pytest.approx(0.5)
    assert any("only the level below" in n for n in result.notes)


@pytest.mark.parametrize("kwargs,message", [
    ({"above_area_mm2": None, "below_area_mm2": None}, "above or below"),
    ({"lesion_area_mm2": -1}, "below the accepted range"),
    ({"lesion_area_mm2": None}, "missing"),
    ({"above_area_mm2": 0}, "no canal was measured"),
])
def test_ct_estimate_bad_input(kwargs: dict, message: str) -> None:
    base = dict(lesion_area_mm2=100, above_area_mm2=200, below_area_mm2=200)
    with pytest.raises(ScoreInputError, match=message):
        bilsky_ct_estimate(**{**base, **kwargs})


# --------------------------------------------------------------------- measuring
def _block_maps(narrow_level_fraction: float = 1.0) -> tuple[LabelMap, LabelMap]:
    """Three stacked 'vertebrae' (L1-L3) with a square canal; the middle one's canal narrowed."""
    shape = (30, 40, 40)
    vert = np.zeros(shape, np.uint8)
    parts = np.zeros(shape, np.uint8)
    for i, level in enumerate(("L1", "L2", "L3")):
        vert[i * 10:(i + 1) * 10, 5:15, 10:30] = label_of_level(level)  # body
        side = 10 if level != "L2" else int(round(10 * np.sqrt(narrow_level_fraction)))
        parts[i * 10:(i + 1) * 10, 20:20 + side, 15:15 + side] = VertebraPart.CANAL
    parts[:, 24:26, 19:21] = np.where(parts[:, 24:26, 19:21] > 0, VertebraPart.CORD, 0)
    # (z, y, x) spacing (2.0, 0.5, 0.5) mm.
    affine = np.array([[0, 0, 0.5, 0], [0, 0.5, 0, 0], [2.0, 0, 0, 0], [0, 0, 0, 1]], float)
    return (LabelMap(parts, affine, name="parts", source="test parts"),
            LabelMap(vert, affine, name="vertebrae"))


def test_measure_canal_areas_on_blocks() -> None:
    parts, vert = _block_maps(0.49)
    areas = measure_canal_areas(parts, vert)
    assert list(areas) == ["L1", "L2", "L3"]
    assert areas["L1"].median_mm2 == pytest.approx(100 * 0.25)  # canal + cord voxels counted
    assert areas["L2"].median_mm2 == pytest.approx(49 * 0.25)
    assert areas["L1"].n_slices == 10
    result = bilsky_ct_estimate_from_labels(parts, vert, "L2")
    assert result.total == pytest.approx(0.49)
    assert result.band.startswith("severe")
    assert len(result.items[0].measurements) == 3
    assert result.items[0].measurements[0].source == "test parts"


def test_measure_rejects_mismatched_grids_and_unknown_levels() -> None:
    parts, vert = _block_maps()
    other = LabelMap(vert.array[:-1].copy(), vert.affine)
    with pytest.raises(ScoreInputError, match="same voxel grid"):
        measure_canal_areas(parts, other)
    with pytest.raises(ScoreInputError, match="no canal was measured at T4"):
        bilsky_ct_estimate_from_labels(parts, vert, "T4")
    with pytest.raises(ScoreInputError, match="not a vertebral level"):
        bilsky_ct_estimate_from_labels(parts, vert, "Q1")


@pytest.fixture(scope="module")
def synthetic_spine():
    from napari_spine_mets.synthetic import SpineParams, generate_spine_ct

    # The default lesions include T12 and a fracture at L1, outside/inside these levels: drop them.
    params = SpineParams(levels=("L1", "L2", "L3"), spacing_mm=(2.5, 1.2, 1.2), fov_mm=200, lesions=(),
                         fracture=None)
    return generate_spine_ct(params)


def test_canal_areas_on_synthetic_ct(synthetic_spine) -> None:
    areas = measure_canal_areas(synthetic_spine.parts, synthetic_spine.vertebrae)
    assert set(areas) == {"L1", "L2", "L3"}
    for area in areas.values():
        assert 150.0 < area.median_mm2 < 400.0  # a lumbar canal is a few hundred mm2 in axial section
        assert area.n_slices >= 5
    result = bilsky_ct_estimate_from_labels(synthetic_spine.parts, synthetic_spine.vertebrae, "L2")
    assert 0.8 < result.total < 1.2  # an intact synthetic canal: no narrowing at L2
    assert result.band.startswith("no measurable")


def test_synthetic_canal_narrowed_by_hand_is_detected(synthetic_spine) -> None:
    parts = synthetic_spine.parts
    array = parts.array.copy()
    vert = synthetic_spine.vertebrae.array
    l2 = label_of_level("L2")
    canal = np.isin(array, (VertebraPart.CANAL, VertebraPart.CORD))
    for z in range(array.shape[0]):
        labels, counts = np.unique(vert[z][vert[z] > 0], return_counts=True)
        if len(labels) and labels[np.argmax(counts)] == l2:
            ys, xs = np.nonzero(canal[z])
            if len(ys):
                cut = np.median(ys)
                array[z][canal[z] & (np.arange(array.shape[1])[:, None] < cut)] = 0  # half the canal filled
    narrowed = LabelMap(array, parts.affine, name="parts")
    result = bilsky_ct_estimate_from_labels(narrowed, synthetic_spine.vertebrae, "L2")
    assert result.total < 0.75
    assert result.flags or result.band.startswith("moderate")
