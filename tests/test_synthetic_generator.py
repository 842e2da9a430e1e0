"""The synthetic spine CT: determinism, tissue HU, lesions, fracture, anatomy and orientation."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from napari_spine_mets.anatomy import TOTALSEG_SACRUM, TOTALSEG_SPINAL_CORD, TOTALSEG_VERTEBRA_IDS, VertebraPart
from napari_spine_mets.io import geometry
from napari_spine_mets.synthetic import (
    FractureSpec,
    LesionSpec,
    SpineParams,
    SyntheticCase,
    Tissue,
    genant_grade,
    generate_spine_ct,
    trabecular_hu_for_age,
)

SMALL = SpineParams(
    levels=("L3", "L4", "L5"), spacing_mm=(3.0, 1.2, 1.2), fov_mm=240.0,
    lesions=(LesionSpec("L4", "lytic", 7.0),), fracture=None,
)


@pytest.fixture(scope="module")
def case() -> SyntheticCase:
    return generate_spine_ct(SpineParams())


def _core(mask: np.ndarray) -> np.ndarray:
    from scipy import ndimage

    return ndimage.binary_erosion(mask, structure=np.ones((1, 5, 5), bool))


def test_same_seed_identical_other_seed_differs() -> None:
    a, b = generate_spine_ct(SMALL), generate_spine_ct(SMALL)
    for name in ("ct", "vertebrae", "parts", "lesions"):
        assert np.array_equal(getattr(a, name).array, getattr(b, name).array), name
    c = generate_spine_ct(replace(SMALL, seed=1))
    assert c.ct.shape == a.ct.shape
    assert not np.array_equal(a.ct.array, c.ct.array)


def test_default_case_content(case: SyntheticCase) -> None:
    kinds = {lesion.kind for lesion in case.lesion_truth}
    assert kinds == {"lytic", "blastic", "mixed"}
    assert case.fracture_truth is not None and case.fracture_truth.genant_grade >= 1
    assert case.ct.array.dtype == np.int16
    meta = case.ct.metadata
    assert (meta.modality, meta.kvp, meta.source) == ("CT", 120.0, "synthetic:seed=0")
    assert meta.identity.name == "SYNTHETIC^SPINE"
    assert geometry.same_grid(case.ct.shape, case.ct.affine, case.parts.array.shape, case.parts.affine)
    present = set(np.unique(case.vertebrae.array)) - {0}
    expected = {TOTALSEG_VERTEBRA_IDS[lv] for lv in SpineParams().levels} | {TOTALSEG_SACRUM, TOTALSEG_SPINAL_CORD}
    assert present == expected


def test_tissue_hu_through_labels(case: SyntheticCase) -> None:
    ct, tissue, parts = case.ct.array, case.tissues.array, case.parts.array
    healthy = case.lesions.array == 0

    def median(mask: np.ndarray) -> float:
        assert mask.sum() > 100
        return float(np.median(ct[mask]))

    trab = median(_core((tissue == Tissue.TRABECULAR) & (parts == VertebraPart.BODY)) & healthy)
    assert abs(trab - trabecular_hu_for_age(65)) < 30
    cortex = float(ct[(tissue == Tissue.CORTICAL) & (parts == VertebraPart.BODY) & healthy].mean())
    assert 700 <= cortex <= 1200
    assert 60 <= median(parts == VertebraPart.DISC) <= 110
    assert -5 <= median(parts == VertebraPart.CANAL) <= 25
    assert 20 <= median(parts == VertebraPart.CORD) <= 50
    assert 35 <= median(_core(tissue == Tissue.MUSCLE)) <= 65
    assert -120 <= median(_core(tissue == Tissue.FAT)) <= -80
    assert median(tissue == Tissue.AIR) < -950
    assert median(tissue == Tissue.BLOOD) > 150  # contrast-enhanced aorta


def test_age_lowers_trabecular_hu() -> None:
    def trab(age: float) -> float:
        c = generate_spine_ct(replace(SMALL, age_years=age, lesions=()))
        mask = _core((c.tissues.array == Tissue.TRABECULAR) & (c.parts.array == VertebraPart.BODY))
        return float(np.median(c.ct.array[mask]))

    young, old = trab(25), trab(80)
    assert young - old > 80
    assert 200 < young < 280 and 90 < old < 160


def test_lesions_match_kind_and_lie_inside_their_vertebra(case: SyntheticCase) -> None:
    assert [lesion.id for lesion in case.lesion_truth] == list(range(1, len(case.lesion_truth) + 1))
    for lesion in case.lesion_truth:
        mask = case.lesions.array == lesion.id
        assert mask.any()
        labels = np.unique(case.vertebrae.array[mask])
        assert labels.tolist() == [TOTALSEG_VERTEBRA_IDS[lesion.level]], lesion
        mean = float(case.ct.array[mask].mean())
        assert abs(mean - lesion.mean_hu) < 0.01
        if lesion.kind == "lytic":
            assert 10 <= mean <= 100, lesion
        elif lesion.kind == "blastic":
            assert 550 <= mean <= 1100, lesion
        else:
            assert 150 <= mean <= 650, lesion
        site_parts = np.bincount(case.parts.array[mask]).argmax()
        expected = {"body": VertebraPart.BODY, "pedicle_left": VertebraPart.PEDICLE_LEFT,
                    "pedicle_right": VertebraPart.PEDICLE_RIGHT, "posterior": VertebraPart.POSTERIOR_ELEMENTS}
        assert site_parts == expected[lesion.site], lesion


def _body_heights(case: SyntheticCase, level: str) -> tuple[float, float, float]:
    """Anterior, middle, posterior body height (mm) measured on the label map along the vertebra's axis."""
    vt = next(v for v in case.vertebra_truth if v.level == level)
    mask = (case.vertebrae.array == vt.label) & (case.parts.array == VertebraPart.BODY)
    idx = np.argwhere(mask)
    pts = geometry.world_from_index(case.ct.affine, idx) - np.array(vt.center_lps)
    u, v, x = pts @ np.array(vt.axis_lps), pts @ np.array(vt.posterior_lps), pts[:, 0]
    out = []
    for v0 in (-vt.depth_mm / 2 + 3.0, 0.0, vt.depth_mm / 2 - 3.0):
        band = (np.abs(v - v0) < 1.5) & (np.abs(x) < 4.0)
        out.append(float(u[band].max() - u[band].min()) + 1.0)
    return out[0], out[1], out[2]


def test_fracture_height_loss_and_grade(case: SyntheticCase) -> None:
    f = case.fracture_truth
    assert f is not None and f.level == "L1"
    ant, mid, post = _body_heights(case, "L1")
    neighbours = [_body_heights(case, lv) for lv in ("T12", "L2")]
    ant_ref = np.mean([n[0] for n in neighbours])
    post_ref = np.mean([n[2] for n in neighbours])
    loss = 1 - ant / ant_ref
    assert abs(loss - 0.35) < 0.1, (ant, ant_ref)
    assert post / post_ref > 0.85
    assert genant_grade(f.height_loss) == f.genant_grade == 2
    assert abs(f.anterior_height_mm - ant) < 3.0


def test_biconcave_fracture_lowers_middle_height() -> None:
    params = replace(SMALL, fracture=FractureSpec("L4", 0.45, "biconcave"), lesions=())
    c = generate_spine_ct(params)
    ant, mid, post = _body_heights(c, "L4")
    assert mid < 0.75 * ant
    assert c.fracture_truth is not None and c.fracture_truth.genant_grade == 3


def test_levels_cranio_caudal_and_sides(case: SyntheticCase) -> None:
    affine = case.ct.affine
    z_of = {}
    for level in SpineParams().levels:
        idx = np.argwhere(case.vertebrae.array == TOTALSEG_VERTEBRA_IDS[level]).mean(axis=0)
        z_of[level] = geometry.world_from_index(affine, idx)[2]
    zs = [z_of[lv] for lv in SpineParams().levels]
    assert all(a > b for a, b in zip(zs, zs[1:])), z_of  # T10 above T11 ... above S1
    sacrum = np.argwhere(case.vertebrae.array == TOTALSEG_SACRUM).mean(axis=0)
    assert geometry.world_from_index(affine, sacrum)[2] < z_of["S1"]
    cord = np.argwhere(case.vertebrae.array == TOTALSEG_SPINAL_CORD)
    assert geometry.world_from_index(affine, cord)[:, 2].min() > z_of["L2"]
    # Patient left is +x in LPS: the left pedicle and the aorta lie there.
    left = np.argwhere(case.parts.array == VertebraPart.PEDICLE_LEFT).mean(axis=0)
    right = np.argwhere(case.parts.array == VertebraPart.PEDICLE_RIGHT).mean(axis=0)
    assert geometry.world_from_index(affine, left)[0] > 5 > -5 > geometry.world_from_index(affine, right)[0]
    # The canal is posterior (+y) to the bodies.
    body = np.argwhere(case.parts.array == VertebraPart.BODY).mean(axis=0)
    canal = np.argwhere(case.parts.array == VertebraPart.CANAL).mean(axis=0)
    assert geometry.world_from_index(affine, canal)[1] > geometry.world_from_index(affine, body)[1] + 15


def test_params_validation() -> None:
    with pytest.raises(ValueError):
        SpineParams(levels=("L1", "L3"))
    with pytest.raises(ValueError):
        SpineParams(lesions=(LesionSpec("C2"),))
    with pytest.raises(ValueError):
        LesionSpec("L1", kind="cystic")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        FractureSpec("L1", 0.95)
    assert trabecular_hu_for_age(20) == pytest.approx(250) and trabecular_hu_for_age(80) == pytest.approx(120)


def _closest_approach_mm(labels: np.ndarray, spacing: tuple[float, float, float]) -> float:
    """The least distance between voxel centres of two different vertebrae."""
    from scipy import ndimage

    ids = [int(i) for i in np.unique(labels) if i in TOTALSEG_VERTEBRA_IDS.values()]
    closest = np.inf
    for i in ids:
        distance = ndimage.distance_transform_edt(labels != i, sampling=spacing)
        others = np.isin(labels, [j for j in ids if j != i])
        closest = min(closest, float(distance[others].min()))
    return closest


def test_facet_joints_keep_their_space_in_truth_and_image() -> None:
    params = SpineParams(levels=("L3", "L4", "L5"), spacing_mm=(1.0, 0.8, 0.8), fov_mm=200.0, lesions=(),
                         fracture=None, include_sacrum=False)
    touching = generate_spine_ct(params)
    spaced = generate_spine_ct(replace(params, joint_space_mm=1.5))
    spacing = spaced.ct.spacing
    assert _closest_approach_mm(touching.vertebrae.array, spacing) < 1.0  # the articular processes meet
    assert _closest_approach_mm(spaced.vertebrae.array, spacing) > 1.5
    joint = (touching.vertebrae.array > 0) & (spaced.vertebrae.array == 0)
    assert joint.sum() > 50  # the lower processes' articular surfaces gave way
    # the image shows the joint as a darker line where the two processes met
    assert spaced.ct.array[joint].mean() < touching.ct.array[joint].mean() - 50
    # the bodies are apart anyway: the discs between them are not touched
    assert np.array_equal(spaced.parts.array == VertebraPart.DISC, touching.parts.array == VertebraPart.DISC)


def test_joint_space_is_validated() -> None:
    with pytest.raises(ValueError, match="joint space"):
        SpineParams(joint_space_mm=-1.0)
