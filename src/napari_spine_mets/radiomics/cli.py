"""``spine-mets radiomics IMAGE MASK [--settings FILE] [--json]``.

IMAGE and MASK are NIfTI files (or a DICOM folder for IMAGE). When their grids differ the
command says so and stops, unless ``--correct-mask`` asks to resample the mask (nearest
neighbour) onto the image grid.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from .errors import RadiomicsGeometryError

__all__ = ["register"]

logger = logging.getLogger(__name__)


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = subparsers.add_parser(
        "radiomics",
        help="radiomics features of an ROI (pyradiomics names and values)",
        description="Compute radiomics features of IMAGE inside MASK, with pyradiomics' names and definitions.",
    )
    parser.add_argument("image", type=Path, help="image: NIfTI file or DICOM series folder")
    parser.add_argument("mask", type=Path, help="mask / label map (NIfTI) on the image grid")
    parser.add_argument("--settings", type=Path, help="settings file (YAML or JSON); defaults: bin width 25, original image")
    parser.add_argument("--label", type=int, help="label value of the ROI in MASK (overrides the settings)")
    parser.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda")
    parser.add_argument("--correct-mask", action="store_true", help="resample MASK onto the IMAGE grid if they differ")
    parser.add_argument("--json", action="store_true", help="print JSON (features plus provenance)")
    parser.set_defaults(handler=_run)


def _read_image(path: Path) -> Any:
    from ..io.nifti import is_nifti_path, read_nifti

    if path.is_dir():
        from ..io.dicom import read_dicom_series

        return read_dicom_series(path)
    if is_nifti_path(path):
        return read_nifti(path)
    raise RadiomicsGeometryError(f"unsupported image format (NIfTI file or DICOM folder expected)", str(path))


def _run(args: argparse.Namespace) -> int:
    from ..io.nifti import read_label_nifti
    from .engine import extract
    from .settings import RadiomicsSettings, load_settings

    settings = load_settings(args.settings) if args.settings else RadiomicsSettings()
    if args.label is not None:
        settings.label = args.label
    image = _read_image(args.image)
    mask = read_label_nifti(args.mask)
    same = mask.array.shape == image.array.shape and np.allclose(mask.affine, image.affine, atol=settings.geometry_tolerance)
    if not same:
        if not (args.correct_mask or settings.correct_mask):
            raise RadiomicsGeometryError(
                f"mask grid {mask.array.shape} (affine differs: {not np.allclose(mask.affine, image.affine, atol=settings.geometry_tolerance)}) "
                f"does not match image grid {image.array.shape}; pass --correct-mask to resample the mask onto the image",
                str(args.mask),
            )
        from ..io.resample import labels_onto_grid

        logger.warning("mask grid differs from the image grid: resampling the mask (nearest neighbour)")
        mask = labels_onto_grid(mask, image.array.shape, image.affine)
    result = extract(np.asarray(image.array), np.asarray(mask.array), image.spacing, settings, args.device)
    if args.json:
        report = {
            "image": str(args.image),
            "mask": str(args.mask),
            "label": settings.label,
            "device": result.device,
            "settings": settings.to_dict(),
            "settings_hash": result.settings_hash,
            "seconds": result.seconds,
            "image_types": result.image_types,
            "features": result.features,
        }
        print(json.dumps(report, indent=2))
    else:
        width = max(len(k) for k in result.features)
        for key, value in result.features.items():
            print(f"{key.ljust(width)}  {value:.10g}")
    return 0
