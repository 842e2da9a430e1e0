"""io.dicom_write: geometry and values round-trip through pydicom and SimpleITK."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from napari_spine_mets.io import geometry
from napari_spine_mets.io.dicom_write import MR_IMAGE_STORAGE, write_dicom_series
from napari_spine_mets.volume import PatientIdentity, Volume, VolumeMetadata


def _rotation(axis: np.ndarray, degrees: float) -> np.ndarray:
    axis = axis / np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    t = np.radians(degrees)
    return np.eye(3) + np.sin(t) * k + (1 - np.cos(t)) * k @ k


def _read(folder: Path) -> tuple[np.ndarray, np.ndarray, list]:
    import pydicom

    slices = sorted((pydicom.dcmread(p) for p in folder.glob("*.dcm")), key=lambda d: int(d.InstanceNumber))
    values = np.stack([d.pixel_array * float(d.RescaleSlope) + float(d.RescaleIntercept) for d in slices])
    first, second = slices[0], slices[1]
    step = np.array(second.ImagePositionPatient, float) - np.array(first.ImagePositionPatient, float)
    affine = geometry.affine_from_dicom(first.ImagePositionPatient, first.ImageOrientationPatient[:3],
                                        first.ImageOrientationPatient[3:], step, first.PixelSpacing)
    return values, affine, slices


def _sitk_affine(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    sitk = pytest.importorskip("SimpleITK")
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(folder)))
    image = reader.Execute()
    affine = np.eye(4)
    affine[:3, :3] = (np.array(image.GetDirection()).reshape(3, 3) * np.array(image.GetSpacing()))[:, ::-1]
    affine[:3, 3] = image.GetOrigin()
    return sitk.GetArrayFromImage(image), affine


def test_oblique_mr_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    array = rng.integers(0, 4000, size=(6, 20, 24)).astype(np.uint16)
    linear = _rotation(np.array([1.0, 0.3, 0.2]), 23.0) @ np.diag([0.9, 1.1, 3.0])  # columns: x, y, z index steps
    affine = np.eye(4)
    affine[:3, :3] = linear[:, ::-1]  # our columns are (z, y, x)
    affine[:3, 3] = [-40.0, 12.5, 77.0]
    meta = VolumeMetadata(modality="MR", manufacturer="test", identity=PatientIdentity(name="TEST^MR", patient_id="X1"))
    paths = write_dicom_series(Volume(array, affine, meta), tmp_path, modality="MR", uid_seed="mr")
    assert len(paths) == 6
    values, read_affine, slices = _read(tmp_path)
    assert np.array_equal(values, array)
    np.testing.assert_allclose(read_affine, affine, atol=1e-5)
    assert slices[0].SOPClassUID == MR_IMAGE_STORAGE and slices[0].Modality == "MR"
    assert str(slices[0].PatientName) == "TEST^MR" and slices[0].PatientID == "X1"
    itk_values, itk_affine = _sitk_affine(tmp_path)
    assert np.array_equal(itk_values, array)
    np.testing.assert_allclose(itk_affine, affine, atol=1e-4)


def test_ct_with_negative_values_and_deterministic_uids(tmp_path: Path) -> None:
    array = np.arange(-2000, -2000 + 3 * 8 * 9, dtype=np.int16).reshape(3, 8, 9)  # below -1024: signed storage
    affine = np.diag([2.0, 0.7, 0.7, 1.0])[[2, 1, 0, 3]]  # (z, y, x) steps along (S, P, L)
    affine[:3, 3] = [-100.0, -80.0, 30.0]
    volume = Volume(array, affine, VolumeMetadata(modality="CT", kvp=100.0))
    a = write_dicom_series(volume, tmp_path / "a", uid_seed="same")
    b = write_dicom_series(volume, tmp_path / "b", uid_seed="same")
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    values, read_affine, slices = _read(tmp_path / "a")
    assert np.array_equal(values, array)
    np.testing.assert_allclose(read_affine, affine, atol=1e-6)
    assert slices[0].PixelRepresentation == 1 and float(slices[0].KVP) == 100
    c = write_dicom_series(volume, tmp_path / "c", uid_seed="other")
    import pydicom

    assert pydicom.dcmread(c[0]).SeriesInstanceUID != slices[0].SeriesInstanceUID


def test_refuses_sheared_grid_and_bad_modality(tmp_path: Path) -> None:
    affine = np.eye(4)
    affine[:3, :3] = [[0, 0, 1], [0, 1, 0], [1, 0.5, 0]]  # slice axis not perpendicular to the slices
    volume = Volume(np.zeros((2, 3, 3), np.int16), affine)
    with pytest.raises(ValueError, match="sheared"):
        write_dicom_series(volume, tmp_path)
    with pytest.raises(ValueError, match="modality"):
        write_dicom_series(Volume(np.zeros((2, 3, 3), np.int16), np.eye(4)[[2, 1, 0, 3]]), tmp_path, modality="US")


def test_float_values_are_rescaled(tmp_path: Path) -> None:
    array = np.linspace(-1.5, 2.5, 2 * 4 * 5).reshape(2, 4, 5)
    affine = np.eye(4)[[2, 1, 0, 3]]
    write_dicom_series(Volume(array, affine), tmp_path, modality="MR")
    values, _, _ = _read(tmp_path)
    np.testing.assert_allclose(values, array, atol=4.0 / 65535 + 1e-9)
