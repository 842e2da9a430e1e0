"""Label corrections (relabel, shift, merge, split, fill) and the undo history, on small synthetic maps."""

from __future__ import annotations

import numpy as np
import pytest

from napari_spine_mets.editing import (
    EditHistory,
    LabelEdit,
    LabelEditError,
    VoxelChange,
    fill_holes,
    merge_labels,
    narrowest_section,
    relabel_vertebra,
    shift_all_levels,
    split_at_narrowest,
    split_at_plane,
    split_components,
)
from napari_spine_mets.errors import SpineMetsError

T11, T12, L1, T10 = 33, 32, 31, 34


@pytest.fixture
def spine() -> tuple[np.ndarray, dict[int, str]]:
    """T12 wrongly drawn over two vertebrae joined by a thin neck at z=12, and T11 above (z grows cranially)."""
    array = np.zeros((32, 20, 20), np.uint8)
    array[2:12, 4:16, 4:16] = T12  # really L1
    array[12, 9:11, 9:11] = T12  # the neck through the disc space
    array[13:24, 4:16, 4:16] = T12
    array[26:30, 6:14, 6:14] = T11
    return array, {T12: "vertebrae_T12", T11: "vertebrae_T11"}


def _caudal_block(shape: tuple[int, ...]) -> np.ndarray:
    block = np.zeros(shape, bool)
    block[2:12, 4:16, 4:16] = True
    return block


# ----------------------------------------------------------------- relabel
def test_relabel_moves_voxels_and_names(spine) -> None:
    array, names = spine
    t11_voxels = array == T11
    edit = relabel_vertebra(array, names, T11, "T10", target="vertebrae")
    assert np.array_equal(array == T10, t11_voxels) and not (array == T11).any()
    assert edit.names_after == {T12: "vertebrae_T12", T10: "vertebrae_T10"}
    assert edit.names_before == names and edit.target == "vertebrae"
    assert edit.voxels.count == int(t11_voxels.sum()) and "T10" in edit.description


def test_relabel_refuses_a_used_level_unless_swapping(spine) -> None:
    array, names = spine
    original = array.copy()
    with pytest.raises(LabelEditError, match="T12 is already used by vertebrae_T12"):
        relabel_vertebra(array, names, T11, "T12")
    assert np.array_equal(array, original)  # refused: nothing changed
    edit = relabel_vertebra(array, names, T11, "t12", swap=True)
    assert np.array_equal(array == T12, original == T11) and np.array_equal(array == T11, original == T12)
    assert edit.names_after == names and "swap" in edit.description


@pytest.mark.parametrize("label, level, message", [(T11, "X9", "not a vertebral level"), (99, "T10", "not in this label map"),
                                                   (0, "T10", "background"), (T11, "T11", "already T11")])
def test_relabel_bad_requests_are_project_errors(spine, label, level, message) -> None:
    array, names = spine
    with pytest.raises(SpineMetsError, match=message):
        relabel_vertebra(array, names, label, level)


# ----------------------------------------------------------------- shift, merge
def test_shift_all_levels_reuses_labelling_and_refuses_past_c1(spine) -> None:
    array, names = spine
    original = array.copy()
    edit = shift_all_levels(array, names, -1)  # up: T12 -> T11, T11 -> T10
    assert np.array_equal(array == T11, original == T12) and np.array_equal(array == T10, original == T11)
    assert edit.names_after == {T11: "vertebrae_T11", T10: "vertebrae_T10"} and "up" in edit.description
    with pytest.raises(LabelEditError, match="past C1"):
        shift_all_levels(array, edit.names_after, -20)


def test_merge_gives_voxels_to_the_kept_label(spine) -> None:
    array, names = spine
    both = (array == T12) | (array == T11)
    edit = merge_labels(array, names, T12, T11)
    assert np.array_equal(array == T12, both) and edit.names_after == {T12: "vertebrae_T12"}
    with pytest.raises(LabelEditError, match="itself"):
        merge_labels(array, edit.names_after, T12, T12)


# ----------------------------------------------------------------- split
def test_split_by_plane_gives_the_caudal_part_the_next_level(spine) -> None:
    array, names = spine
    edit = split_at_plane(array, names, T12, 12)
    assert np.array_equal(array == L1, _caudal_block(array.shape))
    assert edit.names_after[L1] == "vertebrae_L1" and edit.voxels.count == 10 * 12 * 12
    with pytest.raises(LabelEditError, match="does not cut"):
        split_at_plane(array, edit.names_after, T11, 5)


def test_split_at_the_narrowest_section_separates_two_merged_vertebrae(spine) -> None:
    array, names = spine
    assert narrowest_section(array, T12) == 12
    edit = split_at_narrowest(array, names, T12)
    assert np.array_equal(array == L1, _caudal_block(array.shape))
    assert (array == T12).sum() == 4 + 11 * 144 and "narrowest section (slice 12, 4 voxels)" in edit.description


def test_split_on_a_grid_whose_z_runs_caudally_labels_the_high_side(spine) -> None:
    array, names = spine
    high = (array == T12) & (np.arange(32)[:, None, None] >= 12)
    split_at_narrowest(array, names, T12, caudal_is_low=False)
    assert np.array_equal(array == L1, high)


def test_split_uses_an_unnamed_id_when_the_next_level_is_taken(spine) -> None:
    array, names = spine
    array[0, 0, 0] = L1
    edit = split_at_plane(array, {**names, L1: "vertebrae_L1"}, T12, 12)
    assert edit.names_after[201] == "vertebra_unnamed_201" and (array == 201).sum() == 1440


def test_split_components_gives_each_island_its_own_label() -> None:
    array = np.zeros((10, 10, 10), np.uint8)
    array[1:4, 1:4, 1:4] = 3
    array[6:9, 6:9, 6:9] = 3
    array[5, 0, 0] = 3
    edit = split_components(array, {3: "lesion_3"}, 3)
    assert sorted(np.unique(array).tolist()) == [0, 3, 4, 5]
    assert (array == 3).sum() == 27 and {(array == 4).sum(), (array == 5).sum()} == {27, 1}
    assert set(edit.names_after) == {3, 4, 5}
    with pytest.raises(LabelEditError, match="one connected piece"):
        split_components(array, edit.names_after, 4 if (array == 4).sum() == 27 else 5)


def test_fill_holes_fills_cavities_not_tunnels() -> None:
    array = np.zeros((12, 12, 12), np.uint8)
    array[2:10, 2:10, 2:10] = 32
    array[4:6, 4:6, 4:6] = 0  # closed cavity
    array[2:10, 7, 7] = 0  # a canal running through: not a hole
    array[5, 5, 5] = 7  # another label inside the cavity is kept
    edit = fill_holes(array, {32: "vertebrae_T12"}, 32)
    assert edit.voxels.count == 7 and array[4, 4, 4] == 32 and array[5, 5, 5] == 7
    assert (array[2:10, 7, 7] == 0).all()
    fill_holes(array, {32: "vertebrae_T12"}, 32, overwrite=True)
    assert array[5, 5, 5] == 32


# ----------------------------------------------------------------- history
def test_undo_and_redo_across_edits_and_maps_restore_arrays_exactly(spine) -> None:
    vertebrae, names = spine
    lesions = np.zeros_like(vertebrae)
    lesions[14:18, 6:9, 6:9] = 1
    lesions[20:22, 6:9, 6:9] = 2
    arrays = {"vertebrae": vertebrae, "lesions": lesions}
    snapshots = [{k: v.copy() for k, v in arrays.items()}]
    history = EditHistory()
    current = dict(names)

    def record(edit: LabelEdit) -> None:
        nonlocal current
        if edit.target == "vertebrae":
            current = dict(edit.names_after)
        assert history.push(edit)
        snapshots.append({k: v.copy() for k, v in arrays.items()})

    record(split_at_narrowest(vertebrae, current, T12, target="vertebrae"))
    record(merge_labels(lesions, {1: "lesion_1", 2: "lesion_2"}, 1, 2, target="lesions"))
    record(relabel_vertebra(vertebrae, current, L1, "L2", target="vertebrae"))
    record(shift_all_levels(vertebrae, current, +1, target="vertebrae"))
    # a paint stroke of two overlapping dabs, as napari reports them
    before = vertebrae.copy()
    flat = np.ravel_multi_index(([20, 20, 21], [5, 6, 6], [5, 6, 6]), vertebrae.shape)
    stroke = VoxelChange.from_parts(vertebrae.shape, vertebrae.dtype, [
        (flat[:2], before.ravel()[flat[:2]], 9), (flat[1:], [9, before.ravel()[flat[2]]], 9)])
    stroke.apply(vertebrae)
    assert stroke.count == 3 and vertebrae[21, 6, 6] == 9
    assert stroke.values(old=True)[1] == before[20, 6, 6] != 9  # the first old value, not the dab's 9
    record(LabelEdit("vertebrae", "paint", stroke, current, current, "paint"))

    undone = []
    while history.can_undo:
        undone.append(history.undo(arrays))
        expected = snapshots[len(snapshots) - 1 - len(undone)]
        for key in arrays:
            assert np.array_equal(arrays[key], expected[key]), (key, len(undone))
    assert len(undone) == 5 and undone[-1].names_before == names and history.can_redo
    assert [e.kind for e in undone] == ["paint", "shift", "relabel", "merge", "split"]
    redone = 0
    while history.can_redo:
        history.redo(arrays)
        redone += 1
        for key in arrays:
            assert np.array_equal(arrays[key], snapshots[redone][key]), (key, redone)
    assert redone == 5


def test_paint_stroke_parts_keep_first_old_and_last_new_value() -> None:
    array = np.zeros((4, 4, 4), np.uint8)
    array[1, 1, 1] = 5
    original = array.copy()
    index = np.ravel_multi_index((1, 1, 1), array.shape)
    # dab 1 paints 3 over 5; dab 2 paints 4 over that 3 and over a background voxel
    change = VoxelChange.from_parts(array.shape, array.dtype, [([index], [5], 3), ([index, index + 1], [3, 0], 4)])
    change.apply(array)
    assert array[1, 1, 1] == 4 and array[1, 1, 2] == 4 and change.count == 2
    change.apply(array, undo=True)
    assert np.array_equal(array, original)


def test_a_new_edit_clears_redo_and_noops_are_not_recorded(spine) -> None:
    array, names = spine
    history = EditHistory()
    history.push(relabel_vertebra(array, names, T11, "T10", target="v"))
    history.undo({"v": array})
    assert history.can_redo
    edit = fill_holes(array, names, T11, target="v")  # solid block: nothing to fill
    assert not history.push(edit) and history.can_redo
    history.push(merge_labels(array, names, T12, T11, target="v"))
    assert not history.can_redo and len(history) == 1


def test_undo_needs_the_right_map(spine) -> None:
    array, names = spine
    history = EditHistory()
    history.push(relabel_vertebra(array, names, T11, "T10", target="vertebrae"))
    with pytest.raises(LabelEditError, match="no longer open"):
        history.undo({"other": array})
    with pytest.raises(LabelEditError, match="shape"):
        history.undo({"vertebrae": array[1:]})
    assert history.can_undo  # a failed undo keeps the record
    assert history.undo({"vertebrae": array}) is not None and (array == T11).any()


def test_records_hold_only_the_changed_voxels() -> None:
    array = np.zeros((100, 100, 100), np.uint8)
    array[10:90, 10:90, 10:90] = 40
    edit = relabel_vertebra(array, {40: "vertebrae_T4"}, 40, "T5")
    # 512 000 voxels changed, all one value before and after: a packed mask of the box, 64 kB
    assert edit.voxels.packed and edit.voxels.nbytes <= 80**3 // 8 + 16
    sparse = np.zeros_like(array)
    sparse[0, 0, 0] = sparse[99, 99, 99] = 7
    change = VoxelChange.between(array, array | sparse)
    assert not change.packed and change.nbytes < 64  # two indices, not a 1 MB box


def test_memory_cap_forgets_the_oldest_edits() -> None:
    array = np.zeros((40, 40, 40), np.uint16)
    history = EditHistory(max_bytes=20_000)
    rng = np.random.default_rng(0)
    originals = []
    for step in range(12):
        before = array.copy()
        noisy = rng.random(array.shape) < 0.02  # scattered voxels: stored as indices + values
        after = before.copy()
        after[noisy] = rng.integers(1, 60000, int(noisy.sum()))
        change = VoxelChange.between(before, after)
        change.apply(array)
        history.push(LabelEdit("m", f"step {step}", change, {}, {}, "paint"))
        originals.append(before)
    assert history.dropped > 0 and history.nbytes <= 20_000 and len(history) == 12 - history.dropped
    while history.can_undo:
        history.undo({"m": array})
    assert np.array_equal(array, originals[history.dropped])  # back to before the oldest edit kept
