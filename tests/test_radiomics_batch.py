"""Batched extraction: ROIs of one image share filter passes and give the values of one-by-one runs."""

from __future__ import annotations

import numpy as np
import pytest

from napari_spine_mets.radiomics import RadiomicsInputError, RadiomicsSettings
from napari_spine_mets.radiomics import jobs, shape
from napari_spine_mets.radiomics.batch import group_rois, prepare_roi
from napari_spine_mets.radiomics.engine import extract_features, extract_many

pytest.importorskip("SimpleITK")

SPACING = (2.0, 0.8, 0.7)


def _image() -> np.ndarray:
    rng = np.random.default_rng(7)
    z, y, x = np.meshgrid(np.arange(12), np.arange(40), np.arange(44), indexing="ij")
    return (150 + 60 * np.sin(x / 4.0) + 30 * np.cos(y / 3.0) + rng.normal(0, 25, z.shape)).astype(np.int16)


def _box_mask(shape: tuple[int, ...], z: slice, y: slice, x: slice) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    mask[z, y, x] = 1
    return mask


def _masks(shape: tuple[int, ...]) -> list[np.ndarray]:
    rng = np.random.default_rng(8)
    near_a = _box_mask(shape, slice(2, 9), slice(4, 14), slice(4, 13))
    near_b = _box_mask(shape, slice(3, 10), slice(10, 19), slice(8, 16))
    far = _box_mask(shape, slice(1, 11), slice(28, 37), slice(30, 41))
    far &= (rng.random(shape) > 0.15).astype(np.uint8)  # ragged
    return [near_a, near_b, far]


SETTINGS = RadiomicsSettings(bin_width=20, log_sigma=[1.0, 2.0], wavelet=True)


def test_extract_many_matches_one_by_one_and_filters_once(monkeypatch) -> None:
    image = _image()
    masks = _masks(image.shape)
    single = [extract_features(image, m, SPACING, SETTINGS, "cpu") for m in masks]
    calls: list[int] = []
    original = jobs.log_at

    def counting(*args, **kwargs):
        calls.append(len(args[4]))  # the voxels this LoG pass serves
        return original(*args, **kwargs)

    monkeypatch.setattr(jobs, "log_at", counting)
    batched = extract_many([(image, m, SPACING) for m in masks], SETTINGS, "cpu")
    # one LoG pass per sigma serves all three ROIs (the image is small: one group)
    assert len(calls) == len(SETTINGS.log_sigma)
    assert calls[0] == sum(int(m.sum()) for m in masks)
    assert len(batched) == 3
    for one, many in zip(single, batched):
        assert list(one) == list(many)  # same keys in the same order
        for key, value in one.items():
            assert many[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key


def test_values_do_not_depend_on_workers() -> None:
    image = _image()
    mask = _masks(image.shape)[2]
    one = extract_features(image, mask, SPACING, SETTINGS, "cpu", workers=1)
    two = extract_features(image, mask, SPACING, SETTINGS, "cpu", workers=2)
    assert one == two


def test_far_apart_rois_get_their_own_filter_pass() -> None:
    image = np.zeros((40, 200, 200), np.int16)
    settings = RadiomicsSettings(log_sigma=[1.0])
    near_a = _box_mask(image.shape, slice(5, 10), slice(5, 15), slice(5, 15))
    near_b = _box_mask(image.shape, slice(6, 12), slice(12, 22), slice(10, 20))
    far = _box_mask(image.shape, slice(30, 36), slice(170, 190), slice(170, 190))
    rois = [prepare_roi(k, image, m, (1.0, 1.0, 1.0), settings) for k, m in enumerate([near_a, far, near_b])]
    groups = sorted([r.index for r in g.rois] for g in group_rois(rois, settings))
    assert groups == [[0, 2], [1]]
    # another image object never shares, even with equal values
    other = prepare_roi(3, image.copy(), near_a, (1.0, 1.0, 1.0), settings)
    assert len(group_rois([rois[0], other], settings)) == 2


def test_roi_dependent_normalisation_is_not_shared() -> None:
    image = _image().astype(np.float64)
    masks = _masks(image.shape)[:2]
    settings = RadiomicsSettings(normalize="zscore_roi", bin_width=0.5, log_sigma=[1.0])
    rois = [prepare_roi(k, image, m, SPACING, settings) for k, m in enumerate(masks)]
    assert len(group_rois(rois, settings)) == 2
    batched = extract_many([(image, m, SPACING) for m in masks], settings, "cpu")
    for m, many in zip(masks, batched):
        assert many == pytest.approx(extract_features(image, m, SPACING, settings, "cpu"), rel=1e-9, abs=1e-12)


def test_failing_roi_is_named_by_position() -> None:
    image = _image()
    masks = _masks(image.shape)
    masks[1] = np.zeros_like(masks[1])
    with pytest.raises(RadiomicsInputError, match=r"ROI #1: .*empty mask"):
        extract_many([(image, m, SPACING) for m in masks], SETTINGS, "cpu")


def _brute_diameters(mask: np.ndarray, spacing: tuple[float, float, float]) -> dict[str, float]:
    """Diameters over every mesh vertex pair, no reduction (the definition)."""
    h = shape._mesh_vertices(np.pad(mask, 1))
    pts = (h / 2.0) * np.asarray(spacing)
    d = ((pts[:, None, :] - pts[None, :, :]) ** 2).sum(-1)
    out = {"Maximum3DDiameter": float(np.sqrt(d.max()))}
    for axis, name in enumerate(("Slice", "Column", "Row")):
        same = h[:, None, axis] == h[None, :, axis]
        keep = [k for k in range(3) if k != axis]
        planar = ((pts[:, None, keep] - pts[None, :, keep]) ** 2).sum(-1)
        out[f"Maximum2DDiameter{name}"] = float(np.sqrt(np.where(same, planar, 0.0).max()))
    return out


@pytest.mark.parametrize("seed", range(6))
def test_diameters_equal_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    mask = rng.random((int(rng.integers(1, 6)), int(rng.integers(3, 10)), int(rng.integers(3, 10)))) > 0.45
    if mask.sum() < 2:
        mask.flat[:2] = True
    spacing = tuple(float(v) for v in rng.uniform(0.4, 2.5, 3))
    got = shape.shape_features(mask, spacing, set(shape.FEATURES))
    for key, value in _brute_diameters(mask, spacing).items():
        assert got[key] == pytest.approx(value, rel=1e-12), key
