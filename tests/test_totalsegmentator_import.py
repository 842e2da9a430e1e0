"""Importing TotalSegmentator output: the real multilabel file, label tables, per-structure folders."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from napari_spine_mets.errors import NoImageDataError, SeriesGeometryError
from napari_spine_mets.io import geometry
from napari_spine_mets.io.totalseg_classes import TOTAL_V2_NAMES
from napari_spine_mets.io.totalsegmentator import (
    FIRST_EXTRA_ID,
    names_from_header,
    read_multilabel,
    read_structure_folder,
    read_totalsegmentator,
)
from napari_spine_mets.volume import Volume

RAS_AFFINE = np.array([[-0.8, 0, 0, 30.0], [0, 0.8, 0, -40.0], [0, 0, 2.0, -700.0], [0, 0, 0, 1]])


def _dicom_grid(series: Path) -> tuple[tuple[int, int, int], np.ndarray]:
    """Shape and LPS affine of the real series, from its headers alone (no pixel decoding)."""
    import pydicom

    slices = [pydicom.dcmread(str(p), stop_before_pixels=True) for p in sorted(series.iterdir()) if p.is_file()]
    orientation = np.asarray(slices[0].ImageOrientationPatient, dtype=float)
    normal = np.cross(orientation[:3], orientation[3:])
    slices.sort(key=lambda ds: float(np.dot(normal, np.asarray(ds.ImagePositionPatient, dtype=float))))
    first = np.asarray(slices[0].ImagePositionPatient, dtype=float)
    step = (np.asarray(slices[-1].ImagePositionPatient, dtype=float) - first) / (len(slices) - 1)
    affine = geometry.affine_from_dicom(first, orientation[:3], orientation[3:], step, slices[0].PixelSpacing)
    shape = (len(slices), int(slices[0].Rows), int(slices[0].Columns))
    array, affine = geometry.reorient_to_lps(np.zeros(shape, np.uint8), affine)
    return array.shape, affine


@pytest.mark.shared_data
def test_real_multilabel_file(real_ct_reference_labels: Path, real_ct_series: Path) -> None:
    labels = read_totalsegmentator(real_ct_reference_labels)
    counts = np.bincount(labels.array.ravel())
    assert counts[32] == 23_576 and counts[33] == 9_930
    assert labels.names[32] == "vertebrae_T12" and labels.names[33] == "vertebrae_T11"
    assert labels.names[117] == "costal_cartilages" and labels.names[1] == "spleen"
    assert set(labels.names) == set(np.flatnonzero(counts)) - {0}
    np.testing.assert_allclose(labels.affine[:3, 3], (-249.51171875, -437.51171875, -804.5))
    np.testing.assert_allclose(labels.spacing, (2.0, 0.9765625, 0.9765625))
    shape, affine = _dicom_grid(real_ct_series)
    assert geometry.same_grid(labels.array.shape, labels.affine, shape, affine)


@pytest.mark.shared_data
def test_real_header_table_matches_the_v2_class_map(real_ct_reference_labels: Path) -> None:
    assert names_from_header(real_ct_reference_labels) == TOTAL_V2_NAMES


@pytest.mark.shared_data
def test_real_file_onto_a_target_volume(real_ct_reference_labels: Path) -> None:
    native = read_multilabel(real_ct_reference_labels)
    # the same grid with the rows stored the other way round (as a reader that did not reorient would)
    flipped_affine = native.affine.copy()
    flipped_affine[:3, 1] *= -1
    flipped_affine[:3, 3] = native.affine[:3, 3] + native.affine[:3, 1] * 511
    target = Volume(np.zeros((20, 512, 512), np.int16), flipped_affine)
    placed = read_multilabel(real_ct_reference_labels, target=target)
    np.testing.assert_array_equal(placed.affine, flipped_affine)
    np.testing.assert_array_equal(placed.array, native.array[:, ::-1, :])


def _write(path: Path, array_ijk: np.ndarray, affine: np.ndarray = RAS_AFFINE, table: dict[int, str] | None = None) -> None:
    import nibabel as nib

    image = nib.Nifti1Image(array_ijk.astype(np.uint8), affine)
    if table is not None:  # as TotalSegmentator's add_label_map_to_nifti writes it
        body = "".join(f'<Label Key="{k}" Red="1" Green="0" Blue="0" Alpha="1"><![CDATA[{v}]]></Label>\n'
                       for k, v in table.items())
        xml = ('<?xml version="1.0" encoding="UTF-8"?> <CaretExtension> <VolumeInformation Index="0"> <LabelTable>\n'
               f"{body}</LabelTable> </VolumeInformation></CaretExtension>")
        image.header.extensions.append(nib.nifti1.Nifti1Extension(0, xml.encode()))
    nib.save(image, str(path))


def test_label_table_renumbers_to_v2_ids(tmp_path: Path) -> None:
    data = np.zeros((6, 5, 4), np.uint8)
    data[0, 0, 0], data[1, 1, 1], data[2, 2, 2], data[3, 3, 3] = 5, 7, 9, 32
    # another numbering: 5 is T12, 32 a structure v2 does not know, 9 has no name, 7 is the sacrum
    _write(tmp_path / "ml.nii.gz", data, table={5: "vertebrae_T12", 7: "sacrum", 32: "screw"})
    labels = read_multilabel(tmp_path / "ml.nii.gz")
    assert labels.names == {32: "vertebrae_T12", 25: "sacrum", 9: "label_9", FIRST_EXTRA_ID: "screw"}
    values = {int(v): int(np.count_nonzero(labels.array == v)) for v in np.unique(labels.array)}
    assert values == {0: 116, 32: 1, 25: 1, 9: 1, FIRST_EXTRA_ID: 1}


def test_without_table_ids_are_v2_total(tmp_path: Path) -> None:
    data = np.zeros((6, 5, 4), np.uint8)
    data[0, 0, 0], data[1, 1, 1], data[2, 2, 2] = 32, 79, 150
    _write(tmp_path / "ml.nii.gz", data)
    labels = read_multilabel(tmp_path / "ml.nii.gz")
    assert labels.names == {32: "vertebrae_T12", 79: "spinal_cord", 150: "label_150"}
    assert int(labels.array[labels.array > 0].sum()) == 32 + 79 + 150


def test_structure_folder(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    shape = (6, 5, 4)
    masks = {name: np.zeros(shape, np.uint8) for name in ("vertebrae_T11", "vertebrae_T12", "sacrum", "spleen", "implant")}
    masks["vertebrae_T12"][1:3] = 1
    masks["vertebrae_T11"][2:4] = 1  # overlaps T12 on i == 2
    masks["sacrum"][5, 0, 0] = 1
    masks["implant"][0, 4, 3] = 1
    # spleen stays empty: TotalSegmentator writes every structure, found or not
    for name, mask in masks.items():
        _write(tmp_path / f"{name}.nii.gz", mask)
    (tmp_path / "notes.txt").write_text("not a mask")
    with caplog.at_level(logging.WARNING):
        labels = read_structure_folder(tmp_path)
    assert labels.names == {25: "sacrum", 32: "vertebrae_T12", 33: "vertebrae_T11", FIRST_EXTRA_ID: "implant"}
    assert "vertebrae_T11 overlaps 20 voxels already labelled vertebrae_T12" in caplog.text
    # compare in the file's own (i, j, k) indexing through the affines
    ijk_to_ours = np.linalg.inv(labels.affine) @ geometry.affine_from_nifti(RAS_AFFINE) @ np.array(
        [[0, 0, 1, 0], [0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1]], float)
    def at(i, j, k):
        z, y, x = np.rint(ijk_to_ours @ [i, j, k, 1])[:3].astype(int)
        return labels.array[z, y, x]
    assert at(2, 0, 0) == 32 and at(3, 0, 0) == 33 and at(1, 1, 1) == 32
    assert at(5, 0, 0) == 25 and at(0, 4, 3) == FIRST_EXTRA_ID and at(4, 0, 0) == 0
    assert np.count_nonzero(labels.array == 32) == 40 and np.count_nonzero(labels.array == 33) == 20


def test_structure_folder_on_different_grids_is_refused(tmp_path: Path) -> None:
    _write(tmp_path / "vertebrae_T12.nii.gz", np.ones((6, 5, 4), np.uint8))
    _write(tmp_path / "vertebrae_T11.nii.gz", np.ones((6, 5, 3), np.uint8))
    with pytest.raises(SeriesGeometryError, match="vertebrae_T11.nii.gz: not on the same voxel grid"):
        read_structure_folder(tmp_path)


def test_empty_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NoImageDataError, match="no NIfTI mask files"):
        read_totalsegmentator(tmp_path)
