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

__all__ = ["DeviceError", "resolve_device", "describe_device"]

log = logging.getLogger(__name__)

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


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
