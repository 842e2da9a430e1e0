"""What every benchmark shares: where the shared data is, machine facts, writing results."""

from __future__ import annotations

import json
import os
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO_ROOT / "benchmarks" / "results"


def shared_data_dir() -> Path:
    """``$SPINE_METS_SHARED_DATA`` or ``../shared/data``; exits with a message when missing."""
    env = os.environ.get("SPINE_METS_SHARED_DATA")
    for base in ([Path(env)] if env else []) + [REPO_ROOT.parent / "shared" / "data"]:
        if base.is_dir():
            return base
    sys.exit("shared data not found: set SPINE_METS_SHARED_DATA or put it in ../shared/data")


def machine_info(packages: tuple[str, ...] = ("numpy", "torch")) -> dict[str, Any]:
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        # other work on the machine skews timings: keep the load with the figures
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }
    for package in packages:
        try:
            info[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            info[package] = None
    try:
        import torch

        info["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        pass
    return info


def write_results(name: str, data: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path
