"""Trabecular HU on the real CT: automatic ROIs against a manual elliptical ROI built here.

The manual ROI follows the reference data's README: an ellipse 20 mm (right-left) by
18 mm (anterior-posterior) centred on the vertebral body's centroid, on the three
mid-body slices. The body and its slices are found here independently of the module:
on each axial slice, the label's voxels in front of the spinal canal (the first gap of
at least 3 mm when walking back from the front along the label's midline), and the
slices where that area is at least half its largest.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from napari_spine_mets.io.dicom import read_dicom_series
from napari_spine_mets.io.totalsegmentator import read_totalsegmentator
from napari_spine_mets.measure import Ellipse, evaluate_flags, measure_ellipse_roi, measure_trabecular_hu

T12, T11 = 32, 33


@pytest.fixture(scope="module")
def real(real_ct_series, real_ct_reference_labels):
    ct = read_dicom_series(real_ct_series)
    labels = read_totalsegmentator(real_ct_reference_labels, target=ct)
    report = evaluate_flags(measure_trabecular_hu(ct, labels, levels=["T12", "T11"]))
    return ct, labels, report


def _body_in_front_of_canal(mask2d: np.ndarray, dy: float, dx: float) -> np.ndarray:
    xs = np.nonzero(mask2d.any(axis=0))[0]
    mid = (xs[0] + xs[-1]) / 2.0
    strip = mask2d[:, int(mid - 5 / dx) : int(mid + 5 / dx) + 1].any(axis=1)
    ys = np.nonzero(strip)[0]
    gap, front = 0, mask2d.shape[0]
    for y in range(int(ys[0]), mask2d.shape[0]):
        gap = 0 if strip[y] else gap + 1
        if gap * dy >= 3.0:
            front = y - gap + 1
            break
    return mask2d & (np.arange(mask2d.shape[0])[:, None] < front)


def _manual(ct, labels, label: int) -> dict[int, float]:
    dz, dy, dx = ct.spacing
    vertebra = labels.array == label
    bodies = {z: _body_in_front_of_canal(vertebra[z], dy, dx) for z in np.nonzero(vertebra.any(axis=(1, 2)))[0]}
    areas = {z: b.sum() * dy * dx for z, b in bodies.items()}
    best = max(areas, key=areas.get)
    run = [z for z in sorted(areas) if areas[z] >= 0.5 * areas[best]]
    lo = hi = best
    while lo - 1 in run:
        lo -= 1
    while hi + 1 in run:
        hi += 1
    mid = (lo + hi) // 2
    slices = [z for z in (mid - 1, mid, mid + 1) if lo <= z <= hi]
    out = {}
    for z in slices:
        cy, cx = ndimage.center_of_mass(bodies[z])
        roi = measure_ellipse_roi(ct, Ellipse.aligned(int(z), (cy, cx), 9.0, 10.0))
        out[int(z)] = roi.stats.mean
    return out


@pytest.mark.parametrize(("level", "label"), [("T12", T12), ("T11", T11)])
def test_automatic_rois_stay_inside_the_trabecular_bone(real, level: str, label: int) -> None:
    ct, labels, report = real
    lv = report.levels[level]
    assert lv.problem is None and lv.slices
    spine = np.isin(labels.array, list(range(26, 51)))  # any vertebra: the body's outer edge is the cortex
    for roi in lv.slices:
        z = roi.slice_index
        mask = roi.ellipse.mask(ct.shape[1:], ct.spacing[1:])
        depth = ndimage.distance_transform_edt(np.pad(spine[z], 1), sampling=ct.spacing[1:])[1:-1, 1:-1]
        assert depth[mask].min() > 2.0, (level, z, depth[mask].min())
        assert (labels.array[z][mask] == label).mean() > 0.6  # mostly this level's own label
        assert 100 < roi.stats.mean < 260  # trabecular bone with contrast: no cortex, no soft tissue


def test_t12_mean_agrees_with_a_manual_ellipse(real) -> None:
    ct, labels, report = real
    lv = report.levels["T12"]
    auto = lv.combined.mean
    manual_mid = _manual(ct, labels, T12)
    assert len(manual_mid) == 3
    manual_mean = float(np.mean(list(manual_mid.values())))
    print(f"\nT12 automatic slices {[s.slice_index for s in lv.slices]} means "
          f"{[round(s.stats.mean, 1) for s in lv.slices]} combined {auto:.1f} (SD {lv.combined.sd:.1f}, "
          f"n {lv.combined.n_voxels}); manual 20x18 mm at mid-body {manual_mid} mean {manual_mean:.1f}")
    assert abs(auto - manual_mean) <= 10.0
    assert 140 <= manual_mean <= 175  # the README's careful manual ROI: about 145-170 HU per slice


def test_t11_mean_agrees_with_a_manual_ellipse_on_its_visible_body(real) -> None:
    ct, labels, report = real
    lv = report.levels["T11"]
    assert lv.body_truncated  # T11 is only partly in the scan, and the report says so
    assert any("may continue beyond it" in c for c in lv.caveats)
    manual = _manual(ct, labels, T11)
    manual_mean = float(np.mean(list(manual.values())))
    print(f"\nT11 automatic slices {[s.slice_index for s in lv.slices]} means "
          f"{[round(s.stats.mean, 1) for s in lv.slices]} combined {lv.combined.mean:.1f}; manual {manual} "
          f"mean {manual_mean:.1f}")
    assert abs(lv.combined.mean - manual_mean) <= 10.0


def test_real_series_caveats(real) -> None:
    _, _, report = real
    assert any("contrast" in c.lower() for c in report.volume_caveats)  # contrast applied, 120 kVp
    assert not any("kVp" in c for c in report.volume_caveats)
