"""Every kind of bad DICOM input gives a specific project error (naming the path) or a documented fix-up."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

import dicom_factory as factory
from napari_spine_mets.errors import (
    AmbiguousSeriesError,
    CorruptFileError,
    InputError,
    ModalityError,
    NoImageDataError,
    SeriesGeometryError,
    UnsupportedTransferSyntaxError,
)
from napari_spine_mets.io.dicom import read_dicom_series
from napari_spine_mets.io.dicom_scan import NO_PIXELS, NOT_DICOM, scan_dicom


def test_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(NoImageDataError, match="empty") as info:
        read_dicom_series(tmp_path)
    assert str(tmp_path) in str(info.value)


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(NoImageDataError, match="no such file or folder") as info:
        read_dicom_series(tmp_path / "nope")
    assert "nope" in str(info.value)


def test_only_non_dicom_files(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(NoImageDataError, match="1 file\\(s\\) skipped") as info:
        read_dicom_series(tmp_path)
    assert str(tmp_path) in str(info.value)


def test_non_dicom_files_are_skipped_and_counted(tmp_path: Path) -> None:
    factory.write_series(tmp_path, n=4)
    (tmp_path / "README.txt").write_text("not an image")
    (tmp_path / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1" + bytes(200))
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "thumb.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(300))
    scan = scan_dicom(tmp_path)
    assert len(scan.series) == 1 and scan.series[0].n_files == 4
    assert sorted(s.path.name for s in scan.skipped) == [".DS_Store", "README.txt", "thumb.jpg"]
    assert {s.reason for s in scan.skipped} == {NOT_DICOM}
    assert read_dicom_series(tmp_path).shape == (4, 8, 10)


def test_dicom_without_pixels_is_skipped(tmp_path: Path) -> None:
    from pydicom.dataset import Dataset, FileMetaDataset

    factory.write_series(tmp_path, n=3)
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.88.11"  # basic text SR
    ds.file_meta.MediaStorageSOPInstanceUID = "1.2.826.0.1.3680043.8.498.99"
    ds.file_meta.TransferSyntaxUID = factory.EXPLICIT_LE
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID
    ds.Modality = "SR"
    ds.save_as(tmp_path / "report.dcm", enforce_file_format=True)
    scan = scan_dicom(tmp_path)
    assert [(s.path.name, s.reason) for s in scan.skipped] == [("report.dcm", NO_PIXELS)]
    assert read_dicom_series(tmp_path).shape[0] == 3


def test_truncated_file_inside_series(tmp_path: Path) -> None:
    files = factory.write_series(tmp_path, n=5)
    victim = files[2]
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) - 60])  # cut into the pixel data
    with pytest.raises(CorruptFileError) as info:
        read_dicom_series(tmp_path)
    assert victim.name in str(info.value)
    assert info.value.path == victim


def test_file_truncated_in_header_is_skipped_with_reason(tmp_path: Path) -> None:
    files = factory.write_series(tmp_path, n=4)
    files[0].write_bytes(files[0].read_bytes()[:300])
    scan = scan_dicom(tmp_path)
    reasons = {s.path.name: s.reason for s in scan.skipped}
    assert files[0].name in reasons
    assert reasons[files[0].name].startswith("truncated or corrupt")
    assert scan.series[0].n_files == 3


def test_two_series_in_one_folder(tmp_path: Path) -> None:
    factory.write_series(tmp_path, n=4, series_number=2, description="bone", prefix="a", base=0)
    factory.write_series(tmp_path, n=3, series_number=3, description="soft", prefix="b", base=50)
    scan = scan_dicom(tmp_path)
    assert len(scan.series) == 2
    with pytest.raises(AmbiguousSeriesError) as info:
        read_dicom_series(tmp_path)
    message = str(info.value)
    assert str(tmp_path) in message and "2 series" in message
    for s in scan.series:
        assert s.key in message
    by_desc = {s.series_description: s for s in scan.series}
    bone = read_dicom_series(tmp_path, series=by_desc["bone"].key)
    soft = read_dicom_series(tmp_path, series=by_desc["soft"].key)
    assert bone.shape[0] == 4 and soft.shape[0] == 3
    assert int(soft.array[0, 0, 0]) == 50 - 1024
    with pytest.raises(AmbiguousSeriesError, match="no series with key 'nope'"):
        read_dicom_series(tmp_path, series="nope")


def test_two_series_without_uids_are_kept_apart(tmp_path: Path) -> None:
    factory.write_series(tmp_path, n=3, series_uid="", series_number=4, prefix="a")
    factory.write_series(tmp_path, n=3, series_uid="", series_number=5, prefix="b")
    scan = scan_dicom(tmp_path)
    assert sorted(s.series_number for s in scan.series) == ["4", "5"]
    assert all(s.n_slices == 3 and not s.problems for s in scan.series)


def test_scan_keys_are_stable(tmp_path: Path) -> None:
    factory.write_series(tmp_path, n=3, series_uid="1.2.3.4")
    assert scan_dicom(tmp_path).series[0].key == scan_dicom(tmp_path).series[0].key


def test_missing_slice_is_interpolated_with_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    factory.write_series(tmp_path, n=6, skip=(3,))
    info = scan_dicom(tmp_path).series[0]
    assert any("1 missing slice" in p for p in info.problems)
    assert info.shape == (6, 8, 10) and info.n_slices == 5
    with caplog.at_level(logging.WARNING):
        v = read_dicom_series(tmp_path)
    assert v.shape == (6, 8, 10) and v.spacing == pytest.approx((2.0, 0.8, 0.7))
    assert any("missing slice" in w for w in v.metadata.warnings)
    assert any("missing slice" in r.getMessage() for r in caplog.records)
    # Slices on the grid are exact; the missing one is the mean of its neighbours.
    assert float(v.array[2, 0, 0]) == 200 - 1024 and float(v.array[4, 0, 0]) == 400 - 1024
    assert float(v.array[3, 1, 2]) == pytest.approx(300 + 3 - 1024)


def test_uneven_spacing_is_resampled_with_warning(tmp_path: Path) -> None:
    factory.write_series(tmp_path, n=5, distances=[0.0, 1.0, 2.5, 3.0, 4.0])
    info = scan_dicom(tmp_path).series[0]
    assert any("uneven slice spacing" in p for p in info.problems)
    v = read_dicom_series(tmp_path)
    assert any("uneven slice spacing" in w for w in v.metadata.warnings)
    assert v.shape[0] == 5 and v.spacing[0] == pytest.approx(1.0)
    # Grid z = 2 mm lies between acquired 1.0 (k=1) and 2.5 (k=2): weight 2/3 on k=2.
    assert float(v.array[2, 0, 0]) == pytest.approx(100 + (200 - 100) * (1.0 / 1.5) - 1024, abs=1e-3)
    assert float(v.array[4, 0, 0]) == 400 - 1024


def test_mixed_orientations_are_split(tmp_path: Path) -> None:
    uid = "1.2.826.0.1.3680043.8.498.555"
    factory.write_series(tmp_path, n=4, series_uid=uid, prefix="ax")
    factory.write_series(tmp_path, n=3, series_uid=uid, prefix="sag", orientation=(0, 1, 0, 0, 0, -1))
    scan = scan_dicom(tmp_path)
    assert sorted((s.orientation, s.n_slices) for s in scan.series) == [("axial", 4), ("sagittal", 3)]
    assert all(any("split from a series" in p for p in s.problems) for s in scan.series)
    assert len({s.key for s in scan.series}) == 2
    with pytest.raises(AmbiguousSeriesError):
        read_dicom_series(tmp_path)
    sag = next(s for s in scan.series if s.orientation == "sagittal")
    v = read_dicom_series(tmp_path, series=sag.key)
    assert v.shape == (8, 10, 3)
    # the series UID alone no longer picks one series
    with pytest.raises(AmbiguousSeriesError):
        read_dicom_series(tmp_path, series=uid)


def test_single_2d_image(tmp_path: Path) -> None:
    files = factory.write_series(tmp_path, n=1)
    with pytest.raises(SeriesGeometryError, match="single 2D image") as info:
        read_dicom_series(tmp_path)
    assert files[0].name in str(info.value)


def test_transfer_syntax_without_decoder(tmp_path: Path) -> None:
    files = factory.write_encapsulated_series(tmp_path, factory.MPEG2)
    scan = scan_dicom(tmp_path)
    assert any("MPEG2" in p for p in scan.series[0].problems)
    with pytest.raises(UnsupportedTransferSyntaxError) as info:
        read_dicom_series(tmp_path)
    message = str(info.value)
    assert "1.2.840.10008.1.2.4.100" in message and "MPEG2" in message and "decoder" in message
    assert str(files[0].parent) in message


def test_missing_decoder_package_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A JPEG 2000 series when the decoder plugins are missing: name the package to install."""
    import pydicom.pixels

    jpeg2000 = "1.2.840.10008.1.2.4.90"

    class Unavailable:
        is_available = False
        missing_dependencies = ["pylibjpeg - requires pylibjpeg>=2.0 and pylibjpeg-openjpeg>=2.0"]

    real = pydicom.pixels.get_decoder
    monkeypatch.setattr(pydicom.pixels, "get_decoder", lambda uid: Unavailable() if uid == jpeg2000 else real(uid))
    files = factory.write_encapsulated_series(tmp_path, jpeg2000)
    with pytest.raises(UnsupportedTransferSyntaxError, match="pylibjpeg-openjpeg") as info:
        read_dicom_series(tmp_path)
    assert "JPEG 2000" in str(info.value) and files[0].name in str(info.value)


def test_mr_where_ct_hu_required(tmp_path: Path) -> None:
    factory.write_series(tmp_path, modality="MR", n=3)
    with pytest.raises(ModalityError, match="MR series: CT Hounsfield units are required") as info:
        read_dicom_series(tmp_path, require_ct_hu=True)
    assert str(tmp_path) in str(info.value)


def test_gantry_tilt_is_corrected_with_warning(tmp_path: Path) -> None:
    # Each slice 0.4 mm further posterior (y) than the last: a 11.3 degree tilt at 2 mm steps.
    factory.write_series(tmp_path, n=5, tilt_shift=(0.0, 0.4, 0.0))
    info = scan_dicom(tmp_path).series[0]
    assert any("gantry tilt" in p for p in info.problems)
    v = read_dicom_series(tmp_path)
    assert any("gantry tilt" in w for w in v.metadata.warnings)
    d = v.affine[:3, :3]
    assert np.allclose(d, np.array([[0, 0, 0.7], [0, 0.8, 0], [2.0, 0, 0]]))  # orthogonal, no shear
    # Voxel (k, r, c) on the untilted grid samples acquired slice k at row r - 0.4 k / 0.8.
    k, r, c = 2, 4, 3
    expected = 100 * k + (r - 0.4 * k / 0.8) + c - 1024
    assert float(v.array[k, r, c]) == pytest.approx(expected, abs=1e-3)


def test_duplicate_positions_are_refused(tmp_path: Path) -> None:
    uid = "1.2.826.0.1.3680043.8.498.556"
    factory.write_series(tmp_path, n=3, series_uid=uid, prefix="a")
    factory.write_series(tmp_path, n=3, series_uid=uid, prefix="b")
    with pytest.raises(SeriesGeometryError, match="share a position") as info:
        read_dicom_series(tmp_path)
    assert str(tmp_path) in str(info.value)


def test_phi_never_in_logs_or_errors(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    phi = (factory.PHI_NAME, "Doe", "Janet", factory.PHI_ID, factory.PHI_BIRTH)
    messages: list[str] = []
    with caplog.at_level(logging.DEBUG):
        good = tmp_path / "good"
        factory.write_series(good, n=4, skip=(2,))  # warning path
        v = read_dicom_series(good)
        messages += [repr(v), repr(v.metadata), str(v.metadata.to_json())]
        two = tmp_path / "two"
        factory.write_series(two, n=3, series_number=1, prefix="a")
        factory.write_series(two, n=3, series_number=2, prefix="b", modality="MR")
        bad_calls = [
            lambda: read_dicom_series(two),
            lambda: read_dicom_series(tmp_path / "missing"),
            lambda: read_dicom_series(good, require_ct_hu=True, series="nope"),
        ]
        mr = next(s for s in scan_dicom(two).series if s.modality == "MR")
        bad_calls.append(lambda: read_dicom_series(two, series=mr.key, require_ct_hu=True))
        for call in bad_calls:
            with pytest.raises(InputError) as info:
                call()
            messages.append(str(info.value))
            messages.append(repr(info.value))
    messages += [r.getMessage() for r in caplog.records]
    assert len(caplog.records) >= 2
    for text in messages:
        for value in phi:
            assert value not in text, f"PHI leaked: {text!r}"
