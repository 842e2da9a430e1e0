"""Shipped network weights: saved with a model card, loaded only after a SHA-256 check.

Weights live inside the package (``napari_spine_mets/weights/``) so the plugin works on an
offline workstation; nothing is ever downloaded. Each ``<name>.pt`` (a plain state dict)
has a ``<name>.json`` model card: architecture, classes, what it was trained on and how,
its measured accuracy and speed, and the SHA-256 of the ``.pt``. Loading refuses a file
whose hash differs from its card and uses ``torch.load(..., weights_only=True)``, which
cannot execute code from the file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..errors import InputError
from ..io.atomic import atomic_write_bytes, atomic_write_text
from .network import UNet3D

__all__ = ["WeightsError", "ModelCard", "default_weights_dir", "save_weights", "load_weights", "file_sha256"]

log = logging.getLogger(__name__)

CARD_SCHEMA_VERSION = 1


class WeightsError(InputError):
    """Weights or model card missing, damaged, or not matching each other."""


@dataclass
class ModelCard:
    """What a user and a reviewer need to know about a shipped network."""

    name: str
    version: str
    architecture: dict[str, Any]
    classes: dict[int, str]
    weights_sha256: str = ""
    training_data: str = ""
    training_recipe: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    intended_use: str = "Decision support for clinicians, not a diagnosis."
    demonstration: bool = False
    schema_version: int = CARD_SCHEMA_VERSION

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["classes"] = {str(k): v for k, v in self.classes.items()}
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any], path: Path) -> "ModelCard":
        if data.get("schema_version") != CARD_SCHEMA_VERSION:
            raise WeightsError(path, f"model card schema version {data.get('schema_version')!r} is not {CARD_SCHEMA_VERSION}")
        try:
            data = dict(data)
            data["classes"] = {int(k): str(v) for k, v in data["classes"].items()}
            return cls(**data)
        except (KeyError, TypeError, ValueError) as exc:
            raise WeightsError(path, f"invalid model card ({exc})") from exc


def default_weights_dir() -> Path:
    """The package's own weights folder."""
    return Path(__file__).resolve().parents[1] / "weights"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def save_weights(model: UNet3D, card: ModelCard, folder: Path | None = None) -> Path:
    """Write ``<name>.pt`` and its card (with the file's SHA-256); returns the .pt path."""
    import io

    folder = Path(folder or default_weights_dir())
    folder.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, buffer)
    weights_path = folder / f"{card.name}.pt"
    atomic_write_bytes(weights_path, buffer.getvalue())
    card.architecture = dict(model.config)
    card.weights_sha256 = file_sha256(weights_path)
    atomic_write_text(folder / f"{card.name}.json", json.dumps(card.to_json(), indent=2) + "\n")
    return weights_path


def load_weights(name: str, folder: Path | None = None, device: torch.device | None = None) -> tuple[UNet3D, ModelCard]:
    """The network ``name`` with its weights, after checking them against the model card."""
    folder = Path(folder or default_weights_dir())
    card_path, weights_path = folder / f"{name}.json", folder / f"{name}.pt"
    if not card_path.is_file():
        raise WeightsError(card_path, f"no model card for '{name}' (no weights are downloaded: they ship with the package)")
    if not weights_path.is_file():
        raise WeightsError(weights_path, "weights file missing")
    try:
        card = ModelCard.from_json(json.loads(card_path.read_text(encoding="utf-8")), card_path)
    except json.JSONDecodeError as exc:
        raise WeightsError(card_path, f"model card is not valid JSON ({exc.msg}, line {exc.lineno})") from exc
    actual = file_sha256(weights_path)
    if actual != card.weights_sha256:
        raise WeightsError(weights_path, f"SHA-256 {actual[:12]}… does not match the model card's {card.weights_sha256[:12]}…")
    try:
        state = torch.load(weights_path, map_location="cpu", weights_only=True)
        model = UNet3D(**card.architecture)
        model.load_state_dict(state, strict=True)
    except (RuntimeError, TypeError, ValueError, EOFError, pickle.UnpicklingError) as exc:
        raise WeightsError(weights_path, f"cannot load the weights into the network ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})") from exc
    if device is not None:
        model = model.to(device)
    model.eval()
    log.info("loaded weights %s %s (sha256 %s…)", card.name, card.version, actual[:12])
    return model, card
