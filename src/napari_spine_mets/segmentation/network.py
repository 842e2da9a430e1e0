"""A compact 3D U-Net for CT vertebra segmentation.

Small on purpose (about a million parameters at ``base_channels=16``): the weights ship
inside the package and inference must be fast on a 2-core CPU, so capacity goes where
it pays (residual blocks, instance norm, skip connections) rather than into width.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["UNet3D", "count_parameters"]


class _ResidualBlock(nn.Module):
    """Two 3x3x3 convolutions with instance norm and a projected shortcut."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv3d(in_channels, out_channels, 3, padding=1, bias=False),
            nn.InstanceNorm3d(out_channels, affine=True),
            nn.LeakyReLU(0.01, inplace=True),
            nn.Conv3d(out_channels, out_channels, 3, padding=1, bias=False),
            nn.InstanceNorm3d(out_channels, affine=True),
        )
        self.shortcut = (
            nn.Identity() if in_channels == out_channels else nn.Conv3d(in_channels, out_channels, 1, bias=False)
        )
        self.activation = nn.LeakyReLU(0.01, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation(self.body(x) + self.shortcut(x))


class UNet3D(nn.Module):
    """Encoder-decoder with skips; ``depth`` poolings, channels doubling down to ``max_channels``.

    Input sizes must be divisible by ``2**depth`` (the sliding window guarantees it).
    """

    def __init__(
        self,
        in_channels: int = 1,
        n_classes: int = 2,
        base_channels: int = 16,
        depth: int = 4,
        max_channels: int = 128,
    ) -> None:
        super().__init__()
        self.config = {
            "in_channels": in_channels,
            "n_classes": n_classes,
            "base_channels": base_channels,
            "depth": depth,
            "max_channels": max_channels,
        }
        widths = [min(base_channels * 2**i, max_channels) for i in range(depth + 1)]
        self.encoders = nn.ModuleList()
        previous = in_channels
        for width in widths:
            self.encoders.append(_ResidualBlock(previous, width))
            previous = width
        self.pool = nn.MaxPool3d(2)
        self.upsamplers = nn.ModuleList()
        self.decoders = nn.ModuleList()
        for level in range(depth, 0, -1):
            self.upsamplers.append(nn.ConvTranspose3d(widths[level], widths[level - 1], 2, stride=2))
            self.decoders.append(_ResidualBlock(widths[level - 1] * 2, widths[level - 1]))
        self.head = nn.Conv3d(widths[0], n_classes, 1)

    @property
    def divisor(self) -> int:
        """Every spatial size fed to the network must be a multiple of this."""
        return 2 ** int(self.config["depth"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for index, encoder in enumerate(self.encoders):
            x = encoder(x)
            if index < len(self.encoders) - 1:
                skips.append(x)
                x = self.pool(x)
        for upsample, decoder in zip(self.upsamplers, self.decoders):
            x = upsample(x)
            x = decoder(torch.cat([x, skips.pop()], dim=1))
        return self.head(x)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
