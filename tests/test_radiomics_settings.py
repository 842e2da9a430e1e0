"""Settings: file round trip, hash sensitivity, per-feature enable/disable, MR normalisation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from napari_spine_mets.radiomics import RadiomicsSettings, RadiomicsSettingsError, load_settings, save_settings
from napari_spine_mets.radiomics.engine import extract, extract_features, extract_many


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_round_trip(tmp_path, suffix: str) -> None:
    s = RadiomicsSettings(bin_width=10, log_sigma=[1.0, 3.0], wavelet=True, normalize="zscore_roi",
                          features={"firstorder": ["Mean"], "glcm": None})
    path = tmp_path / f"settings{suffix}"
    save_settings(s, path)
    back = load_settings(path)
    assert back == s
    assert back.value_hash() == s.value_hash()


def test_every_field_changes_the_hash() -> None:
    base = RadiomicsSettings()
    changes = dict(bin_width=10.0, log_sigma=[1.0], wavelet=True, normalize="percentile", gldm_a=1.0,
                   voxel_array_shift=1000.0, resampled_spacing=[1.0, 1.0, 1.0], ibsi_discretization=True,
                   features={"firstorder": None}, label=2)
    for key, value in changes.items():
        data = base.to_dict()
        data[key] = value
        changed = RadiomicsSettings.from_dict(data)
        assert changed.value_hash() != base.value_hash(), key


def test_unknown_key_is_refused(tmp_path) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"binWidth": 25}))
    with pytest.raises(RadiomicsSettingsError, match="unknown settings keys"):
        load_settings(path)


def _roi():
    rng = np.random.default_rng(5)
    image = rng.normal(600, 150, (10, 20, 20))
    mask = np.zeros(image.shape, np.uint8)
    mask[2:8, 5:15, 4:16] = 1
    return image, mask


def test_per_feature_enable_disable() -> None:
    image, mask = _roi()
    s = RadiomicsSettings(features={"firstorder": ["Mean", "Median"], "glcm": ["Contrast"]})
    out = extract_features(image, mask, (1, 1, 1), s, "cpu")
    assert set(out) == {"original_firstorder_Mean", "original_firstorder_Median", "original_glcm_Contrast"}


def test_mr_normalisation_recorded_and_applied() -> None:
    image, mask = _roi()
    s = RadiomicsSettings(normalize="zscore_roi", bin_width=0.25, features={"firstorder": ["Mean", "Variance"]})
    out = extract(image, mask, (1, 1, 1), s, "cpu")
    assert out.features["original_firstorder_Mean"] == pytest.approx(0.0, abs=1e-12)
    assert out.features["original_firstorder_Variance"] == pytest.approx(1.0)
    assert out.settings_hash == s.value_hash() != RadiomicsSettings(bin_width=0.25).value_hash()
    p = RadiomicsSettings(normalize="percentile", bin_width=0.05, features={"firstorder": ["Minimum", "Maximum"]})
    vals = extract_features(image, mask, (1, 1, 1), p, "cpu")
    assert vals["original_firstorder_Minimum"] == 0.0 and vals["original_firstorder_Maximum"] == 1.0


def test_extract_many_and_device_report() -> None:
    image, mask = _roi()
    out = extract_many([(image, mask, (1, 1, 1)), (image * 2, mask, (1, 1, 1))], device="cpu")
    assert len(out) == 2
    assert out[1]["original_firstorder_Mean"] == pytest.approx(2 * out[0]["original_firstorder_Mean"])
    assert extract(image, mask, (1, 1, 1), device="cpu").device["device"] == "cpu"
