"""Mask helpers shared across the package: structuring elements in millimetres (for scans
whose voxels are not cubes), a mask's largest connected piece, and fast exact forms of
scipy's binary dilation and erosion and grey maximum filter for the refinement's
clinical-size boxes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["IN_PLANE", "ball", "largest_piece", "diamond", "slice_holes", "dilate", "erode", "maximum_filter"]

#: A 3-D structuring element joining only the four in-plane neighbours of a voxel (axis 0 is
#: the slice axis): labelling and filling with it works slice by slice in one call.
IN_PLANE = np.zeros((3, 3, 3), dtype=bool)
IN_PLANE[1, 1, :] = IN_PLANE[1, :, 1] = True
IN_PLANE.setflags(write=False)


def ball(radius_mm: float, spacing: Sequence[float]) -> np.ndarray:
    """The voxels within ``radius_mm`` of the centre on a grid of ``spacing`` (an ellipsoid in
    voxels): a dilation by it reaches the same distance along every axis."""
    half = [max(0, int(np.floor(radius_mm / s))) for s in spacing]
    grid = np.meshgrid(*[np.arange(-h, h + 1) * s for h, s in zip(half, spacing)], indexing="ij")
    return sum(g**2 for g in grid) <= radius_mm**2 + 1e-6


def largest_piece(mask: np.ndarray) -> np.ndarray:
    """The largest connected piece of ``mask`` (any dimension; faces connect): the structure
    itself without stray voxels of its label around it. The mask itself when it is one piece."""
    from scipy import ndimage

    pieces, count = ndimage.label(mask)
    if count <= 1:
        return mask
    return pieces == int(np.argmax(np.bincount(pieces.ravel())[1:])) + 1


def diamond(radius: int, ndim: int = 2) -> np.ndarray:
    """The voxels within ``radius`` steps of the centre along the grid's axes (an L1 ball):
    the face-connected cross iterated ``radius`` times."""
    grid = np.meshgrid(*[np.arange(-radius, radius + 1)] * ndim, indexing="ij")
    return sum(np.abs(g) for g in grid) <= radius


def slice_holes(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(in-plane pieces of what ``mask`` leaves out, slice by slice; per piece id, whether it is
    a hole): a piece is a hole when it reaches no edge of its slice. Id 0 (``mask``) is not."""
    from scipy import ndimage

    background, n = ndimage.label(~mask, structure=IN_PLANE)
    hole = np.ones(n + 1, dtype=bool)
    for face in (background[:, 0, :], background[:, -1, :], background[:, :, 0], background[:, :, -1]):
        hole[np.unique(face)] = False
    hole[0] = False
    return background, hole


def dilate(mask: np.ndarray, structure: np.ndarray, outside: bool = False) -> np.ndarray:
    """``scipy.ndimage.binary_dilation(mask, structure)``, as shifted ORs of the structure's rows.

    scipy visits every structure element at every voxel of the array; on a clinical-size
    box and a 3 mm disk that is ~0.3 s, against a few hundredths this way. The structure
    must be symmetric about its centre and each of its rows along the last axis an unbroken
    run centred on that axis (a ball, a disk, a diamond, a cross), which is checked.
    ``outside`` is what lies beyond the array's edges: False as scipy's dilation, True to
    erode by the complement (``erode``).
    """
    mask = np.asarray(mask, dtype=bool)
    structure = np.asarray(structure, dtype=bool)
    if structure.ndim != mask.ndim or any(n % 2 == 0 for n in structure.shape):
        raise ValueError(f"structure of shape {structure.shape} for a {mask.ndim}-d mask: odd sizes of its dimensions needed")
    if not np.array_equal(structure, structure[(slice(None, None, -1),) * structure.ndim]):
        raise ValueError("structure not symmetric about its centre")
    centre = [n // 2 for n in structure.shape]
    rows: dict[tuple[int, ...], int] = {}
    for prefix in np.ndindex(*structure.shape[:-1]):
        run = np.nonzero(structure[prefix])[0]
        if run.size == 0:
            continue
        half = centre[-1] - int(run[0])
        if run.size != 2 * half + 1 or int(run[-1]) != centre[-1] + half:
            raise ValueError("a row of the structure is not an unbroken run centred on its axis")
        rows[tuple(p - c for p, c in zip(prefix, centre[:-1]))] = half
    lines = _row_dilations(mask, sorted(set(rows.values())), outside)
    out = np.zeros_like(mask)
    for offset, half in rows.items():
        _or_shifted(out, lines[half], offset, outside)
    return out


def erode(mask: np.ndarray, structure: np.ndarray) -> np.ndarray:
    """``scipy.ndimage.binary_erosion(mask, structure)`` (beyond the edges is background),
    by ``dilate`` of the complement; the same conditions on ``structure``."""
    return ~dilate(~np.asarray(mask, dtype=bool), structure, outside=True)


def _row_dilations(mask: np.ndarray, halves: list[int], outside: bool) -> dict[int, np.ndarray]:
    """``mask`` dilated along its last axis by each half-width in ``halves`` (sorted)."""
    lines: dict[int, np.ndarray] = {}
    current, done = mask.copy(), 0
    for half in halves:
        while done < half:  # one step either way per round: half-widths are a few voxels
            step = current.copy()
            step[..., 1:] |= current[..., :-1]
            step[..., :-1] |= current[..., 1:]
            if outside:
                step[..., :1] = True
                step[..., -1:] = True
            current, done = step, done + 1
        lines[half] = current
    return lines


def _or_shifted(out: np.ndarray, line: np.ndarray, offset: tuple[int, ...], outside: bool) -> None:
    """``out[q] |= line[q + offset]`` over the leading axes; where ``q + offset`` is beyond
    the array, ``out[q] |= outside``."""
    target, source = [], []
    for o, n in zip(offset, out.shape):
        target.append(slice(max(0, -o), n - max(0, o)))
        source.append(slice(max(0, o), n + min(0, o)))
    out[tuple(target)] |= line[tuple(source)]
    if outside:
        for axis, (o, n) in enumerate(zip(offset, out.shape)):
            if o == 0:
                continue
            edge = [slice(None)] * out.ndim
            edge[axis] = slice(n - o, n) if o > 0 else slice(0, -o)
            out[tuple(edge)] = True


def maximum_filter(array: np.ndarray, size: Sequence[int]) -> np.ndarray:
    """``scipy.ndimage.maximum_filter(array, size)`` for odd sizes, by doubling windows along
    each axis with numpy (half the time of scipy's loop on a clinical-size float32 box)."""
    if any(s % 2 == 0 or s < 1 for s in size) or len(size) != array.ndim:
        raise ValueError(f"odd window sizes, one per axis, needed: {tuple(size)} for a {array.ndim}-d array")
    out = array
    for axis, s in enumerate(size):
        out = _running_max(out, axis, s // 2)
    return out.copy() if out is array else out


def _running_max(array: np.ndarray, axis: int, half: int) -> np.ndarray:
    """Maximum over ``[i - half, i + half]`` along ``axis`` (beyond the ends ignored, as scipy's
    reflecting edge gives for a maximum); a new array, or ``array`` itself where nothing changes."""
    n = array.shape[axis]
    if half == 0 or n == 1:
        return array

    def along(start: int, stop: int) -> tuple[slice, ...]:
        index = [slice(None)] * array.ndim
        index[axis] = slice(start, stop)
        return tuple(index)

    ahead, width = array.copy(), 1  # ahead[i]: the maximum over [i, i + width - 1]
    while width < half + 1:
        step = min(width, half + 1 - width, n - 1)
        if step <= 0:
            break
        np.maximum(ahead[along(0, n - step)], ahead[along(step, n)], out=ahead[along(0, n - step)])
        width += step
    # [i - half, i + half] is ahead[i - half] with ahead[i]; near the start, ahead[0] with ahead[i].
    # In place, the far part first: numpy reads overlapping operands as they were, and the
    # near part reads only ahead[:half], which the far part leaves alone
    shift = min(half, n)
    np.maximum(ahead[along(shift, n)], ahead[along(0, n - shift)], out=ahead[along(shift, n)])
    np.maximum(ahead[along(0, shift)], ahead[along(0, 1)], out=ahead[along(0, shift)])
    return ahead
