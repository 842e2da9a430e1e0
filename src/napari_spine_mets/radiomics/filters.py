"""Derived images: the 8 stationary-wavelet decompositions (torch) and Laplacian of Gaussian.

Both return the filtered values at given voxels (the ROI's, or those of several ROIs of
one image at once), since texture features never look at anything else.

Wavelet: pyradiomics runs ``pywt.swtn`` (level 1, start level 0) on the whole image after
padding odd axes by one 'wrap' sample, with periodic boundaries. Level-1 SWT is a
separable periodic convolution, so we evaluate it only where needed: gather the periodic
neighbourhood of the box (2 samples before, 3 after for the 6-tap coif1; in general
L/2-1 and L/2), filter along x and y on the box (low and high pass sharing the shifted
slices) and along z only at the requested voxels. Values are identical, work is tiny.
Names follow pyradiomics: ``wavelet-XYZ`` with the letters for x, y, z in that order.

LoG: pyradiomics uses SimpleITK's LaplacianRecursiveGaussian (normalised across scale,
sigma in mm) on the whole image. A recursive (IIR) Gaussian differs from any FIR kernel
beyond 1e-4, so we call the same SimpleITK filter (CPU), on the image cropped to the box
plus a margin of ``LOG_MARGIN_SIGMAS`` sigma; along axes where that margin reaches the
image border the whole axis is kept, so border handling is the same as pyradiomics'. The
IIR tail beyond the margin (about exp(-1.37 * 12) of the signal) leaves differences of
order 1e-7 relative in the most sensitive features (measured on T12 and rib ROIs).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from .errors import RadiomicsError, RadiomicsInputError

__all__ = ["wavelet_at", "log_at", "log_skip_reason", "log_name", "LOG_MARGIN_SIGMAS", "WAVELET_NAMES"]

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


def wavelet_at(image: np.ndarray, box: list[tuple[int, int]], points: np.ndarray, wavelet: str, device: Any) -> Any:
    """The 8 level-1 SWT decompositions at ``points`` (P, 3 voxel indices inside ``box``): (8, P).

    Rows follow :data:`WAVELET_NAMES`. x and y are filtered on the box (each axis pass a sum
    of ``L`` shifted slices, both filters of a pass sharing the slices), z only at the points:
    a voxel's value needs just its own column, so the last pass costs P, not the box.
    """
    import torch

    lo_f, hi_f = _filters(wavelet)
    length = len(lo_f)
    before, after = length // 2 - 1, length // 2
    sel = np.ix_(*[_periodic_index(a, b, n, before, after) for (a, b), n in zip(box, image.shape)])
    # pywt keeps float32 input in float32 (and turns everything else into float64): follow it
    dtype = torch.float32 if image.dtype == np.float32 else torch.float64
    data = torch.as_tensor(np.ascontiguousarray(image[sel]), dtype=dtype, device=device)
    # as a correlation (sum_k w[k] x[i + k]) the filters run reversed
    taps = np.stack([lo_f[::-1], hi_f[::-1]])
    sizes = [b - a for a, b in box]

    def axis_pass(arr: Any, axis: int) -> list[Any]:
        n = sizes[axis]
        shifted = [arr.narrow(axis, k, n) for k in range(length)]
        out = []
        for c in range(2):
            acc = shifted[0] * float(taps[c, 0])
            for k in range(1, length):
                acc.add_(shifted[k], alpha=float(taps[c, k]))
            out.append(acc)
        return out

    bands_x = axis_pass(data, 2)  # low, high along x
    bands_xy = torch.stack([band for bx in bands_x for band in axis_pass(bx, 1)])  # (4, Z', Y, X): x, y bits
    rel = torch.as_tensor(points - np.array([a for a, _ in box]), device=device)
    _, zp, yp, xp = bands_xy.shape
    flat = bands_xy.reshape(4, -1)
    base = (rel[:, 0] * yp + rel[:, 1]) * xp + rel[:, 2]
    column = torch.stack([flat[:, base + k * yp * xp] for k in range(length)], 1)  # (4, L, P)
    weight = torch.as_tensor(taps, dtype=dtype, device=device)  # (2, L)
    out = torch.einsum("clp,zl->czp", column, weight)  # (4, 2, P): z bit last
    return out.reshape(8, -1)


def log_skip_reason(shape: tuple[int, ...], spacing: tuple[float, float, float], sigma: float) -> str | None:
    """Why pyradiomics would skip this sigma on an image of ``shape`` (None: it would not)."""
    size = np.array(shape)
    if size.min() < 4:
        return f"image too small for LoG (size {size.tolist()}): LoG skipped"
    if not np.all(size >= np.ceil(sigma / np.array(spacing)) + 1):
        return f"LoG sigma {sigma:g} mm is too large for image size {size.tolist()}: skipped (as pyradiomics)"
    return None


def _recursive_gaussian(sitk: Any, data: np.ndarray, spacing: tuple[float, float, float], sigma: float, axis: int, order: int, threads: int | None) -> np.ndarray:
    """One SimpleITK RecursiveGaussian pass along numpy ``axis`` (float32 out, as ITK's LoG keeps it)."""
    img = sitk.GetImageFromArray(np.ascontiguousarray(data))
    img.SetSpacing(tuple(float(s) for s in spacing[::-1]))
    filt = sitk.RecursiveGaussianImageFilter()
    filt.SetSigma(float(sigma))
    filt.SetNormalizeAcrossScale(True)
    filt.SetOrder(sitk.RecursiveGaussianImageFilter.SecondOrder if order == 2 else sitk.RecursiveGaussianImageFilter.ZeroOrder)
    filt.SetDirection(2 - axis)  # SimpleITK counts x, y, z
    if threads is not None:
        filt.SetNumberOfThreads(int(threads))
    result = filt.Execute(img)  # held while the view is read: the view does not keep it alive
    return sitk.GetArrayViewFromImage(result).astype(np.float32)


def _laplacian(sitk: Any, window: np.ndarray, spacing: tuple[float, float, float], sigma: float, inner: list[tuple[int, int]], threads: int | None) -> np.ndarray:
    """ITK's LaplacianRecursiveGaussian (normalised across scale) on ``window``, kept on ``inner`` only.

    Same passes, order and float32 rounding as ITK's filter (bit-identical): for each
    dimension x, y, z a second-derivative pass along it, then smoothing along the other
    dimensions in x, y, z order, each added as ``float32(sum + term / spacing**2)``. A pass
    treats every line on its own, so once a pass along an axis is done the data can be cut
    to ``inner`` along that axis: later passes run on less than the whole window (about a
    third less work than the packaged filter on the same window).
    """
    total = None
    for axis in (2, 1, 0):  # ITK's dimension order: x, y, z
        term = _recursive_gaussian(sitk, window, spacing, sigma, axis, 2, threads)
        term = _cut(term, axis, inner[axis])
        for other in (2, 1, 0):
            if other != axis:
                term = _cut(_recursive_gaussian(sitk, term, spacing, sigma, other, 0, threads), other, inner[other])
        scaled = term.astype(np.float64) * (1.0 / spacing[axis] ** 2)
        total = scaled.astype(np.float32) if total is None else (total.astype(np.float64) + scaled).astype(np.float32)
    return total


def _cut(data: np.ndarray, axis: int, span: tuple[int, int]) -> np.ndarray:
    index = [slice(None)] * data.ndim
    index[axis] = slice(*span)
    return data[tuple(index)]


def log_at(image: np.ndarray, spacing: tuple[float, float, float], box: list[tuple[int, int]], sigma: float, points: np.ndarray, threads: int | None = None) -> np.ndarray:
    """LoG (SimpleITK recursive, sigma in mm) at ``points`` (P, 3 voxel indices inside ``box``).

    The filter runs on ``box`` plus the margin only, once however many ROIs the points
    belong to. ``threads`` caps SimpleITK's own threads (1 when the engine runs tasks in
    parallel; SimpleITK releases the GIL, so they overlap with the other work).
    """
    try:
        import SimpleITK as sitk
    except ImportError as exc:
        raise RadiomicsError("LoG features need SimpleITK (pip install SimpleITK): its recursive Gaussian is the reference") from exc
    shape = np.array(image.shape)
    sp = tuple(float(s) for s in spacing)
    margin = np.ceil(LOG_MARGIN_SIGMAS * sigma / np.array(sp)).astype(int)
    window = []
    for (lo, hi), n, m in zip(box, shape, margin):
        a, b = lo - m, hi + m
        window.append((0, n) if a <= 0 or b >= n else (a, b))
    sub = image[tuple(slice(a, b) for a, b in window)]
    if np.issubdtype(sub.dtype, np.floating) and sub.dtype != np.float32:
        sub = sub.astype(np.float64)
    inner = [(lo - a, hi - a) for (lo, hi), (a, _) in zip(box, window)]
    out = _laplacian(sitk, sub, sp, float(sigma), inner, threads)
    rel = points - np.array([lo for lo, _ in box])
    return out[rel[:, 0], rel[:, 1], rel[:, 2]]


def log_name(sigma: float) -> str:
    """pyradiomics' image-type name, e.g. 'log-sigma-1-0-mm-3D'."""
    return "log-sigma-%s-mm-3D" % str(float(sigma)).replace(".", "-")

