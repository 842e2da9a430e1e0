"""Tissue map -> CT image: HU lookup, cancellous-bone texture, scanner blur and noise.

Noise is added *before* the point-spread blur and scaled so that its standard deviation
after the blur equals ``noise_hu``: the result has the fine, correlated grain of a
reconstruction kernel rather than white pixel noise.
"""

from __future__ import annotations

import numpy as np

from .params import SpineParams
from .tissues import Tissue

__all__ = ["render_ct", "gaussian_kernel_gain"]

_TEXTURED = (Tissue.TRABECULAR, Tissue.RIB_MARROW, Tissue.LESION_LYTIC, Tissue.LESION_BLASTIC)
_TEXTURE_HU = {Tissue.TRABECULAR: 28.0, Tissue.RIB_MARROW: 28.0, Tissue.LESION_LYTIC: 10.0,
               Tissue.LESION_BLASTIC: 90.0}
_SLICE_PROFILE_MM = 1.8  # FWHM of the slice sensitivity profile


def gaussian_kernel_gain(sigma: float, truncate: float = 4.0) -> float:
    """Factor by which scipy's 1-D Gaussian filter of ``sigma`` (px) scales white-noise SD."""
    if sigma <= 0:
        return 1.0
    radius = int(truncate * sigma + 0.5)
    x = np.arange(-radius, radius + 1, dtype=float)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    k /= k.sum()
    return float(np.sqrt((k**2).sum()))


def _texture_tile(rng: np.random.Generator) -> np.ndarray:
    """A small smooth random tile (wrapping) used as cancellous-bone texture, unit SD."""
    from scipy import ndimage

    tile = rng.standard_normal((22, 46, 43)).astype(np.float32)
    tile = ndimage.gaussian_filter(tile, (0.6, 1.1, 1.1), mode="wrap")
    tile -= tile.mean()
    return tile / (tile.std() + 1e-6)


def render_ct(hu: np.ndarray, tissue: np.ndarray, params: SpineParams, spacing: tuple[float, float, float],
              rng: np.random.Generator) -> np.ndarray:
    """Final HU image (int16): ``hu`` (float32, modified in place) plus texture, blur and noise."""
    from scipy import ndimage

    tile = _texture_tile(rng)
    for code in _TEXTURED:
        idx = np.nonzero(tissue == code)
        if idx[0].size == 0:
            continue
        pattern = tile[idx[0] % tile.shape[0], idx[1] % tile.shape[1], idx[2] % tile.shape[2]]
        hu[idx] += np.float32(_TEXTURE_HU[code]) * pattern
    sigma_mm = params.blur_fwhm_mm / 2.3548
    sigmas = (
        _SLICE_PROFILE_MM / 2.3548 / spacing[0] if params.blur_fwhm_mm > 0 else 0.0,
        sigma_mm / spacing[1],
        sigma_mm / spacing[2],
    )
    gain = float(np.prod([gaussian_kernel_gain(s) for s in sigmas]))
    if params.noise_hu > 0:
        noise = rng.standard_normal(hu.shape, dtype=np.float32)
        noise *= np.float32(params.noise_hu / gain)
        hu += noise
        del noise
    for axis, sigma in enumerate(sigmas):
        if sigma > 0.05:
            ndimage.gaussian_filter1d(hu, sigma, axis=axis, output=hu, mode="nearest")
    np.clip(hu, -1024.0, 3071.0, out=hu)
    return np.rint(hu).astype(np.int16)
