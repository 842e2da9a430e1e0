"""Choosing the torch device, one rule for the whole project.

``"auto"`` picks CUDA, then Apple MPS, then the CPU, so the same call is fast on a
workstation with a GPU and still works on a plain laptop; the UI and the JSON outputs
report which device ran. Importing this module does not import torch.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from .errors import SpineMetsError

if TYPE_CHECKING:
    import torch

__all__ = ["DeviceError", "resolve_device", "describe_device", "resolve_precision", "cpu_has_native_bfloat16",
           "PRECISION_CHOICES"]

log = logging.getLogger(__name__)

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")
PRECISION_CHOICES = ("auto", "float32", "bfloat16", "float16")


class DeviceError(SpineMetsError):
    """The requested device does not exist on this machine."""


def resolve_device(name: str = "auto", *, need_float64: bool = False) -> "torch.device":
    """The torch device for ``name`` ("auto", "cpu", "cuda", "cuda:1", "mps").

    ``need_float64``: Apple MPS has no float64, so "auto" skips it for code that needs it.
    """
    import torch

    name = (name or "auto").strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available() and not need_float64:
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceError(f"device '{name}' requested but no CUDA GPU is available (torch {torch.__version__})")
        index = int(name.split(":", 1)[1]) if ":" in name else 0
        if index >= torch.cuda.device_count():
            raise DeviceError(f"device '{name}' requested but only {torch.cuda.device_count()} CUDA GPU(s) exist")
        return torch.device(name)
    if name == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise DeviceError("device 'mps' requested but Apple MPS is not available")
        return torch.device("mps")
    if name == "cpu":
        return torch.device("cpu")
    raise DeviceError(f"unknown device '{name}': choose one of {', '.join(DEVICE_CHOICES)} (or cuda:N)")


def describe_device(device: "torch.device") -> str:
    """Human-readable name of a device, for the UI and reports ("CUDA: NVIDIA H100", "CPU (2 threads)")."""
    import torch

    if device.type == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "Apple MPS"
    return f"CPU ({torch.get_num_threads()} threads)"


def cpu_has_native_bfloat16() -> bool:
    """Whether this CPU computes bfloat16 in hardware (AVX512-BF16 or AMX-BF16).

    Without it torch emulates bfloat16, which is slower than float32: only a CPU with it
    gains from bfloat16 (3.3x on the network's convolutions of a 2-core AMD EPYC).
    """
    import torch

    capabilities = torch.cpu.get_capabilities()
    return bool(capabilities.get("avx512_bf16") or capabilities.get("amx_bf16"))


def resolve_precision(device: "torch.device", name: str = "auto") -> "torch.dtype":
    """The dtype a network runs in on ``device`` ("auto", "float32", "bfloat16", "float16").

    "auto": float16 mixed precision on CUDA; bfloat16 on a CPU that computes it in
    hardware (``cpu_has_native_bfloat16``); float32 otherwise (MPS, older CPUs). The
    weights stay float32 either way (``torch.autocast``), and results say which ran.
    """
    import torch

    name = (name or "auto").strip().lower()
    if name == "auto":
        if device.type == "cuda":
            return torch.float16
        if device.type == "cpu" and cpu_has_native_bfloat16():
            return torch.bfloat16
        return torch.float32
    if name not in PRECISION_CHOICES:
        raise DeviceError(f"unknown precision '{name}': choose one of {', '.join(PRECISION_CHOICES)}")
    if name == "float16" and device.type == "cpu":
        raise DeviceError("precision 'float16' is for GPUs; on a CPU choose bfloat16 or float32")
    return getattr(torch, name)
