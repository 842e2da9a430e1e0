"""Memory guard: estimates from headers, refusal with a clear message before anything is allocated."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

import dicom_factory as factory
from napari_spine_mets.safety import memory
from napari_spine_mets.safety.memory import MemoryLimitError, check_volume_memory


def test_available_memory_from_meminfo(tmp_path: Path) -> None:
    fake = tmp_path / "meminfo"
    fake.write_text("MemTotal:       24684084 kB\nMemFree:  100 kB\nMemAvailable:   2000 kB\n")
    assert memory._meminfo_available(fake) == 2000 * 1024
    fake.write_text("MemFree: 100 kB\nCached: 50 kB\n")
    assert memory._meminfo_available(fake) == 150 * 1024
    assert memory._meminfo_available(tmp_path / "missing") is None
    assert memory.available_memory_bytes() > 0


def test_falls_back_when_the_system_cannot_tell(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "_meminfo_available", lambda: None)
    monkeypatch.setattr(memory, "_sysconf_available", lambda: None)
    assert memory.available_memory_bytes() == memory._UNKNOWN_AVAILABLE


def test_budget_is_capped_by_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(memory.LIMIT_ENV, "0.5")
    assert memory.memory_budget_bytes() <= 500_000_000
    monkeypatch.setenv(memory.LIMIT_ENV, "nonsense")
    assert memory.memory_budget_bytes() > 0


def test_refusal_names_the_file_and_offers_a_downsampled_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(memory.LIMIT_ENV, "1")  # 1 GB
    check_volume_memory("ok.nii", (100, 512, 512), 2)
    with pytest.raises(MemoryLimitError) as info:
        check_volume_memory("big.nii", (2000, 512, 512), 4, copies=2.5)
    error = info.value
    assert "big.nii" in str(error) and "GB" in str(error) and "downsampled by" in str(error)
    assert error.suggested_factor is not None and error.needed > error.budget
    reduced = [-(-s // error.suggested_factor) for s in (2000, 512, 512)]
    assert memory.estimate_bytes(reduced, 4, 2.5) <= error.budget


def test_absurd_headers_are_refused_whatever_the_memory() -> None:
    with pytest.raises(MemoryLimitError, match="damaged"):
        check_volume_memory("x", (2**20, 2**20, 2**20), 1)


def _giant_nifti(path: Path) -> Path:
    import nibabel as nib

    nib.save(nib.Nifti1Image(np.zeros((4, 4, 4), np.int16), np.eye(4)), str(path))
    raw = bytearray(path.read_bytes())
    raw[40:56] = np.array([3, 32767, 32767, 20000, 1, 1, 1, 1], "<i2").tobytes()
    path.write_bytes(bytes(raw))
    return path


def test_nifti_header_claiming_an_enormous_volume_is_refused_fast(tmp_path: Path) -> None:
    from napari_spine_mets.io.nifti import read_nifti

    started = time.perf_counter()
    with pytest.raises(MemoryLimitError) as info:
        read_nifti(_giant_nifti(tmp_path / "giant.nii"))
    assert time.perf_counter() - started < 2
    assert "giant.nii" in str(info.value) and "32767x32767x20000" in str(info.value)


def test_nrrd_header_claiming_an_enormous_volume_is_refused(tmp_path: Path) -> None:
    from napari_spine_mets.io.nrrd import read_nrrd

    path = tmp_path / "giant.nrrd"
    path.write_bytes(b"NRRD0004\ntype: short\ndimension: 3\nsizes: 40000 40000 40000\nencoding: raw\n"
                     b"endian: little\nspace: left-posterior-superior\n\n" + bytes(64))
    with pytest.raises(MemoryLimitError, match="giant.nrrd"):
        read_nrrd(path)


def test_dicom_series_over_the_budget_is_refused_before_decoding(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from napari_spine_mets.io import dicom_pixels
    from napari_spine_mets.io.dicom import read_dicom_series

    factory.write_series(tmp_path, n=6, rows=64, cols=64)
    monkeypatch.setenv(memory.LIMIT_ENV, "0.00005")  # 50 kB
    decoded: list[str] = []
    monkeypatch.setattr(dicom_pixels, "decode_one", lambda path: decoded.append(path))
    with pytest.raises(MemoryLimitError, match=str(tmp_path.name)):
        read_dicom_series(tmp_path)
    assert decoded == []
