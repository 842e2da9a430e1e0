"""Valid UIDs for series whose UIDs were blanked: deterministic, recorded, all-or-nothing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from napari_spine_mets.dicomio.errors import DicomExportError
from napari_spine_mets.dicomio.uids import assign_uids, is_valid_uid

pytestmark = pytest.mark.shared_data


def test_assign_uids_on_the_real_series(real_ct_series: Path, tmp_path: Path) -> None:
    from pydicom import dcmread

    from napari_spine_mets.io.dicom import read_dicom_series

    first = assign_uids(real_ct_series, tmp_path / "a")
    second = assign_uids(real_ct_series, tmp_path / "b")
    assert first.n_changed == len(first.files) == 20
    assert [f["after"] for f in first.files] == [f["after"] for f in second.files]  # deterministic
    mapping = json.loads((tmp_path / "a.uid-mapping.json").read_text())
    assert len(mapping["files"]) == 20 and mapping["files"][0]["before"]["StudyInstanceUID"] == ""
    for path in (tmp_path / "a").iterdir():
        ds = dcmread(path, stop_before_pixels=True)
        for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID"):
            assert is_valid_uid(ds.get(keyword)), keyword
        assert ds.SOPInstanceUID == ds.file_meta.MediaStorageSOPInstanceUID  # the file meta's UID is kept
    assert len({f["after"]["SOPInstanceUID"] for f in first.files}) == 20
    original, copy = read_dicom_series(real_ct_series), read_dicom_series(tmp_path / "a")
    assert np.array_equal(original.array, copy.array) and np.array_equal(original.affine, copy.affine)
    with pytest.raises(DicomExportError, match="already exists"):
        assign_uids(real_ct_series, tmp_path / "a")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "a.uid-mapping.json", "b", "b.uid-mapping.json"]
