"""DICOM-SEG export/import: exact round trip, references, codes, and refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("highdicom")

import dicomio_fixtures as fx  # noqa: E402

from napari_spine_mets.dicomio.errors import DicomExportError, SegImportError  # noqa: E402
from napari_spine_mets.dicomio.seg_export import export_seg  # noqa: E402
from napari_spine_mets.dicomio.seg_import import import_seg  # noqa: E402
from napari_spine_mets.dicomio.source_series import load_source_series  # noqa: E402
from napari_spine_mets.volume import LabelMap  # noqa: E402


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("seg")
    case, dicom, maps, ct = fx.write_case(folder)
    segs = {name: export_seg(labels, dicom, folder / f"{name}.dcm", uid_seed="t") for name, labels in maps.items()}
    return case, dicom, maps, ct, segs


@pytest.mark.parametrize("name", ["vertebrae", "parts", "lesions"])
def test_round_trip_is_identical(written, name: str) -> None:
    _, dicom, maps, _, segs = written
    original = maps[name]
    assert np.count_nonzero(original.array), "the synthetic map must not be empty"
    back = import_seg(segs[name], dicom)
    assert back.array.dtype == original.array.dtype
    assert np.array_equal(back.array, original.array)
    assert np.array_equal(back.affine, original.affine)
    assert back.names == original.names
    assert (back.name, back.source) == (original.name, original.source)


def test_seg_references_source_series_instances_and_frame(written) -> None:
    import highdicom as hd
    from pydicom import dcmread

    _, dicom, _, ct, segs = written
    seg = hd.seg.segread(segs["vertebrae"])
    sources = [dcmread(p, stop_before_pixels=True) for p in sorted(dicom.glob("*.dcm"))]
    assert seg.FrameOfReferenceUID == sources[0].FrameOfReferenceUID == ct.metadata.frame_of_reference_uid
    assert seg.StudyInstanceUID == sources[0].StudyInstanceUID
    referenced = seg.ReferencedSeriesSequence[0]
    assert referenced.SeriesInstanceUID == sources[0].SeriesInstanceUID
    ref_sops = {item.ReferencedSOPInstanceUID for item in referenced.ReferencedInstanceSequence}
    assert ref_sops == {ds.SOPInstanceUID for ds in sources}
    # every frame points at a source slice, and lies where that slice lies
    by_uid = {ds.SOPInstanceUID: ds for ds in sources}
    for frame in seg.PerFrameFunctionalGroupsSequence:
        uid = frame.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID
        position = [float(v) for v in frame.PlanePositionSequence[0].ImagePositionPatient]
        assert np.allclose(position, [float(v) for v in by_uid[uid].ImagePositionPatient], atol=1e-4)


def test_segment_codes_are_standard(written) -> None:
    from pydicom import dcmread

    segs = written[4]
    vertebrae = {s.SegmentLabel: s for s in dcmread(segs["vertebrae"]).SegmentSequence}
    assert vertebrae["vertebrae_L1"].SegmentedPropertyTypeCodeSequence[0].CodeValue == "66794005"
    assert vertebrae["vertebrae_L3"].SegmentedPropertyTypeCodeSequence[0].CodeValue == "36470004"
    assert vertebrae["spinal_cord"].SegmentedPropertyTypeCodeSequence[0].CodeValue == "2748008"
    assert vertebrae["vertebrae_L1"].SegmentedPropertyCategoryCodeSequence[0].CodeValue == "91723000"
    parts = {s.SegmentLabel: s for s in dcmread(segs["parts"]).SegmentSequence}
    pedicle = parts["pedicle_left"].SegmentedPropertyTypeCodeSequence[0]
    assert pedicle.CodeValue == "78972004"
    assert pedicle.SegmentedPropertyTypeModifierCodeSequence[0].CodeValue == "7771000"  # Left
    lesion = dcmread(segs["lesions"]).SegmentSequence[0]
    assert lesion.SegmentedPropertyCategoryCodeSequence[0].CodeValue == "49755003"
    assert lesion.SegmentedPropertyTypeCodeSequence[0].CodeValue == "52988006"
    assert lesion.AnatomicRegionSequence[0].CodeValue == "14293000"  # L2
    for item in list(vertebrae.values()) + list(parts.values()):
        assert item.SegmentedPropertyTypeCodeSequence[0].CodingSchemeDesignator == "SCT"


def test_labels_off_the_source_grid_are_refused(written, tmp_path: Path) -> None:
    _, dicom, maps, _, _ = written
    labels = maps["vertebrae"]
    shifted = LabelMap(array=labels.array, affine=labels.affine + np.diag([0, 0, 0, 0]) + _shift(5.0), names=labels.names, name="x")
    with pytest.raises(DicomExportError, match="does not lie on the grid"):
        export_seg(shifted, dicom, tmp_path / "x.dcm")
    assert not (tmp_path / "x.dcm").exists()
    with pytest.raises(DicomExportError, match="empty"):
        export_seg(LabelMap(np.zeros_like(labels.array), labels.affine, name="e"), dicom, tmp_path / "e.dcm")


def _shift(mm: float) -> np.ndarray:
    out = np.zeros((4, 4))
    out[0, 3] = mm
    return out


def test_import_refuses_a_seg_of_another_series(written, tmp_path: Path) -> None:
    _, _, _, _, segs = written
    _, other, _, _ = fx.write_case(tmp_path, seed="another-series")
    with pytest.raises(SegImportError, match="another"):
        import_seg(segs["vertebrae"], other)
    not_seg = sorted(other.glob("*.dcm"))[0]
    with pytest.raises(SegImportError, match="not a readable DICOM Segmentation"):
        import_seg(not_seg, other)


@pytest.mark.shared_data
def test_real_series_with_empty_uids_is_refused_then_works_after_assign_uids(real_ct_series: Path, real_ct_reference_labels: Path,
                                                                           tmp_path: Path) -> None:
    from napari_spine_mets.dicomio.uids import assign_uids
    from napari_spine_mets.io.dicom import read_dicom_series
    from napari_spine_mets.io.nifti import read_label_nifti

    with pytest.raises(DicomExportError, match="assign-uids"):
        load_source_series(real_ct_series)
    assign_uids(real_ct_series, tmp_path / "real")
    ct = read_dicom_series(tmp_path / "real")
    reference = read_label_nifti(real_ct_reference_labels)
    vertebrae = np.where(np.isin(reference.array, (32, 33)), reference.array, 0).astype(np.uint8)
    labels = LabelMap(array=vertebrae, affine=reference.affine, names={32: "vertebrae_T12", 33: "vertebrae_T11"}, name="vertebrae")
    out = export_seg(labels, tmp_path / "real", tmp_path / "real-seg.dcm")
    back = import_seg(out, tmp_path / "real")
    assert np.array_equal(back.array, vertebrae)
    assert np.array_equal(back.affine, ct.affine)
    # the labels overlay the right anatomy: T12 is bone (the reference README: ~270 HU mean)
    assert float(ct.array[back.array == 32].mean()) > 150
