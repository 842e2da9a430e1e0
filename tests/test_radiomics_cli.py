"""``spine-mets radiomics IMAGE MASK --json`` on NIfTI files written to tmp_path."""

from __future__ import annotations

import json

import numpy as np
import pytest

from napari_spine_mets.cli import main
from napari_spine_mets.radiomics import RadiomicsSettings, save_settings


def _write(tmp_path, shift_mask: bool = False):
    nib = pytest.importorskip("nibabel")
    rng = np.random.default_rng(7)
    image = rng.normal(300, 80, (24, 24, 10)).astype(np.int16)  # NIfTI (i, j, k)
    mask = np.zeros(image.shape, np.uint8)
    mask[6:18, 5:17, 2:8] = 1
    affine = np.diag([0.8, 0.8, 2.0, 1.0])
    nib.save(nib.Nifti1Image(image, affine), tmp_path / "img.nii.gz")
    maff = affine.copy()
    if shift_mask:
        maff[0, 3] = 5.0
    nib.save(nib.Nifti1Image(mask, maff), tmp_path / "mask.nii.gz")
    return tmp_path / "img.nii.gz", tmp_path / "mask.nii.gz"


def test_cli_json(tmp_path, capsys) -> None:
    img, msk = _write(tmp_path)
    settings = tmp_path / "s.yaml"
    save_settings(RadiomicsSettings(bin_width=20, features={"firstorder": None, "shape": None}), settings)
    assert main(["radiomics", str(img), str(msk), "--settings", str(settings), "--json", "--device", "cpu"]) == 0
    report = json.loads(capsys.readouterr().out)
    feats = report["features"]
    assert feats["original_shape_VoxelVolume"] == pytest.approx(12 * 12 * 6 * 0.8 * 0.8 * 2.0)
    assert len(feats) == 18 + 14
    assert report["settings"]["bin_width"] == 20
    assert report["device"]["device"] == "cpu"


def test_cli_geometry_mismatch_is_reported(tmp_path, capsys) -> None:
    img, msk = _write(tmp_path, shift_mask=True)
    code = main(["radiomics", str(img), str(msk), "--json"])
    assert code == 2
    assert "does not match image grid" in capsys.readouterr().err
