"""Segment and name the vertebrae of a CT: the function the CLI, the widget and cohorts call.

Coarse to fine: the spine is located classically (``localise``), the box around it is
resampled to the network's working spacing and segmented with a sliding window on the
chosen device, bodies are split and named on that grid (``labelling``), and each
vertebra is then drawn from the scan's own bone at full resolution (``refine``). The
result keeps the model, its weights' SHA-256, the device and the timings, so every label
says where it came from.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ModalityError
from ..volume import LabelMap, Volume
from .labelling import (Instances, LevelNaming, arches_from_pedicles, find_instances, label_maps_from, name_levels,
                        without_instances)

if TYPE_CHECKING:
    from ..case import Case

__all__ = ["SegmentationResult", "segment_vertebrae", "record_in_case", "DEFAULT_WEIGHTS"]

log = logging.getLogger(__name__)

DEFAULT_WEIGHTS = "vertebrae-ct"
Progress = Callable[[float, str], None]


@dataclass
class SegmentationResult:
    vertebrae: LabelMap  # TotalSegmentator ids (unnamed vertebrae from 201)
    parts: LabelMap  # VertebraPart codes
    vertebra_stats: list[dict[str, Any]]
    anchor: str
    naming_confident: bool
    notes: list[str]
    provenance: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "levels": [s["level"] for s in self.vertebra_stats],
            "vertebrae": self.vertebra_stats,
            "anchor": self.anchor,
            "naming_confident": self.naming_confident,
            "notes": self.notes,
            **self.provenance,
        }


def _check_ct(volume: Volume) -> None:
    from ..hounsfield import require_ct_hu

    if volume.metadata.modality:  # unknown modality: the stricter look at the values below decides
        require_ct_hu(volume, task="the vertebra network (trained on CT) cannot segment it")
    sample = volume.array.reshape(-1)[:: max(1, volume.array.size // 100_000)]
    if sample.min() > -500 or np.percentile(sample, 99.9) < 150:
        raise ModalityError(
            volume.metadata.source or None,
            "the values do not look like CT Hounsfield units (no air near -1000 HU or no bone): is this an MR or a normalised image?",
        )


def segment_vertebrae(
    volume: Volume,
    *,
    device: str = "auto",
    precision: str = "auto",
    weights: str = DEFAULT_WEIGHTS,
    weights_dir: Path | None = None,
    anchor: tuple[int, str] | None = None,
    progress: Progress | None = None,
    cancel: Callable[[], bool] | None = None,
) -> SegmentationResult:
    """Vertebra and part labels on ``volume``'s grid; raises ModalityError for non-CT input.

    ``precision`` is the network's arithmetic (``devices.resolve_precision``: "auto" is
    float16 on CUDA, bfloat16 on a CPU that computes it in hardware, else float32).
    """
    import torch

    from ..devices import describe_device, resolve_device, resolve_precision
    from .localise import locate_spine
    from .classes import SACRUM_CLASS
    from .craniocervical import trim_atlas
    from .memory_plan import plan_refinement
    from .refine import Refined, gather, nearest_index, refine_instances
    from .resampling import normalise_ct, resample_image, working_shape
    from .rib_anchor import find_rib_anchor
    from .vessels import uniform_instances
    from .sliding_window import InferenceCancelled, fitted_patch, sliding_window_predict
    from .weights import load_weights

    report = progress or (lambda fraction, message: None)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    _check_ct(volume)
    dev = resolve_device(device)
    dtype = resolve_precision(dev, precision)
    model, card = load_weights(weights, weights_dir, device=dev)
    working = float(card.metrics.get("working_spacing_mm", 1.5))
    patch = tuple(int(p) for p in card.metrics.get("patch", (64, 80, 80)))
    timings["load_model_s"] = time.perf_counter() - started

    report(0.05, "locating the spine")
    t = time.perf_counter()
    # which way the array's axes point in the patient (the box and the ribs need front and left)
    y_towards_back, x_towards_left = bool(volume.affine[1, 1] > 0), bool(volume.affine[0, 2] > 0)
    box = locate_spine(volume.array, volume.spacing, y_towards_back=y_towards_back)
    crop = volume.array[box.slices()]
    timings["locate_s"] = time.perf_counter() - t

    n_classes = int(card.architecture["n_classes"])
    shape = working_shape(crop.shape, volume.spacing, working)
    # the scan's grid for the refinement if it fits the memory free now, else a coarser one;
    # refused with a message, before allocating, rather than be killed by the system
    plan = plan_refinement(crop.shape, volume.spacing, volume.shape, shape, working, n_classes,
                           path=volume.metadata.source or None)
    t = time.perf_counter()
    image = normalise_ct(resample_image(crop, shape))
    probabilities = sliding_window_predict(
        model, image, fitted_patch(image.shape, patch, model.divisor), n_classes=n_classes, overlap=0.25, device=dev,
        precision=dtype,
        progress=lambda done, total: report(0.1 + 0.7 * done / total, f"segmenting ({done}/{total} patches)"),
        cancel=cancel,
    )
    timings["network_s"] = time.perf_counter() - t

    def checkpoint(fraction: float, message: str) -> None:
        """Between the labelling's stages: cancel there (seconds apart), and say which runs."""
        if cancel is not None and cancel():
            raise InferenceCancelled("segmentation cancelled by the user")
        report(0.82 + 0.15 * fraction, message)

    checkpoint(0.0, "naming levels")
    t = time.perf_counter()
    # Instances and names on the working grid (fast); then each vertebra is refined on the
    # scan's own grid from its bone (``refine``), which needs only the argmax and the bone
    # probability carried over (nearest-neighbour gathers).
    with torch.inference_mode():
        argmax = probabilities.argmax(dim=0)
        bone_probability = probabilities[1:5].sum(dim=0)
    classes_work = argmax.numpy().astype(np.uint8)
    work_spacing = tuple(float(c) * s / w for c, s, w in zip(crop.shape, volume.spacing, shape))
    coarse = find_instances(classes_work, work_spacing)  # type: ignore[arg-type]
    del probabilities
    work_hu = image.numpy() * 1000.0
    # a "vertebra" of one even density is a contrast-filled vessel or a phantom's insert: it
    # goes before the levels are counted (counted with it, every name beyond it is one off)
    even = uniform_instances(work_hu, coarse.labels)
    if even:
        log.info("instances %s are of one even density: not vertebrae", even)
        coarse = without_instances(coarse, even)

    def named() -> LevelNaming:
        # ribs on the working grid (same grid as the instances): the last rib-bearing vertebra is T12
        # each arch follows its own pedicles there (a tilted T1's processes touch C7's)
        ribs = find_rib_anchor(work_hu, arches_from_pedicles(coarse.labels, classes_work),
                               work_spacing,  # type: ignore[arg-type]
                               sacrum=coarse.sacrum, x_towards_left=x_towards_left, y_towards_back=y_towards_back)
        return name_levels(coarse, work_spacing, anchor, ribs=ribs)  # type: ignore[arg-type]

    # naming needs only the working grid: it runs beside the refinement (both mostly in
    # numpy and scipy code that releases the interpreter lock; a 2-core CPU does both at once)
    with ThreadPoolExecutor(max_workers=1) as beside:
        naming_job = beside.submit(named)
        hu = crop if not plan.reduced else np.rint(resample_image(crop, plan.shape).numpy()).astype(np.int16)
        refined = refine_instances(hu, plan.spacing_mm, classes_work, coarse.labels, bone_probability.numpy(),
                                   axis_id=coarse.axis_id if coarse.atlas_id is not None else None,
                                   checkpoint=lambda fraction, message: checkpoint(0.1 + 0.8 * fraction, message))
        del hu
        naming = naming_job.result()
    checkpoint(0.95, "placing the labels")
    if coarse.atlas_id is not None and coarse.atlas_top_mm is not None:
        trim_atlas(refined.labels, refined.classes, coarse.atlas_id, coarse.atlas_top_mm, plan.spacing_mm[0])
    if plan.reduced:  # back on the scan's grid, nearest neighbour
        to_box = nearest_index(plan.shape, crop.shape)
        refined = Refined(gather(refined.labels, to_box), gather(refined.classes, to_box),
                          gather(refined.confidence, to_box))
    # the label maps are made on the spine's box (a quarter of a clinical CT) and then
    # placed in the scan: outside the box everything is background
    instances = Instances(labels=refined.labels, count=coarse.count,
                          sacrum=refined.classes == SACRUM_CLASS)  # vertebra voxels carry their part instead
    box_vertebrae, box_parts, names = label_maps_from(refined.classes, instances, naming)
    vertebrae = np.zeros(volume.shape, dtype=np.uint8)
    vertebrae[box.slices()] = box_vertebrae
    parts = np.zeros(volume.shape, dtype=np.uint8)
    parts[box.slices()] = box_parts
    timings["labelling_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - started

    from .vertebra_stats import vertebra_statistics

    # on the spine's box, where every vertebra is
    stats = vertebra_statistics(box_vertebrae, box_parts, names, volume.affine, refined.confidence,
                                origin=(box.z[0], box.y[0], box.x[0]))
    notes = list(naming.notes)
    if not stats and not instances.sacrum.any():
        # nothing to name (the naming's own notes do not apply), and a canal or disc with
        # no vertebra around it is the network's noise: empty labels
        notes = ["no spine found"]
        parts[:] = 0
    elif not box.found:
        notes.insert(0, "no spine found")
    if even:
        notes.append(f"{len(even)} structure(s) of one even density (a contrast-filled vessel or a phantom's "
                     "insert?) not taken for vertebrae")
    coarser = plan.note(volume.spacing)
    if coarser:
        notes.append(coarser)
    if card.demonstration:
        notes.append("demonstration model: not for clinical use")
    source = f"{card.name} {card.version} (sha256 {card.weights_sha256[:12]})"
    report(1.0, "done")
    return SegmentationResult(
        vertebrae=LabelMap(vertebrae, volume.affine, names=names, name="vertebrae", source=source),
        parts=LabelMap(parts, volume.affine, names=_part_names(), name="vertebra parts", source=source),
        vertebra_stats=stats,
        anchor=naming.anchor,
        naming_confident=naming.confident,
        notes=notes,
        provenance={
            "model": card.name,
            "model_version": card.version,
            "weights_sha256": card.weights_sha256,
            "device": describe_device(dev),
            "precision": str(dtype).removeprefix("torch."),
            "timings_s": {k: round(v, 3) for k, v in timings.items()},
            "refinement_spacing_mm": [round(v, 3) for v in plan.spacing_mm],
            "demonstration_model": card.demonstration,
        },
    )


def _part_names() -> dict[int, str]:
    from ..anatomy import VertebraPart

    return {int(p): p.name.lower() for p in VertebraPart}


def record_in_case(case: "Case", result: SegmentationResult, volume_name: str) -> None:
    """Store the label maps and the provenance step in a Case (the UI and cohorts call this)."""
    case.set_label_map("vertebrae", result.vertebrae, volume=volume_name)
    case.set_label_map("vertebra parts", result.parts, volume=volume_name)
    case.record_step(
        "segmentation",
        model=result.provenance.get("model", ""),
        model_version=result.provenance.get("model_version", ""),
        weights_sha256=result.provenance.get("weights_sha256", ""),
        parameters={"device": result.provenance.get("device"), "precision": result.provenance.get("precision"),
                    "anchor": result.anchor,
                    "timings_s": result.provenance.get("timings_s"), "vertebrae": result.vertebra_stats,
                    "notes": result.notes},
    )
