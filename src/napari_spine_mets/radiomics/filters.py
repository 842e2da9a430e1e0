"""Derived images: the 8 stationary-wavelet decompositions (torch) and Laplacian of Gaussian.

Wavelet: pyradiomics runs ``pywt.swtn`` (level 1, start level 0) on the whole image after
padding odd axes by one 'wrap' sample, with periodic boundaries. Level-1 SWT is a
separable periodic convolution, so we evaluate it only on the ROI's box: gather the
periodic neighbourhood (2 samples before, 3 after for the 6-tap coif1; in general L/2-1
and L/2) and run valid ``conv1d`` along x, y, z. Values are identical, work is tiny.
Names follow pyradiomics: ``wavelet-XYZ`` with the letters for x, y, z in that order.

LoG: pyradiomics uses SimpleITK's LaplacianRecursiveGaussian (normalised across scale,
sigma in mm) on the whole image. A recursive (IIR) Gaussian differs from any FIR kernel
beyond 1e-4, so we call the same SimpleITK filter (CPU), on the image cropped to the ROI
box plus a margin of ``LOG_MARGIN_SIGMAS`` sigma; along axes where that margin reaches
the image border the whole axis is kept, so border handling is the same as pyradiomics'.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from .errors import RadiomicsError, RadiomicsInputError

__all__ = ["wavelet_decompositions", "log_image", "log_name", "LOG_MARGIN_SIGMAS", "WAVELET_NAMES"]

logger = logging.getLogger(__name__)

LOG_MARGIN_SIGMAS = 12.0
WAVELET_NAMES = tuple(a + b + c for a in "LH" for b in "LH" for c in "LH")  # x, y, z letters


def _filters(name: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        import pywt
    except ImportError as exc:  # pragma: no cover - PyWavelets ships with scikit-image installs
        raise RadiomicsError("wavelet features need PyWavelets (pip install PyWavelets)") from exc
    try:
        w = pywt.Wavelet(name)
    except ValueError as exc:
        raise RadiomicsInputError(f"unknown wavelet {name!r}") from exc
    return np.asarray(w.dec_lo, dtype=np.float64), np.asarray(w.dec_hi, dtype=np.float64)


def _periodic_index(lo: int, hi: int, n: int, before: int, after: int) -> np.ndarray:
    """Indices lo-before .. hi-1+after of the signal padded to even length by wrapping."""
    n_even = n + (n % 2)
    idx = np.arange(lo - before, hi + after) % n_even
    idx[idx == n] = 0  # the wrap-padded sample of an odd axis is sample 0
    return idx


def wavelet_decompositions(image: np.ndarray, box: list[tuple[int, int]], wavelet: str, device: Any) -> dict[str, Any]:
    """The 8 level-1 SWT decompositions on the ROI box, float64 tensors keyed 'LLH' etc."""
    import torch

    lo_f, hi_f = _filters(wavelet)
    length = len(lo_f)
    before, after = length // 2 - 1, length // 2
    sel = np.ix_(*[_periodic_index(a, b, n, before, after) for (a, b), n in zip(box, image.shape)])
    # pywt keeps float32 input in float32 (and turns everything else into float64): follow it
    dtype = torch.float32 if image.dtype == np.float32 else torch.float64
    data = torch.as_tensor(np.ascontiguousarray(image[sel]), dtype=dtype, device=device)
    # conv1d is a correlation: reverse the filters; 2 output channels = (low, high)
    weight = torch.as_tensor(np.stack([lo_f[::-1], hi_f[::-1]]).copy(), dtype=dtype, device=device)[:, None, :]
    stack = data[None]  # (C, Z, Y, X), C grows 1 -> 2 -> 4 -> 8
    for axis in (3, 2, 1):  # x, then y, then z: channel bits read x, y, z
        moved = stack.movedim(axis, -1)
        shp = moved.shape
        flat = moved.reshape(-1, 1, shp[-1])
        res = torch.nn.functional.conv1d(flat, weight)  # (B, 2, L')
        res = res.reshape(*shp[:-1], 2, res.shape[-1]).movedim(-2, 1)  # (C, 2, ..., L')
        res = res.reshape(shp[0] * 2, *shp[1:-1], res.shape[-1])
        stack = res.movedim(-1, axis)
    return {name: stack[k] for k, name in enumerate(WAVELET_NAMES)}


def log_image(image: np.ndarray, spacing: tuple[float, float, float], box: list[tuple[int, int]], sigma: float) -> np.ndarray | None:
    """LoG (SimpleITK recursive, sigma in mm) on the ROI box; None where pyradiomics skips sigma."""
    try:
        import SimpleITK as sitk
    except ImportError as exc:
        raise RadiomicsError("LoG features need SimpleITK (pip install SimpleITK): its recursive Gaussian is the reference") from exc
    shape = np.array(image.shape)
    sp = np.array(spacing)
    if shape.min() < 4:
        logger.warning("image too small for LoG (size %s): LoG skipped", shape.tolist())
        return None
    if not np.all(shape >= np.ceil(sigma / sp) + 1):
        logger.warning("LoG sigma %g mm is too large for image size %s: skipped (as pyradiomics)", sigma, shape.tolist())
        return None
    margin = np.ceil(LOG_MARGIN_SIGMAS * sigma / sp).astype(int)
    window = []
    for (lo, hi), n, m in zip(box, shape, margin):
        a, b = lo - m, hi + m
        window.append((0, n) if a <= 0 or b >= n else (a, b))
    sub = image[tuple(slice(a, b) for a, b in window)]
    if np.issubdtype(sub.dtype, np.floating) and sub.dtype != np.float32:
        sub = sub.astype(np.float64)
    img = sitk.GetImageFromArray(np.ascontiguousarray(sub))
    img.SetSpacing(tuple(float(s) for s in sp[::-1]))
    filt = sitk.LaplacianRecursiveGaussianImageFilter()
    filt.SetNormalizeAcrossScale(True)
    filt.SetSigma(float(sigma))
    out = sitk.GetArrayFromImage(filt.Execute(img))
    inner = tuple(slice(lo - a, hi - a) for (lo, hi), (a, _) in zip(box, window))
    return out[inner]


def log_name(sigma: float) -> str:
    """pyradiomics' image-type name, e.g. 'log-sigma-1-0-mm-3D'."""
    return "log-sigma-%s-mm-3D" % str(float(sigma)).replace(".", "-")

