"""Input to lesion detection: MR refused, labels on another grid, no vertebra, cancel; and real bone
(the real CT series, no known metastasis) where normal dense bone must not be proposed."""

from __future__ import annotations

import numpy as np
import pytest

from napari_spine_mets.detection.inputs import DetectionCancelled, NoVertebraError
from napari_spine_mets.detection.pipeline import detect_lesions
from napari_spine_mets.errors import GridMismatchError, ModalityError, SpineMetsError
from napari_spine_mets.synthetic import SpineParams, generate_spine_ct
from napari_spine_mets.volume import LabelMap, Volume, VolumeMetadata


@pytest.fixture(scope="module")
def small_case():
    return generate_spine_ct(SpineParams(seed=5, levels=("L2", "L3", "L4"), include_sacrum=False, fov_mm=180.0,
                                         spacing_mm=(2.5, 1.0, 1.0), ribs=False, lesions=(), fracture=None))


def test_mr_is_refused_with_a_clear_message(small_case) -> None:
    mr = Volume(np.abs(small_case.ct.array).astype(np.int16), small_case.ct.affine, VolumeMetadata(modality="MR"), name="T2")
    with pytest.raises(ModalityError, match="CT only.*manual tools"):
        detect_lesions(mr, small_case.vertebrae)


def test_unknown_modality_without_negative_values_is_refused(small_case) -> None:
    positive = Volume(np.abs(small_case.ct.array), small_case.ct.affine, VolumeMetadata(), name="x")
    with pytest.raises(ModalityError, match="not Hounsfield"):
        detect_lesions(positive, small_case.vertebrae)


def test_labels_on_another_grid_are_refused(small_case) -> None:
    labels = small_case.vertebrae
    cropped = LabelMap(labels.array[:, 1:, :], labels.affine, labels.names, name="vertebrae")
    with pytest.raises(GridMismatchError, match="not on the grid"):
        detect_lesions(small_case.ct, cropped)
    shifted = LabelMap(labels.array, labels.affine + np.pad(np.eye(3) * 0, ((0, 1), (0, 1))) + _shift(5.0), labels.names)
    with pytest.raises(GridMismatchError):
        detect_lesions(small_case.ct, shifted)


def _shift(mm: float) -> np.ndarray:
    m = np.zeros((4, 4))
    m[0, 3] = mm
    return m


def test_no_vertebra_says_run_segmentation_first(small_case) -> None:
    with pytest.raises(NoVertebraError, match="segmentation first"):
        detect_lesions(small_case.ct, None)
    empty = LabelMap(np.zeros(small_case.ct.shape, np.uint8), small_case.ct.affine, name="empty")
    with pytest.raises(NoVertebraError, match="no vertebra"):
        detect_lesions(small_case.ct, empty)
    assert issubclass(NoVertebraError, SpineMetsError)


def test_cancel_stops_detection(small_case) -> None:
    with pytest.raises(DetectionCancelled):
        detect_lesions(small_case.ct, small_case.vertebrae, cancel=lambda: True)


def test_progress_is_reported(small_case) -> None:
    seen: list[float] = []
    detect_lesions(small_case.ct, small_case.vertebrae, progress=lambda f, m: seen.append(f))
    assert seen == sorted(seen) and seen[-1] == 1.0


def test_real_series_marginal_sclerosis_is_screened_not_proposed(real_ct_series, real_ct_reference_labels) -> None:
    """The real CT has no known metastasis. Its T12 body has a dense anterior-right margin
    (marginal sclerosis / osteophyte, ~750 HU) lying in the outer 3 mm of the body: it departs
    from the depth profile but is listed as not proposed, with the reason, and gets no label."""
    from napari_spine_mets.io.dicom import read_dicom_series
    from napari_spine_mets.io.geometry import world_from_index
    from napari_spine_mets.io.totalsegmentator import read_totalsegmentator

    ct = read_dicom_series(real_ct_series)
    labels = read_totalsegmentator(real_ct_reference_labels, target=ct)
    report = detect_lesions(ct, labels)
    assert report.lesions == []
    assert (report.labels.array == 0).all()
    screened = [c for c in report.not_proposed if c.level == "T12" and "cortical band" in c.reason]
    assert screened, [c.to_json() for c in report.not_proposed]
    margin = max(screened, key=lambda c: c.volume_mm3)
    assert margin.kind == "blastic" and margin.volume_mm3 > 1000 and margin.mean_hu > 500
    t12 = world_from_index(ct.affine, np.argwhere(labels.array == 32).mean(axis=0))
    assert margin.centroid_lps_mm[0] < t12[0] - 5  # the patient's right (LPS x towards the left)
    assert margin.centroid_lps_mm[1] < t12[1] - 10  # anterior (LPS y towards posterior)
