"""The rib anchor (last rib-bearing vertebra = T12) and its check against the sacrum's count.

Network-free: the vertebra instances are the synthetic (or TotalSegmentator) ground truth,
carried to the network's 2 mm working grid exactly as ``segment_vertebrae`` carries the CT.
Eleven and thirteen rib pairs are drawn by changing which levels the generator gives ribs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from napari_spine_mets.anatomy import LEVELS, TOTALSEG_SACRUM, label_of_level, level_of_label
from napari_spine_mets.errors import GridMismatchError
from napari_spine_mets.segmentation.labelling import COUNT_FLAG, Instances, name_levels
from napari_spine_mets.segmentation.localise import locate_spine
from napari_spine_mets.segmentation.resampling import normalise_ct, resample_image, resample_labels, working_shape
from napari_spine_mets.segmentation.rib_anchor import RibAnchor, RibEvidence, find_rib_anchor
from napari_spine_mets.segmentation.training_data import random_params
from napari_spine_mets.synthetic import SpineParams, generate_spine_ct
from napari_spine_mets.synthetic import ribs_pelvis


@dataclass
class Working:
    """What ``segment_vertebrae`` has when it names levels: HU, instances and levels on the 2 mm grid."""

    hu: np.ndarray
    instances: Instances
    spacing: tuple[float, float, float]
    levels: list[str]  # truth, instance 1 first


def _working(array: np.ndarray, spacing: tuple[float, float, float], vertebrae: np.ndarray) -> Working:
    box = locate_spine(array, spacing)
    crop = array[box.slices()]
    shape = working_shape(crop.shape, spacing, 2.0)
    hu = normalise_ct(resample_image(crop, shape)).numpy() * 1000.0  # what the network sees, back in HU
    work_spacing = tuple(float(c) * s / w for c, s, w in zip(crop.shape, spacing, shape))
    truth = resample_labels(vertebrae[box.slices()], shape)
    levels = sorted({lv for lv in map(level_of_label, np.unique(truth)) if lv}, key=LEVELS.index)
    labels = np.zeros(shape, np.int16)
    for instance_id, level in enumerate(levels, start=1):  # id 1 = most cranial, as find_instances orders
        labels[truth == label_of_level(level)] = instance_id
    instances = Instances(labels=labels, count=len(levels), sacrum=truth == TOTALSEG_SACRUM)
    return Working(hu, instances, work_spacing, levels)  # type: ignore[arg-type]


def _synthetic(params: SpineParams) -> Working:
    case = generate_spine_ct(params)
    return _working(case.ct.array, case.ct.spacing, case.vertebrae.array)


def _small(levels: tuple[str, ...], seed: int = 3) -> SpineParams:
    return SpineParams(seed=seed, levels=levels, spacing_mm=(2.5, 1.0, 1.0), fov_mm=240.0, lesions=(), fracture=None)


def _ribs(w: Working) -> RibAnchor:
    return find_rib_anchor(w.hu, w.instances.labels, w.spacing, sacrum=w.instances.sacrum)


def _named(levels: dict[int, str | None]) -> list[str | None]:
    return [levels[i] for i in sorted(levels)]


@pytest.fixture(scope="module")
def eleven_pairs() -> Working:
    """T10-S1 drawn with no rib on T12: eleven rib pairs (the generator draws T8-T12 ribs)."""
    mp = pytest.MonkeyPatch()
    mp.setattr(ribs_pelvis, "_RIBS", {k: v for k, v in ribs_pelvis._RIBS.items() if k != "T12"})
    try:
        return _synthetic(_small(("T10", "T11", "T12", "L1", "L2", "L3", "L4", "L5", "S1")))
    finally:
        mp.undo()


@pytest.mark.parametrize("seed", [6, 24])  # random training-style cases without the sacrum: T10-L4, T9-L2
def test_the_last_rib_bearing_vertebra_names_a_case_without_sacrum(seed: int) -> None:
    params = random_params(seed)
    assert "S1" not in params.levels and "T12" in params.levels and "L1" in params.levels
    w = _synthetic(params)
    ribs = _ribs(w)
    t12 = w.levels.index("T12") + 1
    assert ribs.anchor_id == t12 and ribs.confident and ribs.certainty > 0.8
    for v in ribs.vertebrae:
        thoracic = w.levels[v.instance_id - 1].startswith("T")
        assert (v.has_left and v.has_right) == thoracic, (w.levels[v.instance_id - 1], v)
        assert v.ribless == (not thoracic)
    naming = name_levels(w.instances, w.spacing, ribs=ribs)
    assert _named(naming.levels) == w.levels
    assert naming.confident and not naming.notes
    assert naming.anchor == "last rib-bearing vertebra is T12 (ribs seen on left and right; rib-less vertebra below)"
    # without the rib anchor the same case stays unnamed, as before
    assert all(level is None for level in name_levels(w.instances, w.spacing).levels.values())


@pytest.mark.parametrize("levels", [("T9", "T10", "T11", "T12"), ("T4", "T5", "T6")])
def test_no_level_is_suggested_when_the_lowest_vertebra_in_view_bears_ribs(levels: tuple[str, ...]) -> None:
    # T9-T12 ends at T12 by chance; T4-T6 (a chest CT's usual view) was named T10-T12 before
    w = _synthetic(_small(levels))
    ribs = _ribs(w)
    assert ribs.anchor_id == len(levels) and not ribs.confident and ribs.certainty == 0.0
    assert "no vertebra below in view" in ribs.describe()
    naming = name_levels(w.instances, w.spacing, ribs=ribs)
    assert all(level is None for level in naming.levels.values()) and not naming.confident
    assert any("may lie below the field of view" in note for note in naming.notes)


def test_the_upper_ribs_are_found_where_the_sternum_joins_them_into_one_plate(monkeypatch) -> None:
    # a cervicothoracic view: ribs 1-7 run round to the sternum inside the network's box
    w = _synthetic(_small(("C7", "T1", "T2", "T3", "T4", "T5")))
    ribs = _ribs(w)
    bearing = {w.levels[v.instance_id - 1]: v for v in ribs.vertebrae}
    assert bearing["C7"].ribless
    for level in ("T2", "T3", "T4", "T5"):
        assert bearing[level].has_left and bearing[level].has_right, (level, bearing[level])
    # T1's rib is too short sideways for the lateral-run rule: weak evidence, neither yes nor no
    assert 0.0 < bearing["T1"].evidence < 0.5
    # with the front of the cage kept, ribs 1-2 and the sternum are one plate, not ribs
    monkeypatch.setattr("napari_spine_mets.segmentation.rib_anchor.FRONT_CUT_MM", 1e9)
    uncut = {w.levels[v.instance_id - 1]: v for v in _ribs(w).vertebrae}
    assert not uncut["T2"].has_ribs


def test_a_lumbar_only_view_has_no_rib_anchor() -> None:
    w = _synthetic(_small(("L2", "L3", "L4", "L5")))
    ribs = _ribs(w)
    assert ribs.anchor_id is None and all(v.ribless for v in ribs.vertebrae)  # long L3 processes are not ribs
    naming = name_levels(w.instances, w.spacing, ribs=ribs)
    assert naming.anchor == "none" and not naming.confident
    assert all(level is None for level in naming.levels.values())


def test_eleven_rib_pairs_disagree_with_the_sacrum_and_are_flagged(eleven_pairs: Working) -> None:
    w = eleven_pairs
    ribs = _ribs(w)
    assert ribs.anchor_id == w.levels.index("T11") + 1  # the detector sees what is drawn
    naming = name_levels(w.instances, w.spacing, ribs=ribs)
    assert _named(naming.levels) == w.levels  # the sacrum's count is kept ...
    assert not naming.confident  # ... but not trusted
    assert any(COUNT_FLAG in note and "is T11, not T12" in note for note in naming.notes)


def test_eleven_rib_pairs_without_sacrum_shift_by_one_and_say_which_vertebra(eleven_pairs: Working) -> None:
    """With ribs as the only anchor the count is off by one; the anchor text names the vertebra used."""
    w = eleven_pairs
    keep = [i for i, level in enumerate(w.levels, start=1) if level != "S1"]
    labels = np.where(np.isin(w.instances.labels, keep), w.instances.labels, 0).astype(np.int16)
    no_sacrum = Instances(labels=labels, count=len(keep), sacrum=np.zeros_like(w.instances.sacrum))
    ribs = find_rib_anchor(w.hu, labels, w.spacing)
    naming = name_levels(no_sacrum, w.spacing, ribs=ribs)
    truth = w.levels[: len(keep)]
    assert _named(naming.levels) == [LEVELS[LEVELS.index(lv) + 1] for lv in truth]  # one level, not a scramble
    assert naming.anchor.startswith("last rib-bearing vertebra is T12")


def test_thirteen_rib_pairs_are_flagged() -> None:
    mp = pytest.MonkeyPatch()
    mp.setitem(ribs_pelvis._RIBS, "L1", (70, 24, 3.0))  # a lumbar rib pair
    try:
        w = _synthetic(_small(("T11", "T12", "L1", "L2", "L3", "L4", "L5", "S1"), seed=5))
    finally:
        mp.undo()
    ribs = _ribs(w)
    assert ribs.anchor_id == w.levels.index("L1") + 1
    naming = name_levels(w.instances, w.spacing, ribs=ribs)
    assert not naming.confident and any(COUNT_FLAG in note and "is L1, not T12" in note for note in naming.notes)


def _hand_made(n: int, bearing: int, anchor: int | None, confident: bool = True) -> RibAnchor:
    vertebrae = [RibEvidence(i, 1.0 if i <= bearing else 0.0, 1.0 if i <= bearing else 0.0) for i in range(1, n + 1)]
    return RibAnchor(vertebrae, anchor, confident, 1.0 if confident else 0.0, "ribs seen on left and right; rib-less vertebra below")


@pytest.fixture(scope="module")
def lower_column() -> Working:
    return _synthetic(_small(("T11", "T12", "L1", "L2", "L3", "L4", "L5", "S1")))


@pytest.mark.parametrize("last, counted", [(2, None), (1, "T11"), (3, "L1")])
def test_both_anchors_must_agree(lower_column: Working, last: int, counted: str | None) -> None:
    w = lower_column
    assert w.levels[:2] == ["T11", "T12"] and w.instances.sacrum.any()
    naming = name_levels(w.instances, w.spacing, ribs=_hand_made(w.instances.count, last, last))
    assert _named(naming.levels) == w.levels  # the sacrum's count, whatever the ribs say
    if counted is None:
        assert naming.confident and not naming.notes
        assert "sacrum" in naming.anchor and "last rib-bearing vertebra is T12" in naming.anchor and "agree" in naming.anchor
    else:
        assert not naming.confident
        assert any(COUNT_FLAG in note and f"is {counted}, not T12" in note for note in naming.notes)


def test_no_ribs_on_the_counted_t12_is_flagged(lower_column: Working) -> None:
    w = lower_column
    n = w.instances.count
    naming = name_levels(w.instances, w.spacing, ribs=_hand_made(n, 0, None, confident=False))
    assert not naming.confident and any("counted from S1 as T12" in note for note in naming.notes)
    # with T12 at the top of the view its ribs may be cut off: no flag then
    labels = np.where(w.instances.labels > 1, w.instances.labels - 1, 0).astype(np.int16)
    top_t12 = Instances(labels=labels, count=n - 1, sacrum=w.instances.sacrum)
    assert name_levels(top_t12, w.spacing, ribs=_hand_made(n - 1, 0, None, confident=False)).confident


def test_a_grid_mismatch_is_refused() -> None:
    with pytest.raises(GridMismatchError):
        find_rib_anchor(np.zeros((4, 5, 6)), np.zeros((4, 5, 7), np.int16), (2.0, 2.0, 2.0))
    empty = find_rib_anchor(np.zeros((4, 5, 6)), np.zeros((4, 5, 6), np.int16), (2.0, 2.0, 2.0))
    assert empty.anchor_id is None and not empty.confident


def test_real_series_t12_rib_heads_leave_the_view_and_nothing_is_called_sure(real_ct_series, real_ct_reference_labels) -> None:
    """20 slices: T12 and the bottom of T11; the 12th ribs show only their heads before leaving the view."""
    from napari_spine_mets.io.dicom import read_dicom_series
    from napari_spine_mets.io.totalsegmentator import read_totalsegmentator

    ct = read_dicom_series(real_ct_series)
    reference = read_totalsegmentator(real_ct_reference_labels, target=ct).array
    vertebrae = np.where(np.isin(reference, (32, 33)), reference, 0)  # TotalSegmentator T12, T11
    w = _working(ct.array, ct.spacing, vertebrae)
    assert w.levels == ["T11", "T12"]
    ribs = _ribs(w)
    t12 = ribs.evidence_of(2)
    assert t12 is not None and (t12.has_ribs or all(t12.cut_by_view))
    assert not ribs.confident
    naming = name_levels(w.instances, w.spacing, ribs=ribs)
    assert not naming.confident
    assert all(level in (None, "T11", "T12") for level in naming.levels.values())


@pytest.fixture(scope="module")
def cervicothoracic() -> Working:
    """C5-T3: no dens, no sacrum, no last rib in view; only the first rib can anchor the count."""
    return _synthetic(_small(("C5", "C6", "C7", "T1", "T2", "T3")))


def test_the_first_rib_bearing_vertebra_names_a_cervicothoracic_view(cervicothoracic: Working) -> None:
    w = cervicothoracic
    ribs = _ribs(w)
    t1 = w.levels.index("T1") + 1
    # T1's rib barely passes a transverse process sideways; it is told by running forward
    assert not ribs.evidence_of(t1).has_ribs and min(ribs.evidence_of(t1).forward) > 0.75
    assert all(ribs.evidence_of(w.levels.index(lv) + 1).ribless_either_way for lv in ("C5", "C6", "C7"))
    assert ribs.first_rib.instance_id == t1 and ribs.first_rib.confident
    naming = name_levels(w.instances, w.spacing, ribs=ribs)
    assert _named(naming.levels) == w.levels and naming.confident and not naming.notes
    assert naming.anchor.startswith("first rib-bearing vertebra is T1")
    # the ribs' T12 anchor is not in view (every vertebra down to the lowest bears ribs): unchanged
    assert ribs.anchor_id == len(w.levels) and not ribs.confident


def _right_side_given_to_the_one_below(w: Working, instance_id: int) -> Working:
    """``w`` with the instance's voxels more than 15 mm to the patient's right of the column
    (its right transverse process) labelled as the vertebra below: the rib on that side then
    touches the vertebra below most."""
    labels = w.instances.labels.copy()
    x = np.arange(labels.shape[2])
    patient_right = (float(np.median(np.nonzero(labels)[2])) - x) * w.spacing[2] > 15.0  # x runs to the left
    labels[(labels == instance_id) & patient_right[None, None, :]] = instance_id + 1
    return Working(w.hu, Instances(labels=labels, count=w.instances.count, sacrum=w.instances.sacrum), w.spacing,
                   w.levels)


def test_a_first_rib_nearer_the_vertebra_below_on_one_side_goes_back_to_t1(cervicothoracic: Working) -> None:
    # on a tilted junction T1's right transverse process can end up in T2's instance: the right
    # first rib then touches T2 most, T2 holds two ribs on the right and T1 one rib, on the left
    w = cervicothoracic
    t1 = w.levels.index("T1") + 1
    moved = _right_side_given_to_the_one_below(w, t1)
    ribs = _ribs(moved)
    # the right first rib is measured from T1 again, beside its mirror on the left
    assert min(ribs.evidence_of(t1).forward) > 0.75, ribs.evidence_of(t1)
    assert ribs.evidence_of(t1 + 1).rib_on_both_sides  # T2 keeps its own ribs
    assert ribs.first_rib.instance_id == t1
    assert _named(name_levels(moved.instances, moved.spacing, ribs=ribs).levels) == w.levels


def test_a_rib_reaching_up_from_below_the_view_is_not_taken_for_the_first_rib() -> None:
    # C4-C7 drawn: T1 is below the view but its rib crosses the bottom edge beside C7
    w = _synthetic(_small(("C4", "C5", "C6", "C7")))
    ribs = _ribs(w)
    assert ribs.evidence_of(4).rib_on_either_side  # what reaches up from T1
    assert ribs.first_rib.instance_id is None and any("not taken for T1" in note for note in ribs.first_rib.notes)
    naming = name_levels(w.instances, w.spacing, ribs=ribs)
    assert all(level is None for level in naming.levels.values()) and not naming.confident
    assert any("not taken for T1" in note for note in naming.notes)


def _first_rib_evidence(values: list[float]) -> list[RibEvidence]:
    """Instances 1..n, each with ``value`` as its forward-run rib evidence on both sides."""
    return [RibEvidence(i, 0.0, 0.0, forward=(v, v)) for i, v in enumerate(values, start=1)]


@pytest.mark.parametrize("values, first, sure, noted", [
    ([0.0, 0.0, 0.9, 1.0, 1.0], 3, True, False),
    # faint on the one above the clear ribs: C7 with T1's rib, or a cervical rib
    ([0.0, 0.0, 0.55, 0.9, 1.0], None, False, True),
    ([0.0, 0.0, 0.9], None, False, True),  # nothing below it bears ribs: a rib from below the view?
    ([0.9, 1.0, 1.0], None, False, False),  # nothing above it in view: the first rib may be above the view
    # one rib-less vertebra above: a thoracic view whose top vertebra's ribs were missed?
    ([0.0, 0.9, 1.0, 1.0], None, False, False),
    ([0.0, 0.0, 0.3, 0.9, 1.0], None, False, True),  # the one above is not clearly rib-less
])
def test_the_first_rib_is_taken_for_t1_only_below_two_ribless_vertebrae_and_above_a_rib_bearing_one(
        values: list[float], first: int | None, sure: bool, noted: bool) -> None:
    from napari_spine_mets.segmentation.rib_anchor import _first_rib

    found = _first_rib(_first_rib_evidence(values))
    assert found.instance_id == first and found.confident == sure and bool(found.notes) == noted


def test_a_sure_first_rib_that_disagrees_with_the_dens_is_flagged() -> None:
    from napari_spine_mets.segmentation.rib_anchor import _first_rib

    n = 10  # C1 ... T3 by the dens; the "first rib" on instance 7 (C7 by the dens count)
    labels = np.zeros((n * 4, 6, 6), np.int16)
    for i in range(1, n + 1):
        labels[(n - i) * 4:(n - i + 1) * 4] = i  # id 1 most cranial = highest z
    instances = Instances(labels=labels, count=n, sacrum=np.zeros(labels.shape, bool), axis_id=2, atlas_id=1,
                          atlas_top_mm=80.0)
    evidence = _first_rib_evidence([0.0] * 6 + [0.9, 1.0, 1.0, 1.0])
    ribs = RibAnchor(evidence, None, False, 0.0, "", first_rib=_first_rib(evidence))
    assert ribs.first_rib.instance_id == 7 and ribs.first_rib.confident
    naming = name_levels(instances, (2.0, 2.0, 2.0), ribs=ribs)
    assert naming.levels[2] == "C2" and not naming.confident  # the dens's count stays, called unsure
    assert any("first rib-bearing vertebra is C7, not T1" in note and COUNT_FLAG in note for note in naming.notes)
    evidence = _first_rib_evidence([0.0] * 7 + [0.9, 1.0, 1.0])  # the first rib on instance 8: T1 by the dens count
    ribs = RibAnchor(evidence, None, False, 0.0, "", first_rib=_first_rib(evidence))
    agreed = name_levels(instances, (2.0, 2.0, 2.0), ribs=ribs)
    assert agreed.confident and "first rib-bearing vertebra is T1" in agreed.anchor and "agree" in agreed.anchor


def test_a_twelfth_rib_nearer_the_vertebra_below_on_one_side_goes_back_to_t12(lower_column: Working) -> None:
    # a twelfth rib sloping down can touch L1 more than T12 (fresh case 609005): L1 then holds
    # one rib, on the right, and T12 one, on the left, and no vertebra bore ribs on both sides
    # with a rib-less one below
    w = lower_column
    t12 = w.levels.index("T12") + 1
    moved = _right_side_given_to_the_one_below(w, t12)
    ribs = _ribs(moved)
    # the right twelfth rib is measured from T12 again, beside its mirror on the left
    assert ribs.evidence_of(t12).rib_on_both_sides, ribs.evidence_of(t12)
    assert ribs.evidence_of(t12 + 1).ribless
    assert ribs.anchor_id == t12 and ribs.confident
    assert _named(name_levels(moved.instances, moved.spacing, ribs=ribs).levels) == w.levels


def _lateral_evidence(values: list[float]) -> list[RibEvidence]:
    """Instances 1..n, each with ``value`` as its lateral rib evidence on both sides."""
    return [RibEvidence(i, v, v) for i, v in enumerate(values, start=1)]


@pytest.mark.parametrize("values, cleared, ribless_run", [
    ([1.0] * 3 + [0.0] * 5 + [0.7], [9], 5),  # thorax, five lumbar, S1 beside the iliac wings
    ([1.0] * 3 + [0.0] * 3 + [0.7, 0.6], [7, 8], 3),
    ([1.0] * 3 + [0.0] * 2 + [0.7], [], 0),  # two rib-less between: a gap in the thorax, flagged elsewhere
    ([0.0] * 4 + [0.9], [], 0),  # nothing rib-bearing above: a cervical view's T1, or nothing to anchor
    ([1.0] * 3 + [0.0, 0.3, 0.0, 0.0] + [0.7], [], 0),  # a run broken by unclear evidence
    ([1.0] * 3 + [0.0] * 5, [], 0),  # the lowest bears no ribs: nothing to clear
])
def test_bone_beside_the_lowest_vertebrae_below_a_lumbar_run_is_not_ribs(values: list[float], cleared: list[int],
                                                                         ribless_run: int) -> None:
    from napari_spine_mets.segmentation.rib_anchor import _pelvis_not_ribs

    kept, found, run = _pelvis_not_ribs(_lateral_evidence(values))
    assert found == cleared and run == ribless_run
    assert [v.instance_id for v in kept if v.has_ribs] == [i for i, v in enumerate(values, start=1)
                                                          if v >= 0.5 and i not in cleared]


def test_a_view_ending_at_s1_with_the_sacrum_cut_off_is_named_from_t12() -> None:
    # fresh T3-S1 case 641001 ends 20 mm below S1's top endplate: 3.5 cm³ of sacrum is in view,
    # too little to anchor on, and the iliac wings beside S1 scored as S1's ribs, so that no
    # vertebra was rib-bearing with a rib-less one below and every level was left unnamed
    from napari_spine_mets.synthetic.params import THORACOLUMBAR_LEVELS

    w = _synthetic(random_params(641001, THORACOLUMBAR_LEVELS))
    assert w.levels[0] == "T3" and w.levels[-1] == "S1" and w.levels.count("S1") == 1
    ribs = _ribs(w)
    t12 = w.levels.index("T12") + 1
    assert ribs.anchor_id == t12 and ribs.confident
    assert f"the bone beside vertebra {len(w.levels)}, below 5 rib-less ones, taken for the pelvis" in ribs.describe()
    naming = name_levels(w.instances, w.spacing, ribs=ribs)
    assert _named(naming.levels) == w.levels and naming.confident and not naming.notes


def test_no_level_is_suggested_when_the_lowest_vertebras_rib_like_bone_runs_out_of_the_view() -> None:
    # fresh T9-T12 case 662001 ends inside T12: its twelfth ribs slope down out of the view,
    # scoring 0.44 / 0.45, and T11 (the last clearly rib-bearing one) was offered as T12
    w = _synthetic(random_params(662001))
    assert w.levels == ["T9", "T10", "T11", "T12"]
    ribs = _ribs(w)
    lowest = ribs.evidence_of(4)
    assert lowest is not None and any(lowest.cut_by_view) and not lowest.ribless and not lowest.has_ribs
    assert ribs.anchor_id is None and not ribs.confident
    naming = name_levels(w.instances, w.spacing, ribs=ribs)
    assert all(level is None for level in naming.levels.values()) and not naming.confident
    assert any("runs out of the field of view: it may be a twelfth rib" in note for note in naming.notes)
