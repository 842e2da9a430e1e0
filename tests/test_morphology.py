"""The fast morphology helpers give exactly scipy's results (they replace it in the refinement)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from napari_spine_mets.morphology import ball, diamond, dilate, erode, maximum_filter, slice_holes


def _masks(shape: tuple[int, ...], seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    sparse = rng.random(shape) < 0.02
    blobs = ndimage.gaussian_filter(rng.random(shape), 1.5) > 0.52
    edge = np.zeros(shape, dtype=bool)  # True on the array's faces: where the edge rule shows
    edge[0] = edge[-1] = True
    edge[(slice(None), 0)] = True
    return [sparse, blobs, edge | sparse]


@pytest.mark.parametrize("structure", [
    ball(2.5, (0.8, 0.8))[None],  # an in-plane disk (a vessel's wall)
    ball(3.0, (1.25, 0.7, 0.9)),  # an ellipsoid in voxels
    diamond(3)[None],  # the in-plane cross iterated three times (closing a cortical ring)
    ndimage.generate_binary_structure(3, 1),
    np.ones((1, 1, 1), dtype=bool),
])
def test_dilate_and_erode_match_scipy(structure: np.ndarray) -> None:
    for mask in _masks((17, 23, 19), seed=structure.size):
        assert np.array_equal(dilate(mask, structure), ndimage.binary_dilation(mask, structure))
        assert np.array_equal(erode(mask, structure), ndimage.binary_erosion(mask, structure))


def test_diamond_is_the_iterated_cross() -> None:
    cross = ndimage.generate_binary_structure(2, 1)
    single = np.zeros((9, 9), dtype=bool)
    single[4, 4] = True
    assert np.array_equal(diamond(3), ndimage.binary_dilation(single, cross, iterations=3)[1:-1, 1:-1])
    mask = _masks((13, 30, 30), seed=4)[1]
    in_plane = np.zeros((3, 3, 3), dtype=bool)
    in_plane[1] = cross
    assert np.array_equal(erode(dilate(mask, diamond(3)[None]), diamond(3)[None]),
                          ndimage.binary_closing(mask, structure=in_plane, iterations=3, border_value=0))


@pytest.mark.parametrize("bad", [np.ones((2, 3, 3), dtype=bool), np.array([[[1, 0, 1]]], dtype=bool),
                                 np.array([[[1, 1, 0]]], dtype=bool)])
def test_dilate_refuses_a_structure_it_cannot_decompose(bad: np.ndarray) -> None:
    with pytest.raises(ValueError):
        dilate(np.zeros((4, 4, 4), dtype=bool), bad)


@pytest.mark.parametrize("size", [(5, 9, 9), (1, 3, 1), (3, 1, 25), (7, 7, 7)])
def test_maximum_filter_matches_scipy(size: tuple[int, int, int]) -> None:
    rng = np.random.default_rng(sum(size))
    values = (rng.normal(size=(9, 14, 11)) * 300).astype(np.float32)
    assert np.array_equal(maximum_filter(values, size), ndimage.maximum_filter(values, size=size))
    with pytest.raises(ValueError):
        maximum_filter(values, (4, 3, 3))


def test_slice_holes_are_what_a_slice_encloses_not_what_reaches_its_edge_or_another_slice() -> None:
    mask = np.zeros((3, 9, 9), dtype=bool)
    mask[1, 2:7, 2:7] = True
    mask[1, 4, 4] = False  # a hole in the middle slice
    mask[1, 3, 2] = False  # a notch reaching outside
    background, hole = slice_holes(mask)
    assert hole[background[1, 4, 4]]
    assert not hole[background[1, 3, 2]] and not hole[background[1, 0, 0]]
    assert not hole[background[0, 4, 4]] and not hole[background[2, 4, 4]]  # above and below: open slices
    assert background[1, 4, 4] != background[0, 4, 4]  # pieces do not run across slices
    assert not hole[0]
