"""Train the vertebra network on synthetic cases: ``python -m napari_spine_mets.segmentation.train``.

Reproducible: every random choice derives from ``--seed``; training cases use seeds from
1 up, validation cases seeds from 100000 up (never used in training). The result is
written as weights plus a model card (``segmentation.weights``) with the recipe and the
validation Dice per class. Presets: ``smoke`` (seconds, for tests), ``cpu`` (a small
network a 2-core CPU trains in tens of minutes), ``gpu`` (wider, longer).

``--init NAME`` starts from weights already trained (the package's, or ``--init-dir``)
instead of from random ones, so a short run on a CPU can extend a network to levels it
has not seen (``--levels-from T1``) without starting over; the model card records the
chain.
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from .. import __version__
from .classes import CLASS_NAMES, N_CLASSES
from .network import UNet3D
from .training_data import TrainingSample, make_sample, random_patch
from .weights import ModelCard, save_weights

__all__ = ["TrainConfig", "PRESETS", "train", "dice_per_class", "main"]

log = logging.getLogger(__name__)

VALIDATION_SEED_BASE = 100_000


@dataclass
class TrainConfig:
    base_channels: int = 16
    depth: int = 4
    patch: tuple[int, int, int] = (64, 80, 80)
    working_spacing_mm: float = 1.5
    batch_size: int = 2
    learning_rate: float = 2e-3
    n_training_cases: int = 24
    refresh_every: int = 200  # iterations between replacing one cached case with a new one
    n_validation_cases: int = 4
    max_iterations: int = 4000
    max_minutes: float = 30.0
    seed: int = 0
    #: The most cranial level training cases may start at (the generator draws T1-S1).
    levels_from: str = "T8"
    #: Weights to start from (a model card name) instead of random ones.
    init_weights: str | None = None


PRESETS: dict[str, TrainConfig] = {
    "smoke": TrainConfig(base_channels=4, depth=2, patch=(32, 32, 32), working_spacing_mm=3.0, batch_size=1,
                         n_training_cases=1, n_validation_cases=1, max_iterations=3, max_minutes=2.0),
    # A 2-core CPU affords a narrow network at 2 mm: about 2-3 s an iteration.
    "cpu": TrainConfig(base_channels=8, depth=3, patch=(48, 64, 64), working_spacing_mm=2.0, batch_size=2,
                       n_training_cases=16, refresh_every=100, max_minutes=30.0),
    "gpu": TrainConfig(base_channels=24, patch=(96, 128, 128), working_spacing_mm=1.5, batch_size=4,
                       n_training_cases=64, n_validation_cases=8, max_iterations=20000, max_minutes=25.0),
}


def _flip_left_right(image: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mirror the patient: the pedicle classes swap sides."""
    image, target = image.flip(-1), target.flip(-1).clone()
    left, right = target == 3, target == 4
    target[left], target[right] = 4, 3
    return image, target


def _loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Cross-entropy plus soft Dice over the foreground classes (robust to class imbalance)."""
    ce = torch.nn.functional.cross_entropy(logits, target)
    probs = torch.softmax(logits, dim=1)
    one_hot = torch.nn.functional.one_hot(target, N_CLASSES).permute(0, 4, 1, 2, 3).float()
    dims = (0, 2, 3, 4)
    intersection = (probs * one_hot).sum(dims)
    denominator = probs.sum(dims) + one_hot.sum(dims)
    dice = (2 * intersection + 1.0) / (denominator + 1.0)
    return ce + (1.0 - dice[1:].mean())


def dice_per_class(prediction: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """Dice of each foreground class present in either map."""
    scores = {}
    for cls in range(1, N_CLASSES):
        p, t = prediction == cls, target == cls
        total = int(p.sum() + t.sum())
        if total:
            scores[CLASS_NAMES[cls]] = float(2 * (p & t).sum() / total)
    return scores


def _validate(model: UNet3D, samples: list[TrainingSample], config: TrainConfig, device: torch.device) -> dict[str, float]:
    from .sliding_window import sliding_window_predict

    totals: dict[str, list[float]] = {}
    for sample in samples:
        probs = sliding_window_predict(model, sample.image, config.patch, n_classes=N_CLASSES, overlap=0.25, device=device)
        for name, value in dice_per_class(probs.argmax(0).numpy(), sample.target).items():
            totals.setdefault(name, []).append(value)
    return {name: float(np.mean(values)) for name, values in totals.items()}


def _initial_model(config: TrainConfig, init_dir: Path | None) -> tuple[UNet3D, ModelCard | None]:
    """A fresh network, or the weights ``config.init_weights`` names with their card (which
    must match the preset's shape)."""
    if config.init_weights is None:
        return UNet3D(n_classes=N_CLASSES, base_channels=config.base_channels, depth=config.depth), None
    from .weights import WeightsError, load_weights

    model, card = load_weights(config.init_weights, init_dir)
    shape = (card.architecture.get("base_channels"), card.architecture.get("depth"))
    if shape != (config.base_channels, config.depth):
        raise WeightsError(None, f"'{config.init_weights}' has base channels and depth {shape}, "
                                 f"the preset ({config.base_channels}, {config.depth}): choose the matching preset")
    return model, card


def _training_levels(config: TrainConfig) -> tuple[str, ...]:
    from ..synthetic.params import SUPPORTED_LEVELS

    if config.levels_from not in SUPPORTED_LEVELS:
        raise ValueError(f"--levels-from {config.levels_from}: choose one of {SUPPORTED_LEVELS}")
    return SUPPORTED_LEVELS[SUPPORTED_LEVELS.index(config.levels_from):]


def train(config: TrainConfig, out_dir: Path | None, name: str = "vertebrae-ct", device: str = "auto",
          init_dir: Path | None = None, command: str = "python -m napari_spine_mets.segmentation.train") -> dict[str, object]:
    """Train, validate on held-out seeds, and (if ``out_dir``) write weights and model card."""
    from ..devices import describe_device, resolve_device

    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    dev = resolve_device(device)
    levels = _training_levels(config)
    model, start_card = _initial_model(config, init_dir)
    model = model.to(dev)
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=1e-4)
    next_seed = 1
    cache = []
    for _ in range(config.n_training_cases):
        cache.append(make_sample(next_seed, config.working_spacing_mm, levels))
        next_seed += 1
    started = time.monotonic()
    losses: list[float] = []
    iteration = 0
    while iteration < config.max_iterations and (time.monotonic() - started) < config.max_minutes * 60:
        fraction = iteration / config.max_iterations
        for group in optimiser.param_groups:
            group["lr"] = config.learning_rate * (1 - fraction) ** 0.9
        images, targets = [], []
        for _ in range(config.batch_size):
            image, target = random_patch(cache[int(rng.integers(len(cache)))], config.patch, rng)
            if rng.random() < 0.5:
                image, target = _flip_left_right(image, target)
            images.append(image)
            targets.append(target)
        batch, labels = torch.stack(images).to(dev), torch.stack(targets).to(dev)
        model.train()
        optimiser.zero_grad(set_to_none=True)
        with torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=dev.type == "cuda"):
            logits = model(batch)
        loss = _loss(logits.float(), labels)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
        iteration += 1
        if iteration % config.refresh_every == 0:
            cache[int(rng.integers(len(cache)))] = make_sample(next_seed, config.working_spacing_mm, levels)
            next_seed += 1
        if iteration % 50 == 0:
            log.info("iteration %d loss %.4f (%.1f min)", iteration, np.mean(losses[-50:]), (time.monotonic() - started) / 60)
    minutes = (time.monotonic() - started) / 60
    validation = [make_sample(VALIDATION_SEED_BASE + i, config.working_spacing_mm, levels)
                  for i in range(config.n_validation_cases)]
    dice = _validate(model, validation, config, dev)
    summary = {
        "iterations": iteration,
        "minutes": round(minutes, 2),
        "final_loss": float(np.mean(losses[-50:])) if losses else None,
        "validation_dice_working_grid": dice,
        "device": describe_device(dev),
        "training_cases_seen": next_seed - 1,
    }
    if out_dir is not None:
        card = ModelCard(
            name=name,
            version=__version__,
            architecture={},
            classes=CLASS_NAMES,
            training_data=_training_data_text(levels, next_seed - 1, start_card),
            training_recipe=json.dumps({**asdict(config), "command": command}),
            metrics={"validation": {"seeds": f"{VALIDATION_SEED_BASE}+", **summary}},
            intended_use=(
                f"Preliminary network (demonstration — not for clinical use): trained for {minutes:.0f} minutes on "
                f"{summary['device']} on synthetic spine CT only (levels {levels[0]}–{levels[-1]}). Decision support "
                "for clinicians, not a diagnosis. Check every label; correct levels with the one-step shift."
            ),
            # synthetic data only: a demonstration, labelled as one wherever its labels are shown
            demonstration=True,
        )
        card.metrics["working_spacing_mm"] = config.working_spacing_mm
        card.metrics["patch"] = list(config.patch)
        save_weights(model.cpu(), card, out_dir)
    return summary


def _training_data_text(levels: tuple[str, ...], last_seed: int, start: ModelCard | None) -> str:
    """What the weights have seen, including what the weights they started from had seen."""
    text = (f"Synthetic spine CT from napari_spine_mets.synthetic (levels {levels[0]}–{levels[-1]}), seeds 1–{last_seed}, "
            "domain-randomised anatomy, acquisition and pathology; no patient data.")
    if start is not None:
        text += (f" Started from {start.name} {start.version} (sha256 {start.weights_sha256[:12]}), trained on: "
                 f"{start.training_data}")
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=sorted(PRESETS), default="cpu")
    parser.add_argument("--minutes", type=float, help="wall-clock budget (overrides the preset)")
    parser.add_argument("--iterations", type=int, help="iteration budget (overrides the preset)")
    parser.add_argument("--out", type=Path, help="folder for weights and model card (default: the package's weights/)")
    parser.add_argument("--name", default="vertebrae-ct")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--levels-from", default="T8", help="most cranial level a training case may start at")
    parser.add_argument("--init", help="start from these weights (a model card name) instead of random ones")
    parser.add_argument("--init-dir", type=Path, help="folder of the --init weights (default: the package's)")
    parser.add_argument("--learning-rate", type=float, help="overrides the preset (lower it to fine-tune)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    config = replace(PRESETS[args.preset])  # a copy: the presets stay as documented
    if args.minutes is not None:
        config.max_minutes = args.minutes
    if args.iterations is not None:
        config.max_iterations = args.iterations
    config.seed = args.seed
    config.levels_from = args.levels_from.upper()
    config.init_weights = args.init
    if args.learning_rate is not None:
        config.learning_rate = args.learning_rate
    from .weights import default_weights_dir

    command = shlex.join(["python", "-m", "napari_spine_mets.segmentation.train", *(sys.argv[1:] if argv is None else argv)])
    summary = train(config, args.out or default_weights_dir(), name=args.name, device=args.device, init_dir=args.init_dir,
                    command=command)
    logging.getLogger(__name__).info("done: %s", json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
