"""Training samples from the synthetic generator, with strong domain randomisation.

Real labelled spine CT cannot be downloaded here, so the network learns from synthetic
cases drawn with random anatomy (levels in view, curvature, age), acquisition (spacing
0.5–3 mm, field of view, noise, kernel blur, contrast) and pathology (lytic, blastic and
mixed lesions, compression fractures), then further perturbed (HU scale and offset).
Every sample is reproducible from its seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import torch

from ..anatomy import LEVELS
from ..synthetic import FractureSpec, LesionSpec, SpineParams, generate_spine_ct
from .classes import target_from_truth
from .resampling import normalise_ct, resample_image, resample_labels, working_shape

__all__ = ["TrainingSample", "LEGACY_TRAINING_LEVELS", "random_params", "make_sample", "random_patch"]

#: The levels the shipped network was trained on (the generator's range before it drew
#: T1-T7). The default of ``random_params`` so that every existing seed (training,
#: validation, benchmark 200000+) still gives exactly the same case; pass
#: ``synthetic.params.THORACOLUMBAR_LEVELS`` to draw from T1-S1 (network 0.2.0's range) or
#: ``SUPPORTED_LEVELS`` to draw from C1-S1.
LEGACY_TRAINING_LEVELS: tuple[str, ...] = LEVELS[LEVELS.index("T8") :]


@dataclass
class TrainingSample:
    image: torch.Tensor  # (z, y, x) normalised, working spacing
    target: np.ndarray  # (z, y, x) class ids, same grid
    seed: int
    _foreground: np.ndarray | None = field(default=None, repr=False, compare=False)

    def foreground(self) -> np.ndarray:
        """(n, 3) indices of the target's foreground voxels, found once."""
        if self._foreground is None:
            self._foreground = np.argwhere(self.target > 0)
        return self._foreground


def random_params(seed: int, supported: tuple[str, ...] = LEGACY_TRAINING_LEVELS,
                  joint_space_mm: float = 0.0) -> SpineParams:
    """A random but plausible case: 3 to all ``supported`` levels (contiguous, cranial to
    caudal), random acquisition and lesions, facet joints ``joint_space_mm`` wide (no random
    draw, so a seed gives the same case apart from its joints)."""
    rng = np.random.default_rng(seed)
    n_levels = int(rng.integers(3, len(supported) + 1))
    start = int(rng.integers(0, len(supported) - n_levels + 1))
    levels = supported[start : start + n_levels]
    in_plane = float(rng.uniform(0.6, 1.2))
    spacing = (float(rng.choice([1.0, 1.25, 2.0, 2.5, 3.0])), in_plane, in_plane)
    lesions = []
    kinds, sites = ("lytic", "blastic", "mixed"), ("body", "body", "pedicle_left", "pedicle_right", "posterior")
    for level in rng.choice(levels, size=int(rng.integers(0, 4)), replace=False):
        kind, radius, site = str(rng.choice(kinds)), float(rng.uniform(4.0, 10.0)), str(rng.choice(sites))
        site = "posterior" if level == "C1" else site  # the atlas has no body or pedicles
        lesions.append(LesionSpec(str(level), kind, radius, site))
    fracturable = [lv for lv in levels if lv not in ("S1", "C1", "C2")]  # C1/C2 fractures are not modelled
    fracture = None
    if fracturable and rng.random() < 0.3:
        fracture = FractureSpec(str(rng.choice(fracturable)), float(rng.uniform(0.15, 0.5)), str(rng.choice(["wedge", "biconcave", "crush"])))
    params = SpineParams(
        seed=seed,
        levels=tuple(levels),
        spacing_mm=spacing,
        fov_mm=float(rng.uniform(200.0, 360.0)),
        lordosis_deg=float(rng.uniform(20.0, 65.0)),
        kyphosis_deg_per_level=float(rng.uniform(1.0, 6.0)),
        sacral_slope_deg=float(rng.uniform(25.0, 50.0)),
        age_years=float(rng.uniform(25.0, 90.0)),
        sex=str(rng.choice(["M", "F"])),  # type: ignore[arg-type]
        noise_hu=float(rng.uniform(5.0, 30.0)),
        blur_fwhm_mm=float(rng.uniform(0.5, 1.6)),
        contrast=bool(rng.random() < 0.5),
        ribs=True,
        lesions=tuple(lesions),
        fracture=fracture,
        joint_space_mm=joint_space_mm,
    )
    if levels[0].startswith("C"):  # drawn last, so cases without a cervical level are as they were
        params = replace(params, cervical_lordosis_deg=float(rng.uniform(15.0, 45.0)))
    return params


def make_sample(seed: int, working_spacing: float,
                supported: tuple[str, ...] = LEGACY_TRAINING_LEVELS, joint_space_mm: float = 0.0) -> TrainingSample:
    """Generate case ``seed`` (levels drawn from ``supported``, facet joints ``joint_space_mm``
    wide) and resample image and target to the working spacing."""
    case = generate_spine_ct(random_params(seed, supported, joint_space_mm))
    shape = working_shape(case.ct.shape, case.ct.spacing, working_spacing)
    hu = resample_image(case.ct.array, shape)
    rng = np.random.default_rng(seed + 7919)
    hu = hu * float(rng.uniform(0.9, 1.1)) + float(rng.uniform(-40.0, 40.0))  # calibration drift
    target = target_from_truth(case.parts.array, case.vertebrae.array)
    return TrainingSample(image=normalise_ct(hu), target=resample_labels(target, shape), seed=seed)


def random_patch(
    sample: TrainingSample, patch: tuple[int, int, int], rng: np.random.Generator, foreground_bias: float = 0.8
) -> tuple[torch.Tensor, torch.Tensor]:
    """A (1, z, y, x) image patch and its (z, y, x) target, mostly centred on the spine.

    Only the patch is copied and converted (a GPU consumes thousands a minute); the
    foreground's coordinates are found once per sample. A volume smaller than the patch
    is padded at its far ends with air (-1) and background."""
    shape = tuple(max(p, s) for p, s in zip(patch, sample.image.shape))
    if rng.random() < foreground_bias and sample.foreground().size:
        fg = sample.foreground()
        centre = fg[rng.integers(len(fg))]
        starts = [int(np.clip(c - p // 2, 0, s - p)) for c, p, s in zip(centre, patch, shape)]
    else:
        starts = [int(rng.integers(0, s - p + 1)) for p, s in zip(patch, shape)]
    region = tuple(slice(s, s + p) for s, p in zip(starts, patch))
    image = torch.full(patch, -1.0, dtype=sample.image.dtype)
    target = torch.zeros(patch, dtype=torch.int64)
    image_part = sample.image[region]
    target_part = torch.from_numpy(sample.target[region].astype(np.int64))
    inside = tuple(slice(0, n) for n in image_part.shape)
    image[inside] = image_part
    target[inside] = target_part
    return image[None], target
