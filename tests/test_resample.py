"""labels_onto_grid: exact when grids share voxels, nearest neighbour through the affines otherwise."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from napari_spine_mets.io import geometry, resample
from napari_spine_mets.io.resample import exact_onto_grid, labels_onto_grid
from napari_spine_mets.volume import LabelMap

SHAPE = (5, 7, 6)


def _grid() -> np.ndarray:
    a = np.eye(4)
    a[:3, 0], a[:3, 1], a[:3, 2] = [0, 0, 2.5], [0, 0.8, 0], [0.7, 0, 0]
    a[:3, 3] = [-20.0, 15.5, -800.0]
    return a


def _labels() -> LabelMap:
    rng = np.random.default_rng(0)
    return LabelMap(rng.integers(0, 40, SHAPE).astype(np.uint8), _grid(), names={32: "vertebrae_T12"}, name="v")


def _reordered(labels: LabelMap, perm: tuple[int, ...], flips: tuple[bool, ...]) -> LabelMap:
    """The same voxels stored with axes permuted and flipped, with the affine that keeps them in place."""
    array = np.transpose(labels.array, perm)
    for axis, flip in enumerate(flips):
        if flip:
            array = np.flip(array, axis)
    # new index n -> old index: old[perm[t]] = n[t], or shape - 1 - n[t] when flipped
    index_map = np.zeros((4, 4))
    index_map[3, 3] = 1
    for t, (p, flip) in enumerate(zip(perm, flips)):
        index_map[p, t] = -1 if flip else 1
        index_map[p, 3] = labels.array.shape[p] - 1 if flip else 0
    return LabelMap(np.ascontiguousarray(array), labels.affine @ index_map, names=labels.names, name="copy")


@pytest.mark.parametrize("perm", list(itertools.permutations(range(3))))
@pytest.mark.parametrize("flips", list(itertools.product([False, True], repeat=3)))
def test_transposed_flipped_copy_comes_back_exactly(perm, flips) -> None:
    labels = _labels()
    copy = _reordered(labels, perm, flips)
    back = labels_onto_grid(copy, SHAPE, labels.affine)
    assert back.array.dtype == labels.array.dtype
    np.testing.assert_array_equal(back.array, labels.array)
    np.testing.assert_array_equal(back.affine, labels.affine)
    assert back.names == labels.names


def test_identical_grid_gives_a_copy_not_a_view() -> None:
    labels = _labels()
    out = labels_onto_grid(labels, SHAPE, labels.affine)
    np.testing.assert_array_equal(out.array, labels.array)
    out.array[0, 0, 0] += 1
    assert out.array[0, 0, 0] != labels.array[0, 0, 0]


def test_shifted_grid_is_cropped_and_padded_exactly() -> None:
    labels = _labels()
    target = labels.affine.copy()
    target[:3, 3] += labels.affine[:3, :3] @ np.array([-2, 3, 1])  # start 2 slices earlier, 3 rows later, 1 col
    out = labels_onto_grid(labels, (8, 3, 4), target)
    expected = np.zeros((8, 3, 4), np.uint8)
    expected[2:7, 0:3, 0:4] = labels.array[:, 3:6, 1:5]
    np.testing.assert_array_equal(out.array, expected)
    assert exact_onto_grid(labels.array, labels.affine, (8, 3, 4), target) is not None


def test_sub_voxel_offset_is_not_exact_but_still_nearest() -> None:
    labels = _labels()
    target = labels.affine.copy()
    target[:3, 3] += labels.affine[:3, :3] @ np.array([0.0, 0.6, 0.0])
    assert exact_onto_grid(labels.array, labels.affine, SHAPE, target) is None
    out = labels_onto_grid(labels, SHAPE, target)
    np.testing.assert_array_equal(out.array[:, :-1], labels.array[:, 1:])  # row y + 0.6 is nearest to y + 1
    assert not out.array[:, -1].any()  # row 6.6 lies outside the source (beyond 6.5): background


def test_upsampling_repeats_each_voxel() -> None:
    labels = _labels()
    fine = labels.affine.copy()
    fine[:3, :3] = labels.affine[:3, :3] / 2
    fine[:3, 3] = labels.affine[:3, 3] - labels.affine[:3, :3] @ np.full(3, 0.25)  # fine voxels nest in coarse ones
    out = labels_onto_grid(labels, tuple(2 * s for s in SHAPE), fine)
    expected = labels.array.repeat(2, 0).repeat(2, 1).repeat(2, 2)
    np.testing.assert_array_equal(out.array, expected)


def _rotated(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    rot = np.array([[1, 0, 0], [0, c, -s], [0, s, c]])  # about the z index axis
    a = _grid().copy()
    a[:3, :3] = a[:3, :3] @ rot
    return a


@settings(max_examples=25, deadline=None)
@given(angle=st.floats(0.05, 1.5), seed=st.integers(0, 2**16))
def test_oblique_target_samples_the_nearest_source_voxel(angle: float, seed: int) -> None:
    labels = _labels()
    target = _rotated(angle)
    out = labels_onto_grid(labels, SHAPE, target)
    rng = np.random.default_rng(seed)
    idx = np.stack([rng.integers(0, n, 50) for n in SHAPE], axis=1)
    source = geometry.index_from_world(labels.affine, geometry.world_from_index(target, idx))
    for (z, y, x), src in zip(idx, source):
        nearest = np.floor(src + 0.5).astype(int)
        if np.any(np.abs(src - np.rint(src)) > 0.499):
            continue  # a tie between two voxels: either is right
        inside = np.all((nearest >= 0) & (nearest < SHAPE))
        expected = labels.array[tuple(nearest)] if inside else 0
        assert out.array[z, y, x] == expected


def test_chunking_does_not_change_the_result(monkeypatch: pytest.MonkeyPatch) -> None:
    labels = _labels()
    target = _rotated(0.3)
    whole = labels_onto_grid(labels, SHAPE, target).array
    monkeypatch.setattr(resample, "_CHUNK_VOXELS", 1)  # one slice per chunk
    np.testing.assert_array_equal(labels_onto_grid(labels, SHAPE, target).array, whole)


def test_bad_target_is_refused() -> None:
    with pytest.raises(ValueError, match="3D shape"):
        labels_onto_grid(_labels(), (5, 7), _grid())
