"""Training patches: the crop a GPU consumes thousands of a minute must be exactly the
volume's voxels, padded with air where the volume is smaller than the patch."""

from __future__ import annotations

import numpy as np
import torch

from napari_spine_mets.segmentation.training_data import TrainingSample, random_patch


def _sample() -> TrainingSample:
    rng = np.random.default_rng(0)
    image = torch.as_tensor(rng.normal(size=(20, 30, 40)).astype(np.float32))
    target = np.zeros((20, 30, 40), dtype=np.uint8)
    target[8:12, 10:20, 15:25] = 2
    return TrainingSample(image=image, target=target, seed=0)


def test_a_patch_is_the_volume_cropped_where_the_start_says() -> None:
    sample = _sample()
    image, target = random_patch(sample, (8, 8, 8), np.random.default_rng(3), foreground_bias=0.0)
    assert image.shape == (1, 8, 8, 8) and target.shape == (8, 8, 8) and target.dtype == torch.int64
    # find the crop's position by matching the image, then check the target comes from there
    hits = [(z, y, x) for z in range(13) for y in range(23) for x in range(33)
            if torch.equal(sample.image[z:z + 8, y:y + 8, x:x + 8], image[0])]
    assert len(hits) == 1
    z, y, x = hits[0]
    assert (target.numpy() == sample.target[z:z + 8, y:y + 8, x:x + 8]).all()


def test_foreground_patches_hold_foreground_and_the_indices_are_found_once() -> None:
    sample = _sample()
    rng = np.random.default_rng(1)
    for _ in range(10):
        _, target = random_patch(sample, (4, 6, 6), rng, foreground_bias=1.0)
        assert (target == 2).any()
    assert sample.foreground() is sample.foreground() and len(sample.foreground()) == 4 * 10 * 10


def test_a_volume_smaller_than_the_patch_is_padded_with_air_and_background() -> None:
    sample = _sample()
    image, target = random_patch(sample, (24, 30, 48), np.random.default_rng(2))
    assert image.shape == (1, 24, 30, 48)
    assert torch.equal(image[0, :20, :, :40], sample.image)
    assert (image[0, 20:] == -1).all() and (image[0, :, :, 40:] == -1).all()
    assert (target[20:] == 0).all() and (target[:20, :, :40].numpy() == sample.target).all()
