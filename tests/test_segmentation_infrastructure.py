"""Segmentation building blocks: the network's shapes, seamless sliding windows, safe weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from napari_spine_mets.segmentation.network import UNet3D, count_parameters
from napari_spine_mets.segmentation.sliding_window import (
    InferenceCancelled,
    fitted_patch,
    gaussian_weight,
    patch_starts,
    sliding_window_predict,
)
from napari_spine_mets.segmentation.weights import ModelCard, WeightsError, load_weights, save_weights


def _small_net() -> UNet3D:
    torch.manual_seed(0)
    return UNet3D(n_classes=3, base_channels=4, depth=2, max_channels=16)


def test_network_output_shape_and_size() -> None:
    net = _small_net()
    out = net(torch.zeros(2, 1, 16, 24, 32))
    assert out.shape == (2, 3, 16, 24, 32)
    assert net.divisor == 4
    # the default configuration stays small enough to ship inside the package (< 20 MB in float32)
    assert count_parameters(UNet3D(n_classes=8)) * 4 < 20e6


@pytest.mark.parametrize("size,patch,overlap", [(100, 32, 0.5), (32, 32, 0.5), (20, 32, 0.5), (97, 40, 0.25)])
def test_patch_starts_cover_the_axis(size: int, patch: int, overlap: float) -> None:
    starts = patch_starts(size, patch, overlap)
    covered = np.zeros(max(size, patch), bool)
    for s in starts:
        covered[s : s + patch] = True
    assert covered[:size].all()
    assert starts == sorted(set(starts)) and starts[0] == 0


def test_an_axis_the_volume_barely_exceeds_gets_one_patch_as_long_as_the_volume() -> None:
    # the clinical-size benchmark's spine crop on the 2 mm grid, against the shipped patch
    fitted = fitted_patch((269, 149, 78), (48, 64, 64), divisor=8)
    assert fitted == (48, 64, 80)  # 78 -> one patch of 80 (a multiple of 8) instead of two of 64
    assert [len(patch_starts(s, p, 0.25)) for s, p in zip((269, 149, 78), fitted)] == [8, 3, 1]
    assert fitted_patch((40, 64, 97), (48, 64, 64), divisor=8) == (48, 64, 64)  # smaller, equal, too long
    # the fitted patch infers a volume that the network can take
    net = _small_net()
    out = sliding_window_predict(net, np.zeros((10, 22, 13), np.float32), fitted_patch((10, 22, 13), (8, 16, 16), net.divisor),
                                 n_classes=3)
    assert out.shape == (3, 10, 22, 13)


def test_gaussian_weight_peaks_in_the_centre() -> None:
    w = gaussian_weight((9, 9, 9))
    assert w[4, 4, 4] == pytest.approx(1.0) and w.min() > 0
    assert w[0, 0, 0] < w[2, 2, 2] < w[4, 4, 4]


class _Echo(torch.nn.Module):
    """A 'network' whose prediction depends only on the voxel value: blending must be seamless."""

    def __init__(self) -> None:
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([-x, x], dim=1) * 4.0


def test_sliding_window_equals_whole_volume_prediction() -> None:
    rng = np.random.default_rng(1)
    volume = rng.normal(size=(21, 37, 30)).astype(np.float32)
    calls: list[tuple[int, int]] = []
    result = sliding_window_predict(_Echo(), volume, (8, 16, 16), n_classes=2, overlap=0.5, batch_size=3, progress=lambda d, t: calls.append((d, t)))
    expected = torch.softmax(torch.cat([-torch.from_numpy(volume)[None], torch.from_numpy(volume)[None]]) * 4.0, dim=0)
    assert result.shape == (2, 21, 37, 30)
    torch.testing.assert_close(result, expected, atol=1e-5, rtol=1e-5)
    assert calls[-1][0] == calls[-1][1] and len(calls) >= 2


def test_sliding_window_pads_small_volumes_and_can_be_cancelled() -> None:
    volume = np.zeros((3, 5, 5), np.float32)
    out = sliding_window_predict(_small_net(), volume, (8, 8, 8), n_classes=3)
    assert out.shape == (3, 3, 5, 5)
    torch.testing.assert_close(out.sum(0), torch.ones(3, 5, 5))
    with pytest.raises(InferenceCancelled):
        sliding_window_predict(_small_net(), np.zeros((16, 16, 16), np.float32), (8, 8, 8), n_classes=3, cancel=lambda: True)


def _card() -> ModelCard:
    return ModelCard(name="tiny", version="0.0.1", architecture={}, classes={0: "background", 1: "bone", 2: "canal"}, demonstration=True)


def test_weights_round_trip_with_hash_check(tmp_path: Path) -> None:
    net = _small_net()
    path = save_weights(net, _card(), tmp_path)
    loaded, card = load_weights("tiny", tmp_path)
    assert card.weights_sha256 and card.classes[2] == "canal" and card.demonstration
    x = torch.randn(1, 1, 8, 8, 8)
    torch.testing.assert_close(loaded(x), net.eval()(x))
    assert path.stat().st_size < 1e6


def test_tampered_or_missing_weights_are_refused(tmp_path: Path) -> None:
    path = save_weights(_small_net(), _card(), tmp_path)
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="SHA-256"):
        load_weights("tiny", tmp_path)
    with pytest.raises(WeightsError, match="no model card for 'absent'"):
        load_weights("absent", tmp_path)


def test_pickled_code_is_never_executed(tmp_path: Path) -> None:
    """A weights file carrying a pickled object is refused by weights_only loading, even with a matching hash."""
    import json

    from napari_spine_mets.segmentation.weights import file_sha256

    save_weights(_small_net(), _card(), tmp_path)
    evil = tmp_path / "tiny.pt"
    torch.save({"payload": Path("/etc/passwd")}, evil)  # an arbitrary object, not tensors
    card_path = tmp_path / "tiny.json"
    card = json.loads(card_path.read_text())
    card["weights_sha256"] = file_sha256(evil)
    card_path.write_text(json.dumps(card))
    with pytest.raises(WeightsError, match="cannot load"):
        load_weights("tiny", tmp_path)


def test_segmentation_refuses_before_allocating_when_memory_is_short(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from napari_spine_mets.safety.memory import MemoryLimitError
    from napari_spine_mets.segmentation.classes import CLASS_NAMES, N_CLASSES
    from napari_spine_mets.segmentation.inference import segment_vertebrae
    from napari_spine_mets.synthetic import SpineParams, generate_spine_ct

    torch.manual_seed(0)
    card = ModelCard(name="vertebrae-ct", version="t", architecture={}, classes=CLASS_NAMES,
                     metrics={"working_spacing_mm": 4.0, "patch": [16, 32, 32]})
    save_weights(UNet3D(n_classes=N_CLASSES, base_channels=4, depth=2), card, tmp_path)
    case = generate_spine_ct(SpineParams(levels=("L5", "S1"), spacing_mm=(3.0, 1.5, 1.5), fov_mm=160, lesions=(), fracture=None))
    monkeypatch.setenv("SPINE_METS_MEMORY_LIMIT_GB", "0.001")
    with pytest.raises(MemoryLimitError, match="segmenting this volume"):
        segment_vertebrae(case.ct, weights_dir=tmp_path, device="cpu")
