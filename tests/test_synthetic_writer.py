"""write_synthetic_case: DICOM and NIfTI read back with pydicom, SimpleITK and nibabel."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from napari_spine_mets.io import geometry
from napari_spine_mets.synthetic import FractureSpec, LesionSpec, SpineParams, SyntheticCase, generate_spine_ct, write_synthetic_case

PARAMS = SpineParams(
    levels=("L4", "L5", "S1"), spacing_mm=(2.5, 1.2, 1.2), fov_mm=240.0,
    lesions=(LesionSpec("L4", "blastic", 6.0), LesionSpec("L5", "lytic", 7.0)),
    fracture=FractureSpec("L4", 0.3),
)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[SyntheticCase, dict[str, Path]]:
    case = generate_spine_ct(PARAMS)
    return case, write_synthetic_case(case, tmp_path_factory.mktemp("case"))


def test_dicom_reads_back_with_pydicom(written: tuple[SyntheticCase, dict[str, Path]]) -> None:
    import pydicom
    from pydicom.uid import ExplicitVRLittleEndian

    case, paths = written
    files = sorted(paths["dicom"].glob("*.dcm"))
    assert len(files) == case.ct.shape[0]
    slices = sorted((pydicom.dcmread(f) for f in files), key=lambda d: int(d.InstanceNumber))
    first = slices[0]
    assert first.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert first.SOPClassUID == "1.2.840.10008.5.1.4.1.1.2"
    assert str(first.PatientName) == "SYNTHETIC^SPINE" and first.Modality == "CT" and float(first.KVP) == 120
    assert first.Manufacturer == "napari-spine-mets synthetic"
    assert len({d.SeriesInstanceUID for d in slices}) == 1 and len({d.SOPInstanceUID for d in slices}) == len(slices)
    hu = np.stack([d.pixel_array * float(d.RescaleSlope) + float(d.RescaleIntercept) for d in slices])
    assert np.array_equal(hu, case.ct.array)
    positions = [np.array(d.ImagePositionPatient, float) for d in slices]
    affine = geometry.affine_from_dicom(positions[0], first.ImageOrientationPatient[:3],
                                        first.ImageOrientationPatient[3:], positions[1] - positions[0],
                                        first.PixelSpacing)
    np.testing.assert_allclose(affine, case.ct.affine, atol=1e-4)
    assert float(first.SliceThickness) == pytest.approx(2.5)


def test_dicom_reads_back_with_simpleitk(written: tuple[SyntheticCase, dict[str, Path]]) -> None:
    sitk = pytest.importorskip("SimpleITK")
    case, paths = written
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(paths["dicom"])))
    image = reader.Execute()
    assert np.array_equal(sitk.GetArrayFromImage(image), case.ct.array)  # SimpleITK arrays are (z, y, x) too
    direction = np.array(image.GetDirection()).reshape(3, 3)  # columns: LPS direction of i, j, k
    spacing = np.array(image.GetSpacing())
    affine = np.eye(4)
    affine[:3, :3] = (direction * spacing)[:, ::-1]  # (i, j, k) = (x, y, z) index -> our (z, y, x)
    affine[:3, 3] = image.GetOrigin()
    np.testing.assert_allclose(affine, case.ct.affine, atol=1e-4)


def test_nifti_ground_truth_lines_up(written: tuple[SyntheticCase, dict[str, Path]]) -> None:
    import nibabel as nib

    case, paths = written
    for role in ("vertebrae", "parts", "lesions"):
        image = nib.load(str(paths[role]))
        data = np.asanyarray(image.dataobj).transpose(2, 1, 0)
        assert np.array_equal(data, getattr(case, role).array), role
        np.testing.assert_allclose(geometry.affine_from_nifti(image.affine), case.ct.affine, atol=1e-4)
    assert np.asanyarray(nib.load(str(paths["lesions"])).dataobj).max() == 2


def test_truth_json_and_determinism(written: tuple[SyntheticCase, dict[str, Path]], tmp_path: Path) -> None:
    case, paths = written
    truth = json.loads(paths["truth"].read_text())
    assert truth["generator_version"] and truth["params"]["seed"] == PARAMS.seed
    assert [lesion["kind"] for lesion in truth["lesions"]] == ["blastic", "lytic"]
    assert truth["fracture"]["level"] == "L4" and truth["fracture"]["genant_grade"] in (1, 2)
    again = write_synthetic_case(generate_spine_ct(PARAMS), tmp_path / "again")

    def digest(folder: Path) -> dict[str, str]:
        return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(folder.rglob("*")) if p.is_file()}

    assert digest(paths["truth"].parent) == digest(again["truth"].parent)


def test_dicom_reads_back_with_this_plugin(written: tuple[SyntheticCase, dict[str, Path]]) -> None:
    """The plugin's own reader gives back exactly the generated HU on exactly the same grid."""
    from napari_spine_mets.io.dicom import read_dicom_series
    from napari_spine_mets.io.nifti import read_label_nifti

    case, paths = written
    ct = read_dicom_series(paths["dicom"], require_ct_hu=True)
    assert ct.array.dtype == np.int16
    np.testing.assert_array_equal(ct.array, case.ct.array)
    np.testing.assert_allclose(ct.affine, case.ct.affine, atol=1e-4)
    assert ct.metadata.kvp == 120.0 and ct.metadata.modality == "CT"
    vertebrae = read_label_nifti(paths["vertebrae"])
    np.testing.assert_array_equal(vertebrae.array, case.vertebrae.array)
    np.testing.assert_allclose(vertebrae.affine, ct.affine, atol=1e-4)
