"""Device choice for the radiomics engine: the project's rule, with float64 required.

Every matrix is float64 to match the reference to 1e-4, and Apple MPS has no float64,
so "auto" here means CUDA, then the CPU.
"""

from __future__ import annotations

from typing import Any

__all__ = ["resolve_device", "device_info"]


def resolve_device(device: str = "auto") -> Any:
    """A ``torch.device``; raises the project's DeviceError for a device that is not there."""
    from ..devices import resolve_device as project_resolve

    return project_resolve(device, need_float64=True)


def device_info(dev: Any) -> dict[str, Any]:
    """What ran: device name and, on CPU, the number of torch threads."""
    import torch

    info: dict[str, Any] = {"device": str(dev), "torch": torch.__version__}
    if dev.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(dev)
    else:
        info["threads"] = torch.get_num_threads()
    return info
