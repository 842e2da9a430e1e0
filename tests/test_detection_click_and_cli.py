"""Click-to-segment grows the clicked lesion; the ``lesions`` CLI writes NIfTI + JSON; the real series."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from napari_spine_mets.cli import main
from napari_spine_mets.detection.click_segment import segment_from_click
from napari_spine_mets.detection.inputs import DetectionError
from napari_spine_mets.io.geometry import index_from_world
from napari_spine_mets.io.nifti import write_nifti
from napari_spine_mets.synthetic import LesionSpec, SpineParams, generate_spine_ct


@pytest.fixture(scope="module")
def two_lesions():
    return generate_spine_ct(SpineParams(
        seed=21, levels=("L1", "L2", "L3"), include_sacrum=False, fov_mm=200.0, spacing_mm=(2.0, 0.9, 0.9),
        ribs=False, fracture=None,
        lesions=(LesionSpec("L1", "lytic", 8.0, "body"), LesionSpec("L3", "blastic", 8.0, "body"))))


def _centre_voxel(case, lesion_id: int) -> tuple[int, int, int]:
    pts = np.argwhere(case.lesions.array == lesion_id)
    centre = pts.mean(axis=0)
    return tuple(pts[np.argmin(((pts - centre) ** 2).sum(axis=1))])


@pytest.mark.parametrize("lesion_id", [1, 2])
def test_click_grows_the_clicked_lesion_only(two_lesions, lesion_id: int) -> None:
    case = two_lesions
    truth = case.lesions.array == lesion_id
    result = segment_from_click(case.ct, case.vertebrae, _centre_voxel(case, lesion_id), lesion_id=7)
    dice = 2 * (result.mask & truth).sum() / (result.mask.sum() + truth.sum())
    assert dice > 0.6
    other = case.lesions.array == (3 - lesion_id)
    assert not (result.mask & other).any()
    assert result.record.lesion.status.value == "drawn" and result.record.lesion.id == 7
    assert result.record.lesion.kind.value == case.lesion_truth[lesion_id - 1].kind
    assert result.mask.shape == case.ct.shape and result.mask.dtype == bool  # editable in a labels layer


def test_click_outside_bone_or_on_normal_bone_is_refused(two_lesions) -> None:
    case = two_lesions
    with pytest.raises(DetectionError, match="not inside a labelled vertebra"):
        segment_from_click(case.ct, case.vertebrae, (0, 0, 0))
    # L2 has no lesion: the middle of its body is normal bone
    vt = next(v for v in case.vertebra_truth if v.level == "L2")
    idx = tuple(int(round(v)) for v in index_from_world(case.ct.affine, np.array(vt.center_lps)))
    with pytest.raises(DetectionError, match="does not depart"):
        segment_from_click(case.ct, case.vertebrae, idx)


def test_cli_writes_masks_and_json(two_lesions, tmp_path: Path, capsys) -> None:
    ct_path = write_nifti(two_lesions.ct, tmp_path / "ct.nii.gz")
    labels_path = write_nifti(two_lesions.vertebrae, tmp_path / "labels.nii.gz")
    assert main(["lesions", str(ct_path), "--labels", str(labels_path), "--out", str(tmp_path / "out"), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert {les["kind"] for les in printed["lesions"]} == {"lytic", "blastic"}
    assert (tmp_path / "out" / "lesions.nii.gz").is_file()
    saved = json.loads((tmp_path / "out" / "lesions.json").read_text())
    assert saved["lesions"] == printed["lesions"]


def test_cli_without_labels_says_so(two_lesions, tmp_path: Path, capsys) -> None:
    ct_path = write_nifti(two_lesions.ct, tmp_path / "ct.nii.gz")
    assert main(["lesions", str(ct_path), "--out", str(tmp_path / "out")]) == 2
    assert "segmentation first" in capsys.readouterr().err


def test_real_series_has_no_false_positive(real_ct_series: Path, real_ct_reference_labels: Path) -> None:
    """The real CT has no known metastasis: nothing is proposed. The dense anterior-right margin of
    T12 (mean ~760 HU, shallow, one-sided: marginal sclerosis with an osteophyte) is screened out
    as cortical-band bone and kept, with its reason, in ``not_proposed``."""
    from napari_spine_mets.detection.pipeline import detect_lesions
    from napari_spine_mets.io.dicom import read_dicom_series
    from napari_spine_mets.io.totalsegmentator import read_totalsegmentator

    ct = read_dicom_series(real_ct_series)
    labels = read_totalsegmentator(real_ct_reference_labels, target=ct)
    report = detect_lesions(ct, labels)
    assert report.lesions == []
    assert report.not_proposed, "the T12 margin should be screened, not silently lost"
    t12 = report.normal_bone.levels[32]
    assert 100 < t12.trabecular_median_hu < 200  # the README's manual ROI: about 145-170 HU
