"""Device selection: auto falls back to the CPU here; impossible requests are refused clearly."""

from __future__ import annotations

import pytest
import torch

from napari_spine_mets.devices import DeviceError, describe_device, resolve_device


def test_auto_picks_cuda_when_present_else_cpu() -> None:
    device = resolve_device("auto")
    expected = "cuda" if torch.cuda.is_available() else ("mps" if torch.backends.mps.is_available() else "cpu")
    assert device.type == expected
    assert describe_device(device)


def test_cpu_is_always_available() -> None:
    assert resolve_device("CPU").type == "cpu"
    assert describe_device(torch.device("cpu")).startswith("CPU (")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_gpu_is_refused() -> None:
    with pytest.raises(DeviceError, match="no CUDA GPU"):
        resolve_device("cuda")


def test_unknown_device_is_refused() -> None:
    with pytest.raises(DeviceError, match="unknown device 'tpu'"):
        resolve_device("tpu")


def test_precision_auto_follows_the_hardware(monkeypatch) -> None:
    import torch

    from napari_spine_mets.devices import resolve_precision

    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: {"avx512_bf16": True, "amx_bf16": False})
    assert resolve_precision(torch.device("cpu")) == torch.bfloat16
    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: {"avx512_bf16": False, "avx2": True})
    assert resolve_precision(torch.device("cpu")) == torch.float32  # emulated bfloat16 is slower than float32
    assert resolve_precision(torch.device("cuda")) == torch.float16
    assert resolve_precision(torch.device("mps")) == torch.float32
    assert resolve_precision(torch.device("cpu"), "BFloat16") == torch.bfloat16  # asked for: used wherever it runs


def test_unknown_or_unsuitable_precision_is_refused() -> None:
    import torch

    from napari_spine_mets.devices import DeviceError, resolve_precision

    with pytest.raises(DeviceError, match="unknown precision 'double'"):
        resolve_precision(torch.device("cpu"), "double")
    with pytest.raises(DeviceError, match="float16' is for GPUs"):
        resolve_precision(torch.device("cpu"), "float16")
