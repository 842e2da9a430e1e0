"""Lesion detection on synthetic cases with known lesions of each kind and site, and a fracture;
the mixed-lesion evidence, the coarse scale for faint deposits, and the screening of normal bone."""

from __future__ import annotations

import numpy as np
import pytest

from napari_spine_mets.anatomy import TOTALSEG_VERTEBRA_IDS
from napari_spine_mets.detection.bone_grid import prepare_bone_grid
from napari_spine_mets.detection.candidates import Candidate, CandidateParams, find_candidates
from napari_spine_mets.detection.classify import classify_candidate
from napari_spine_mets.detection.inputs import check_inputs
from napari_spine_mets.detection.normal_bone import estimate_normal_bone
from napari_spine_mets.detection.pipeline import detect_lesions
from napari_spine_mets.detection.regions import vertebra_regions
from napari_spine_mets.detection.screen import screen_candidate
from napari_spine_mets.synthetic import FractureSpec, LesionSpec, SpineParams, generate_spine_ct
from napari_spine_mets.volume import LabelMap, Volume, VolumeMetadata

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


def test_mixed_lesion_shows_both_parts_with_their_hu(body_case) -> None:
    case, report = body_case
    matched = _match(case, report)
    truth = next(t for t in case.lesion_truth if t.kind == "mixed")
    rec = matched[truth.id]
    ev = rec.evidence
    assert rec.lesion.kind.value == "mixed", ev.rule
    ref = ev.reference_hu
    # a lytic part: bone replaced by soft tissue, well below this patient's trabecular bone
    assert ev.lytic_parts.n_parts >= 1 and ev.lytic_parts.mean_hu < ref - 60
    # a sclerotic part: far above it
    assert ev.sclerotic_parts.n_parts >= 1 and ev.sclerotic_parts.mean_hu > ref + 300
    volume = rec.lesion.volume_mm3
    assert ev.lytic_parts.volume_mm3 >= 0.1 * volume and ev.sclerotic_parts.volume_mm3 >= 0.1 * volume
    assert ev.lytic_parts.largest_mm3 <= ev.lytic_parts.volume_mm3
    data = rec.to_json()["kind_evidence"]
    assert data["lytic_parts"]["n_parts"] == ev.lytic_parts.n_parts and "sclerotic parts" in data["rule"]


@pytest.mark.parametrize("seed", [41, 42])
def test_mixed_lesions_in_thin_bone_are_typed_mixed_and_whole(seed: int) -> None:
    """Pedicle and posterior-arch mixed deposits: both halves joined into one lesion, typed mixed."""
    case = _case((LesionSpec("L2", "mixed", 7.0, "pedicle_right"), LesionSpec("L4", "mixed", 7.0, "posterior")),
                 seed=seed)
    report = detect_lesions(case.ct, case.vertebrae)
    matched = _match(case, report)
    for truth in case.lesion_truth:
        rec = matched.get(truth.id)
        assert rec is not None, f"missed {truth}"
        assert rec.lesion.kind.value == "mixed", rec.evidence.rule
        assert rec.evidence.lytic_fraction > 0.1 and rec.evidence.blastic_fraction > 0.1
        found = report.labels.array == rec.lesion.id
        inside = case.lesions.array == truth.id
        assert (found & inside).sum() > 0.5 * inside.sum(), "the lesion's lytic and sclerotic halves are both in it"
    assert len(report.lesions) == len(case.lesion_truth)


def _block_case(pattern: str) -> tuple:
    """A 40 x 40 x 40 mm block of one vertebra's bone (150 HU +- noise) holding an 8 mm cube lesion."""
    rng = np.random.default_rng(3)
    hu = (150.0 + 25.0 * rng.standard_normal((40, 40, 40))).astype(np.float32)
    label = TOTALSEG_VERTEBRA_IDS["L1"]
    labels = np.zeros(hu.shape, np.uint8)
    labels[2:-2, 2:-2, 2:-2] = label
    inner = (slice(16, 24),) * 3
    if pattern == "mixed":  # 2-voxel blocks alternating lytic and sclerotic
        z, y, x = np.indices((8, 8, 8)) // 2
        hu[inner] = np.where((z + y + x) % 2 == 0, 35.0, 820.0)
    else:
        hu[inner] = 35.0 if pattern == "lytic" else 820.0
    padded = np.full((44, 44, 44), -100.0, np.float32)
    padded[2:-2, 2:-2, 2:-2] = hu
    lab = np.zeros(padded.shape, np.uint8)
    lab[2:-2, 2:-2, 2:-2] = labels
    affine = np.eye(4)
    volume = Volume(padded.astype(np.int16), affine, VolumeMetadata(modality="CT"), name="block")
    vertebrae = LabelMap(lab, affine, {label: "vertebrae_L1"}, name="vertebrae")
    grid = prepare_bone_grid(volume, vertebrae, [label])
    mask = np.zeros(grid.labels.shape, bool)
    offset = [s.start for s in grid.box]
    mask[tuple(slice(18 - o, 26 - o) for o in offset)] = True
    box = tuple(slice(*((int(i.min()), int(i.max()) + 1))) for i in np.nonzero(mask))
    cand = Candidate(index=1, label=label, mask_box=box, mask=mask[box], n_lytic_voxels=0, n_blastic_voxels=0,
                     peak_z=0.0, mean_abs_z=0.0)
    return grid, estimate_normal_bone(grid), cand


@pytest.mark.parametrize("pattern", ["lytic", "blastic", "mixed"])
def test_kind_comes_from_lytic_and_sclerotic_parts(pattern: str) -> None:
    grid, normal, cand = _block_case(pattern)
    ev = classify_candidate(cand, grid, normal)
    assert ev.kind.value == pattern, ev.rule
    if pattern != "blastic":
        assert ev.lytic_parts.volume_mm3 > 0 and ev.lytic_parts.mean_hu < ev.lytic_below_hu
    if pattern != "lytic":
        assert ev.sclerotic_parts.volume_mm3 > 0 and ev.sclerotic_parts.mean_hu > ev.blastic_above_hu
    if pattern == "mixed":  # checkerboard: half of each, in many parts
        assert 0.3 < ev.lytic_fraction < 0.7 and 0.3 < ev.blastic_fraction < 0.7
    else:  # the other sort is absent
        assert min(ev.lytic_fraction, ev.blastic_fraction) < 0.01


def test_faint_large_lytic_deposit_is_found_at_the_coarse_scale() -> None:
    """Old patient (pale bone, ~110 HU), noisy scan: the deposit is ~75 HU below the bone."""
    params = SpineParams(seed=61, levels=("T12", "L1", "L2", "L3"), include_sacrum=False, spacing_mm=(2.0, 0.8, 0.8),
                         fov_mm=220.0, ribs=False, lesions=(LesionSpec("T12", "lytic", 7.0, "body"),), fracture=None,
                         noise_hu=24.0, age_years=85.0)
    case = generate_spine_ct(params)
    report = detect_lesions(case.ct, case.vertebrae)
    matched = _match(case, report)
    assert [r.lesion.kind.value for r in matched.values()] == ["lytic"]
    assert len(report.lesions) == 1
    fine_only = detect_lesions(case.ct, case.vertebrae, candidate_params=CandidateParams(coarse_min_depth_mm=float("inf")))
    assert _match(case, fine_only) == {}, "at the fine scale alone this deposit is missed"


def test_dense_normal_bone_of_thoracic_levels_is_not_proposed() -> None:
    """Healthy thoracic spine with ribs: the dense corners where pedicle and costal facets meet
    the body lie on the steep inner edge of the cortex. Within the seeds' depth tolerance they
    seed nothing; whatever departs all the same lies in the body's cortical band: not proposed."""
    case = generate_spine_ct(SpineParams(seed=51, levels=("T8", "T9", "T10", "T11", "T12"), include_sacrum=False,
                                         spacing_mm=(1.25, 0.8, 0.8), fov_mm=260.0, ribs=True, lesions=(),
                                         fracture=None, noise_hu=12.0))
    report = detect_lesions(case.ct, case.vertebrae)
    assert report.lesions == []
    for c in report.not_proposed:  # kept for review, with the reason
        assert "cortical band" in c.reason or "mirrored" in c.reason
        assert c.volume_mm3 >= CandidateParams().min_volume_mm3
    assert len(report.to_json()["not_proposed"]) == len(report.not_proposed)
    assert (report.labels.array == 0).all()


def test_screen_rules_on_shaped_candidates(body_case) -> None:
    case, _ = body_case
    grid = prepare_bone_grid(case.ct, case.vertebrae, check_inputs(case.ct, case.vertebrae, None))
    normal = estimate_normal_bone(grid)
    regions = vertebra_regions(grid, case.vertebrae)
    candidates, _, _ = find_candidates(grid, normal)
    for cand in candidates:  # the true lesions in the body are proposed
        assert screen_candidate(cand, grid, regions.get(cand.label)) is None
    label = TOTALSEG_VERTEBRA_IDS["L1"]
    body = regions[label].body
    box = tuple(slice(int(i.min()), int(i.max()) + 1) for i in np.nonzero(body))
    shell = body[box] & (grid.depth_mm[box] < 1.0)
    core = body[box] & (grid.depth_mm[box] >= 4.0)

    def cand(mask: np.ndarray, lytic: int, blastic: int, **kw) -> Candidate:
        return Candidate(index=1, label=label, mask_box=box, mask=mask, n_lytic_voxels=lytic, n_blastic_voxels=blastic,
                         peak_z=6.0, mean_abs_z=4.0, **kw)

    assert "cortical band" in screen_candidate(cand(shell, 0, int(shell.sum())), grid, regions[label])
    assert screen_candidate(cand(core, int(core.sum()), 0), grid, regions[label]) is None
    # dense, away from the midline, as dense as its mirror image: paired normal anatomy
    mirrored = cand(core, 0, int(core.sum()), mirror_overlap=0.0, asymmetry_p90_hu=20.0)
    assert "mirrored" in screen_candidate(mirrored, grid, regions[label])
    one_sided = cand(core, 0, int(core.sum()), mirror_overlap=0.0, asymmetry_p90_hu=400.0)
    assert screen_candidate(one_sided, grid, regions[label]) is None
    # a "lesion" covering most of its level's bone is the whole level departing: listed, not proposed
    own = grid.labels == label
    level_box = tuple(slice(int(i.min()), int(i.max()) + 1) for i in np.nonzero(own))
    whole = Candidate(index=2, label=label, mask_box=level_box, mask=own[level_box], n_lytic_voxels=int(own.sum()),
                      n_blastic_voxels=0, peak_z=6.0, mean_abs_z=4.0)
    assert "whole level" in screen_candidate(whole, grid, regions[label])


def test_label_crumbs_behind_a_body_do_not_change_its_heights() -> None:
    """A few stray body voxels behind the body (segmentation noise) once read as 89 % height loss."""
    from napari_spine_mets.detection.fracture import band_heights

    body = np.zeros((20, 60, 40), dtype=bool)
    body[2:16, 5:35, 8:32] = True  # 28 mm tall at 2 mm slices, 30 mm deep
    clean = band_heights(body, (2.0, 1.0, 1.0))
    crumbs = body.copy()
    crumbs[8, 50:52, 20] = True  # 2 voxels 15 mm behind the body
    noisy = band_heights(crumbs, (2.0, 1.0, 1.0))
    assert noisy == clean and clean["posterior"] == pytest.approx(28.0)
