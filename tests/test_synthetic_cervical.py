"""The synthetic cervical spine C1-C7 with the neck, shoulders and skull base, and the legacy
cases (no cervical level) that must keep their voxels exactly."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from napari_spine_mets.anatomy import LEVELS, TOTALSEG_VERTEBRA_IDS, VertebraPart
from napari_spine_mets.io import geometry
from napari_spine_mets.segmentation.training_data import random_params
from napari_spine_mets.synthetic import FractureSpec, LesionSpec, SpineParams, SyntheticCase, Tissue, generate_spine_ct
from napari_spine_mets.synthetic.params import CERVICAL_LEVELS, SUPPORTED_LEVELS, THORACOLUMBAR_LEVELS

NECK = ("C1", "C2", "C3", "C4", "C5", "C6", "C7", "T1")
PARAMS = SpineParams(levels=NECK, spacing_mm=(1.0, 0.7, 0.7), fov_mm=170.0, lesions=(), fracture=None,
                     contrast=True, noise_hu=5.0)
BONE = (Tissue.CORTICAL, Tissue.TRABECULAR, Tissue.RIB_MARROW)

#: SHA-256 of (ct, vertebrae, parts) computed with the generator before it drew the neck.
LEGACY_HASHES = {
    "default": ("01113bc0ba316baeb72c6f1e0df62ae7b4aa0e454d95a44ca46dba2b8800f110",
                "16c2d902b1976f8c0044b9c0ed95733363c221e758c6cb95ef9c9ad1c6359ae3",
                "318fa717c6fe3b51d7fc3f5b63878b1431fe1d6e5e56aeec1a26930bbc407d60"),
    200000: ("e24ce23f21f84bc2415fe357e8fe3f5fa745713113ca0fb137beb9363c62e773",
             "00a4bcbd50b5e2423080145a856a33af1fc6457fe674f7d463311516b32ee33a",
             "4428ced7ac898de5560fa4af38642f14f23520c72f798f21555f904262ee640e"),
    200001: ("bd2dd6934b57366c83d300451b1cac8d3754dec26e9ca59ba28fc1d5a64ddeda",
             "031624bf6d5267445f8e87b5cbe80649527515dc1435fcab12899881eb68ea46",
             "e2f59a0fd37b47f6691682adb59d06e4bce8261fc6d960a9fb5da99eac23edf1"),
    300: ("9b3f9d395579642501b47a12eb0b9af1db3665007139671a970b3bb601edbc79",
          "71602ea34e0213d21608e409b09ebfa0b4339bd542a34f2a57d6f5d7be41beae",
          "fdac89c37397479e52d2a7303de8726166b155107ff33771de1737dedd08e6c6"),
    210000: ("70e2ad3a19a64aad182a89594b93e90388b48e526cea99098647dca50a8f842d",
             "d402c52c9354916053c7bd32db53d3a02cd79d31a5f67f5ed161a72aec5f2972",
             "4a9764f9961e9e69f827c1df9df6faae6bbcc743b1984360d5cdd22982525bf7"),
    210001: ("9383db4528e040985d5c482af73b60e043b738addc1bfbf9aaf6362a83be67db",
             "701255ad40413d60b4519b27550d5bbe7bc3a0f8e4acb74f98f74f270fd455ba",
             "4fb498307e45e05b8609eba9cc26da69205ae12b6e867156627f9a46e04d2285"),
}


@pytest.fixture(scope="module")
def case() -> SyntheticCase:
    return generate_spine_ct(PARAMS)


def _mask(case: SyntheticCase, level: str, part: VertebraPart | None = None) -> np.ndarray:
    m = case.vertebrae.array == TOTALSEG_VERTEBRA_IDS[level]
    return m if part is None else m & (case.parts.array == part)


def _world(case: SyntheticCase, mask: np.ndarray) -> np.ndarray:
    return geometry.world_from_index(case.ct.affine, np.argwhere(mask))


def _hashes(c: SyntheticCase) -> tuple[str, str, str]:
    return tuple(hashlib.sha256(a.tobytes()).hexdigest()  # type: ignore[return-value]
                 for a in (c.ct.array, c.vertebrae.array, c.parts.array))


def test_level_constants() -> None:
    assert CERVICAL_LEVELS == LEVELS[:7]
    assert SUPPORTED_LEVELS == LEVELS[: LEVELS.index("S1") + 1]
    assert THORACOLUMBAR_LEVELS == LEVELS[LEVELS.index("T1"): LEVELS.index("S1") + 1]


def test_atlas_is_a_ring_without_body(case: SyntheticCase) -> None:
    assert not _mask(case, "C1", VertebraPart.BODY).any()
    assert not (_mask(case, "C1") & np.isin(case.parts.array, (VertebraPart.PEDICLE_LEFT,
                                                               VertebraPart.PEDICLE_RIGHT))).any()
    assert _mask(case, "C1", VertebraPart.POSTERIOR_ELEMENTS).sum() > 1000
    dens = _world(case, _mask(case, "C2", VertebraPart.BODY))
    c1 = _world(case, _mask(case, "C1"))
    top = dens[:, 2] > dens[:, 2].max() - 8.0  # the upper dens
    dx = dens[top, 0].mean()
    for side in (1.0, -1.0):  # lateral masses beside the dens, beyond its radius
        beside = c1[(side * (c1[:, 0] - dx) > 12.0) & (side * (c1[:, 0] - dx) < 25.0)]
        assert len(beside) > 300
    # No disc anywhere near C1/C2: joints are soft tissue.
    vt = {v.level: v for v in case.vertebra_truth}
    discs = _world(case, case.parts.array == VertebraPart.DISC)
    assert discs[:, 2].max() < vt["C2"].center_lps[2]


def test_dens_rises_inside_the_ring(case: SyntheticCase) -> None:
    dens = _world(case, _mask(case, "C2", VertebraPart.BODY))
    c1 = _world(case, _mask(case, "C1"))
    front = c1[np.abs(c1[:, 0]) < 3.0]
    arch = front[front[:, 1] < np.percentile(front[:, 1], 20)]  # anterior arch (most anterior C1 bone)
    assert dens[:, 2].max() > arch[:, 2].min() + 5.0
    k = int(np.argmax(np.bincount(np.argwhere(_mask(case, "C1"))[:, 0])))  # the ring's fullest slice
    sl_dens = _mask(case, "C2", VertebraPart.BODY)[k]
    assert sl_dens.any()
    cy, cx = np.argwhere(sl_dens).mean(axis=0)
    row = int(round(cy))
    col_c1 = np.flatnonzero(_mask(case, "C1")[k][:, int(round(cx))])
    col_canal = np.flatnonzero(case.parts.array[k][:, int(round(cx))] == VertebraPart.CANAL)
    assert (col_c1 < row).any(), "no anterior arch in front of the dens"
    assert (col_canal > row).any(), "no canal behind the dens"


def test_axis_taller_than_c3_and_bodies_widen(case: SyntheticCase) -> None:
    def extent(level: str, axis: int) -> float:
        pts = _world(case, _mask(case, level, VertebraPart.BODY))
        vt = next(v for v in case.vertebra_truth if v.level == level)
        proj = pts @ np.asarray(vt.axis_lps if axis == 2 else (1.0, 0.0, 0.0))
        return float(proj.max() - proj.min())

    assert extent("C2", 2) >= 1.8 * extent("C3", 2)
    widths = [extent(lv, 0) for lv in ("C3", "C4", "C5", "C6", "C7")]
    assert all(b > a for a, b in zip(widths, widths[1:])), widths


def test_transverse_foramina_c3_to_c6(case: SyntheticCase) -> None:
    from scipy import ndimage

    for level in ("C3", "C4", "C5", "C6"):
        vt = next(v for v in case.vertebra_truth if v.level == level)
        found = set()
        for k in np.unique(np.nonzero(_mask(case, level))[0]):
            bone = _mask(case, level)[k]
            holes, n = ndimage.label(ndimage.binary_fill_holes(bone) & ~bone)
            for i in range(1, n + 1):
                idx = np.argwhere(holes == i)
                pts = geometry.world_from_index(case.ct.affine, np.c_[np.full(len(idx), k), idx])
                dx = pts[:, 0].mean() - vt.center_lps[0]
                if 11.0 < abs(dx) < 24.0 and len(idx) < 60 and case.ct.array[k][holes == i].mean() < 400:
                    found.add(np.sign(dx))
        assert found == {1.0, -1.0}, (level, found)


def test_skull_base_only_with_c1(case: SyntheticCase) -> None:
    vt = {v.level: v for v in case.vertebra_truth}
    bone = np.isin(case.tissues.array, BONE) & (case.vertebrae.array == 0)
    pts = _world(case, bone)
    above = pts[(pts[:, 2] > vt["C1"].center_lps[2] + 12.0) & (np.abs(pts[:, 0]) < 50.0)]
    assert len(above) > 2000
    assert np.median(case.ct.array[bone]) > 300
    no_c1 = generate_spine_ct(SpineParams(levels=("C2", "C3", "C4"), spacing_mm=(2.0, 1.0, 1.0), fov_mm=160.0,
                                          lesions=(), fracture=None))
    c2 = next(v for v in no_c1.vertebra_truth if v.level == "C2")
    bone2 = np.isin(no_c1.tissues.array, BONE) & (no_c1.vertebrae.array == 0)
    pts2 = _world(no_c1, bone2)
    assert not ((pts2[:, 2] > c2.center_lps[2] + 8.0) & (np.abs(pts2[:, 0]) < 50.0)).any()


def test_neck_narrower_than_chest() -> None:
    c = generate_spine_ct(SpineParams(levels=LEVELS[:LEVELS.index("T8") + 1], spacing_mm=(3.0, 1.5, 1.5),
                                      fov_mm=360.0, lesions=(), fracture=None, ribs=False))
    vt = {v.level: v for v in c.vertebra_truth}

    def width(level: str) -> float:
        k = int(round((vt[level].center_lps[2] - c.ct.affine[2, 3]) / c.ct.affine[2, 0]))
        t = c.tissues.array[k]
        cols = np.flatnonzero(((t != Tissue.AIR) & (t != Tissue.TABLE)).any(axis=0))
        return float(cols.max() - cols.min()) * c.ct.spacing[2]

    assert width("C4") < 0.7 * width("T6"), (width("C4"), width("T6"))


def test_legacy_cases_byte_identical() -> None:
    assert _hashes(generate_spine_ct(SpineParams())) == LEGACY_HASHES["default"]
    for seed in (200000, 300):
        assert _hashes(generate_spine_ct(random_params(seed))) == LEGACY_HASHES[seed], seed
    assert _hashes(generate_spine_ct(random_params(210000, THORACOLUMBAR_LEVELS))) == LEGACY_HASHES[210000]


def test_params_refuse_atlas_body_lesion_and_c1_c2_fracture() -> None:
    with pytest.raises(ValueError, match="C1"):
        SpineParams(levels=("C1", "C2", "C3"), lesions=(LesionSpec("C1", site="body"),), fracture=None)
    for level in ("C1", "C2"):
        with pytest.raises(ValueError, match=level):
            SpineParams(levels=("C1", "C2", "C3"), lesions=(), fracture=FractureSpec(level))
    ok = SpineParams(levels=("C1", "C2", "C3"), lesions=(LesionSpec("C1", radius_mm=4.0, site="posterior"),),
                     fracture=FractureSpec("C3"))
    assert "cervical_lordosis_deg" in ok.to_json()


def test_random_params_can_draw_c1() -> None:
    p = random_params(142, SUPPORTED_LEVELS)
    assert p.levels[0] == "C1"
    c = generate_spine_ct(p)
    assert (c.vertebrae.array == TOTALSEG_VERTEBRA_IDS["C1"]).any()
