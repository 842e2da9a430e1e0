"""Bad input to lesion detection: MR refused, labels on another grid, no vertebra, cancel."""

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
