"""The face-expression CNN: a small VGG-style network for 48x48 grayscale faces.

Shared by training and by the runtime classifier (``backend.faces.classifiers.cnn``) so that both build the
exact same graph from the hyper-parameters stored in ``model.json``.
"""

from __future__ import annotations

import torch
from torch import nn


def _conv_bn_relu(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class EmotionCNN(nn.Module):
    """Stages of two 3x3 convolutions, max-pooled between stages, global average pooling, one linear layer.

    Each image is standardised inside ``forward`` (zero mean, unit variance), so lighting and contrast of the
    video do not shift the input distribution, and callers only pass pixels scaled to [0, 1].
    """

    def __init__(self, widths: tuple[int, ...] = (32, 64, 128, 256), num_classes: int = 7, dropout: float = 0.3):
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 1
        for stage, width in enumerate(widths):
            layers += [_conv_bn_relu(c_in, width), _conv_bn_relu(width, width)]
            if stage < len(widths) - 1:
                layers.append(nn.MaxPool2d(2))
            c_in = width
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(c_in, num_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits for a batch of shape (N, 1, H, W) with pixels in [0, 1]."""
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        std = x.std(dim=(1, 2, 3), keepdim=True).clamp_min(1e-3)
        return self.head(self.features((x - mean) / std))


class EmotionEnsemble(nn.Module):
    """Several ``EmotionCNN`` of one shape trained from different seeds, logits averaged: their mistakes differ,
    so the mean is more accurate and better calibrated than any one member, at the cost of one pass each."""

    def __init__(self, members: list[EmotionCNN]):
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([member(x) for member in self.members]).mean(dim=0)


class FlipAveraged(nn.Module):
    """A model's logits averaged with those of the mirrored faces (test-time flip): one module, so that the int8
    graph holds the same computation as the float path."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.model(x) + self.model(x.flip(3))) / 2


@torch.no_grad()
def predict_logits(model: nn.Module, x: torch.Tensor, flip_average: bool = True) -> torch.Tensor:
    """Logits for (N, 1, H, W) pixels in [0, 1], averaged with the mirrored faces when ``flip_average``:
    the one inference path for training-time validation, evaluation and the runtime's float classifier."""
    model.eval()
    return (FlipAveraged(model) if flip_average else model)(x)
