"""Bad input is refused with a project error that says what is wrong; never a silent NaN."""

from __future__ import annotations

import numpy as np
import pytest

from napari_spine_mets.errors import InputError, SpineMetsError
from napari_spine_mets.radiomics import (
    RadiomicsGeometryError,
    RadiomicsInputError,
    RadiomicsSettings,
    RadiomicsSettingsError,
)
from napari_spine_mets.radiomics.engine import extract_features

SPACING = (2.0, 1.0, 1.0)


def _box() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 500, (8, 16, 16)).astype(np.int16)
    mask = np.zeros(image.shape, np.uint8)
    mask[2:6, 4:12, 4:12] = 1
    return image, mask


def test_errors_are_project_errors() -> None:
    assert issubclass(RadiomicsInputError, InputError)
    assert issubclass(RadiomicsGeometryError, SpineMetsError)


def test_empty_mask() -> None:
    image, mask = _box()
    with pytest.raises(RadiomicsInputError, match="empty mask"):
        extract_features(image, np.zeros_like(mask), SPACING, device="cpu")


def test_label_absent_lists_labels_present() -> None:
    image, mask = _box()
    with pytest.raises(RadiomicsInputError, match=r"labels present: \[1\]"):
        extract_features(image, mask, SPACING, RadiomicsSettings(label=7), device="cpu")


def test_one_voxel_mask() -> None:
    image, _ = _box()
    mask = np.zeros(image.shape, np.uint8)
    mask[4, 8, 8] = 1
    with pytest.raises(RadiomicsInputError, match="one-voxel"):
        extract_features(image, mask, SPACING, device="cpu")


def test_different_geometry_is_said_not_guessed() -> None:
    image, mask = _box()
    with pytest.raises(RadiomicsGeometryError, match="differs from image shape"):
        extract_features(image, mask[:, :-1], SPACING, device="cpu")


def test_nan_in_roi() -> None:
    image, mask = _box()
    image = image.astype(np.float64)
    image[3, 6, 6] = np.nan
    with pytest.raises(RadiomicsInputError, match="NaN"):
        extract_features(image, mask, SPACING, device="cpu")


def test_nan_outside_roi_is_fine() -> None:
    image, mask = _box()
    image = image.astype(np.float64)
    image[0, 0, 0] = np.nan
    out = extract_features(image, mask, SPACING, device="cpu")
    assert all(np.isfinite(v) for v in out.values())


def test_constant_roi_gives_defined_values() -> None:
    image, mask = _box()
    image[:] = 300
    out = extract_features(image, mask, SPACING, device="cpu")
    assert all(np.isfinite(v) for v in out.values())
    assert out["original_firstorder_Variance"] == 0.0
    assert out["original_firstorder_Skewness"] == 0.0
    assert out["original_glcm_JointEnergy"] == pytest.approx(1.0)
    assert out["original_glcm_Imc2"] == 0.0
    assert out["original_glcm_MCC"] == 1.0
    assert out["original_ngtdm_Contrast"] == 0.0


def test_line_roi_refused() -> None:
    image, _ = _box()
    mask = np.zeros(image.shape, np.uint8)
    mask[4, 8, 2:10] = 1
    with pytest.raises(RadiomicsInputError, match="line"):
        extract_features(image, mask, SPACING, device="cpu")


def test_bad_spacing_and_settings() -> None:
    image, mask = _box()
    with pytest.raises(RadiomicsInputError, match="spacing"):
        extract_features(image, mask, (1.0, 0.0, 1.0), device="cpu")
    with pytest.raises(RadiomicsSettingsError):
        RadiomicsSettings(bin_width=-1)
    with pytest.raises(RadiomicsSettingsError):
        RadiomicsSettings(log_sigma=[0.0])
    with pytest.raises(RadiomicsSettingsError):
        RadiomicsSettings(normalize="minmax")


def test_unknown_device() -> None:
    image, mask = _box()
    from napari_spine_mets.devices import DeviceError

    with pytest.raises(DeviceError, match="unknown device 'tpu-9'"):
        extract_features(image, mask, SPACING, device="tpu-9")
