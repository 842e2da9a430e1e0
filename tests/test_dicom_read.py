"""Reading DICOM series: the real JPEG 2000 CT, and synthetic series from ``dicom_factory``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import dicom_factory as factory
from napari_spine_mets.io import geometry
from napari_spine_mets.io.dicom import LoadCancelled, read_dicom_series
from napari_spine_mets.io.dicom_scan import scan_dicom


# --------------------------------------------------------------------------- real data
@pytest.fixture(scope="module")
def real_volume(real_ct_series: Path):
    return read_dicom_series(real_ct_series, require_ct_hu=True)


@pytest.mark.shared_data
def test_real_series_shape_spacing_and_origin(real_volume) -> None:
    v = real_volume
    assert v.shape == (20, 512, 512)
    assert np.allclose(v.spacing, (2.0, 0.9765625, 0.9765625))
    # Index 0 is the most inferior slice after reorientation to S-ascending.
    assert v.origin[2] == pytest.approx(-804.5)
    assert np.allclose(v.origin[:2], (-249.51171875, -437.51171875))
    z_last = geometry.world_from_index(v.affine, np.array([19, 0, 0]))[2]
    assert z_last == pytest.approx(-766.5)
    assert geometry.is_axis_aligned(v.affine)


@pytest.mark.shared_data
def test_real_series_hounsfield_units(real_volume) -> None:
    a = real_volume.array
    assert a.dtype in (np.int16, np.float32)
    corner = a[:, :20, :20]
    assert abs(float(np.median(corner)) + 1000) < 60, "air around the patient should be about -1000 HU"
    assert a.max() > 700, "bone should be present"
    assert a.min() >= -1024


@pytest.mark.shared_data
def test_real_series_metadata(real_volume, real_ct_series: Path) -> None:
    m = real_volume.metadata
    assert m.modality == "CT"
    assert m.kvp == pytest.approx(120.0)
    assert m.contrast_agent == "APPLIED"
    assert "Br38f" in m.convolution_kernel
    assert m.frame_of_reference_uid
    assert m.source == str(real_ct_series)
    assert m.warnings == []


@pytest.mark.shared_data
def test_real_series_grouped_despite_empty_uids(real_ct_series: Path) -> None:
    scan = scan_dicom(real_ct_series)
    assert len(scan.series) == 1
    info = scan.series[0]
    assert info.series_instance_uid == ""
    assert info.n_files == 20 and info.shape == (20, 512, 512)
    assert info.spacing == pytest.approx((2.0, 0.9765625, 0.9765625))
    assert info.orientation == "axial" and info.problems == []
    assert scan.skipped == []


@pytest.mark.shared_data
def test_real_series_matches_simpleitk(real_volume, real_ct_series: Path) -> None:
    sitk = pytest.importorskip("SimpleITK")
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(real_ct_series)))
    image = reader.Execute()
    ref = sitk.GetArrayFromImage(image)  # (z, y, x) in ITK's index order
    direction = np.array(image.GetDirection()).reshape(3, 3)
    if direction[2, 2] < 0:  # ITK sorted the slices downwards: bring them to S-ascending
        ref = ref[::-1]
        assert image.GetOrigin()[2] == pytest.approx(-766.5)
    else:
        assert image.GetOrigin()[2] == pytest.approx(-804.5)
    assert np.allclose(np.abs(direction), np.eye(3))
    assert ref.shape == real_volume.shape
    assert np.array_equal(ref.astype(np.int32), real_volume.array.astype(np.int32))


# --------------------------------------------------------------------------- synthetic
def test_slices_sorted_by_position_not_file_name(tmp_path: Path) -> None:
    factory.write_series(tmp_path, n=5, reverse_files=True)
    v = read_dicom_series(tmp_path)
    # Acquisition slice k (value 100 k at voxel 0,0) sits at z = 30 + 2 k.
    assert list(v.array[:, 0, 0]) == [100 * k - 1024 for k in range(5)]
    assert v.array.dtype == np.int16
    assert v.origin == pytest.approx((-10.0, -20.0, 30.0))
    assert v.spacing == pytest.approx((2.0, 0.8, 0.7))


def test_descending_positions_are_reoriented(tmp_path: Path) -> None:
    factory.write_series(tmp_path, n=4, step=-3.0)
    v = read_dicom_series(tmp_path)
    assert v.origin[2] == pytest.approx(30.0 - 9.0)
    assert list(v.array[:, 0, 0]) == [100 * k - 1024 for k in (3, 2, 1, 0)]
    assert geometry.direction_of(v.affine)[2, 0] == pytest.approx(1.0)


def test_sagittal_series_reoriented_to_spl(tmp_path: Path) -> None:
    # rows run towards Inferior, columns towards Posterior, slices towards the Right.
    factory.write_series(tmp_path, n=4, rows=6, cols=5, orientation=(0, 1, 0, 0, 0, -1))
    info = scan_dicom(tmp_path).series[0]
    assert info.orientation == "sagittal" and info.axis_codes == "RIP"
    v = read_dicom_series(tmp_path)
    assert v.shape == (6, 5, 4)
    d = geometry.direction_of(v.affine)
    assert np.allclose(np.abs(d), np.eye(3)[::-1]) and d[2, 0] > 0 and d[1, 1] > 0 and d[0, 2] > 0
    # Voxel (0, 0, 0) is the most inferior row, most anterior column, rightmost slice.
    raw_last_row_first_col_last_slice = 100 * 3 + 5 + 0 - 1024
    assert v.array[0, 0, 0] == raw_last_row_first_col_last_slice


def test_rescale_non_integer_gives_float32(tmp_path: Path) -> None:
    factory.write_series(tmp_path, n=3, slope=0.5, intercept=-10.25)
    v = read_dicom_series(tmp_path)
    assert v.array.dtype == np.float32
    expected = factory.slice_values(2, 8, 10).astype(float) * 0.5 - 10.25
    assert np.allclose(v.array[2], expected)


def test_values_beyond_int16_promote_to_float32(tmp_path: Path) -> None:
    factory.write_series(tmp_path, n=3, slope=30.0, intercept=0.0, base=1000)
    v = read_dicom_series(tmp_path)
    assert v.array.dtype == np.float32
    assert float(v.array.max()) == pytest.approx(30.0 * (1000 + 200 + 7 + 9))


def test_mr_series_reads_without_rescale(tmp_path: Path) -> None:
    factory.write_series(tmp_path, modality="MR", n=3)
    v = read_dicom_series(tmp_path)
    assert v.metadata.modality == "MR" and v.metadata.kvp is None
    assert int(v.array[1, 0, 0]) == 100


def test_metadata_and_identity_are_filled(tmp_path: Path) -> None:
    factory.write_series(tmp_path, n=3)
    m = read_dicom_series(tmp_path).metadata
    assert m.patient_age_years == pytest.approx(67.0) and m.patient_sex == "F"
    assert m.identity.name == factory.PHI_NAME and m.identity.patient_id == factory.PHI_ID
    assert m.identity.birth_date == factory.PHI_BIRTH
    assert m.convolution_kernel.startswith("B30f") and m.series_instance_uid
    assert factory.PHI_NAME not in repr(m) and factory.PHI_ID not in str(m.to_json())


def test_enhanced_multiframe_ct_geometry(tmp_path: Path) -> None:
    path = factory.write_enhanced_ct(tmp_path / "enh" / "mf.dcm", n=5, descending=True)
    scan = scan_dicom(path)
    assert len(scan.series) == 1 and scan.series[0].n_slices == 5 and scan.series[0].n_files == 1
    v = read_dicom_series(path)
    assert v.shape == (5, 6, 7)
    assert v.spacing == pytest.approx((1.25, 0.5, 0.6))
    assert v.origin == pytest.approx((5.0, -3.0, 100.0))
    # Frames were stored top-down; the volume runs bottom-up with the shared -1000 intercept.
    assert list(v.array[:, 0, 0]) == [100 * k - 1000 for k in range(5)]


def test_progress_and_cancel(tmp_path: Path) -> None:
    factory.write_series(tmp_path, n=4)
    calls: list[tuple[int, int]] = []
    read_dicom_series(tmp_path, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (4, 4) and len(calls) == 4
    with pytest.raises(LoadCancelled):
        read_dicom_series(tmp_path, cancel=lambda: True)


def test_scan_progress_and_json_has_no_phi(tmp_path: Path) -> None:
    factory.write_series(tmp_path, n=3)
    seen: list[tuple[int, int]] = []
    scan = scan_dicom(tmp_path, progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (3, 3)
    text = str(scan.to_json())
    assert scan.series[0].to_json()["shape"] == [3, 8, 10]
    assert factory.PHI_NAME not in text and factory.PHI_ID not in text and factory.PHI_BIRTH not in text


def test_parallel_decode_path_matches_serial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, real_ct_series: Path) -> None:
    """Threads with imagecodecs and pydicom's own handlers, one at a time, give the same voxels."""
    import pydicom

    from napari_spine_mets.io import dicom_pixels

    monkeypatch.setenv("SPINE_METS_DECODE_THREADS", "2")
    parallel = read_dicom_series(real_ct_series).array
    monkeypatch.setenv("SPINE_METS_DECODE_THREADS", "1")
    monkeypatch.setattr(dicom_pixels, "_decode_with_imagecodecs", lambda ds, frames: None)
    serial = read_dicom_series(real_ct_series).array
    assert np.array_equal(serial, parallel)
    first = sorted(real_ct_series.iterdir())[0]
    assert dicom_pixels.decode_one(str(first))[0].dtype == pydicom.dcmread(first).pixel_array.dtype


def test_codestream_sign_is_matched_to_pixel_representation() -> None:
    """A signed 12-bit image stored as an unsigned codestream is sign-extended as pydicom does."""
    from napari_spine_mets.io.dicom_pixels import _as_stored_type

    raw = np.array([[0x000, 0x7FF, 0x800, 0xFFF]], dtype=np.uint16)
    np.testing.assert_array_equal(_as_stored_type(raw, 12, signed=True), [[0, 2047, -2048, -1]])
    assert _as_stored_type(raw, 12, signed=True).dtype == np.int16
    assert _as_stored_type(raw.astype(np.int16), 12, signed=False).dtype == np.uint16
