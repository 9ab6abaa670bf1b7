"""Post-training int8 quantization of a trained face CNN, which the runtime classifier then runs.

Classifying faces is about a third of the time of analysing a video. The convolutions in int8 (oneDNN, per-channel
weights, activation ranges calibrated on FER2013 train images) take a sixth of the float time, and on FER2013
``val`` the int8 model scores within a tenth of a point of the float one (the card shows both). Where PyTorch has
no oneDNN quantized engine (builds for other CPUs), the runtime runs the float weights. The per-image
standardisation before the convolutions and the head after them (average pooling, linear layer) stay in float.

The quantized weights ship beside the float ones as ``weights-int8.pt`` (a plain state dict, loaded with
``weights_only=True``); ``model.json`` says how they were made. Float weights stay the reference: training,
evaluation of the float model and ensembles use them.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
import torch.ao.quantization as tq
from torch import nn

from . import store
from .data import fer_dir, load_folder
from .network import EmotionCNN

ENGINE = "onednn"  # its default qconfig keeps 8-bit activations (x86's reduce_range costs 0.4 points here)
INT8_WEIGHTS = "weights-int8.pt"
CALIBRATION_IMAGES = 2000  # FER2013 train images (with their mirror images), drawn with CALIBRATION_SEED
CALIBRATION_SEED = 0


class Int8CNN(nn.Module):
    """An ``EmotionCNN`` whose conv + batch-norm + ReLU blocks are fused and run in int8."""

    def __init__(self, float_model: EmotionCNN):
        super().__init__()
        self.features = float_model.features
        self.head = float_model.head
        self.quant, self.dequant = tq.QuantStub(), tq.DeQuantStub()
        for block in self.features:
            if isinstance(block, nn.Sequential):
                tq.fuse_modules(block, [["0", "1", "2"]], inplace=True)
        self.qconfig = tq.get_default_qconfig(ENGINE)
        self.head.qconfig = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        std = x.std(dim=(1, 2, 3), keepdim=True).clamp_min(1e-3)
        return self.head(self.dequant(self.features(self.quant((x - mean) / std))))


@contextmanager
def _quiet() -> Iterator[None]:
    """torch.ao.quantization warns that it is deprecated in favour of torchao (another package, not needed for
    this), and that observers which never ran have no ranges (true before a state dict is loaded into them)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def int8_available() -> bool:
    return ENGINE in torch.backends.quantized.supported_engines


def _prepared(name: str, float_model: nn.Module) -> Int8CNN:
    if not isinstance(float_model, EmotionCNN):
        raise ValueError(f"{name} is an ensemble; int8 quantization covers single networks")
    torch.backends.quantized.engine = ENGINE  # process-wide; EmoClassify runs no other quantized model
    model = Int8CNN(float_model.eval()).eval()
    with _quiet():
        tq.prepare(model, inplace=True)
    return model


def _converted(model: Int8CNN) -> Int8CNN:
    with _quiet():
        return tq.convert(model, inplace=True)


def calibration_images(count: int = CALIBRATION_IMAGES, seed: int = CALIBRATION_SEED) -> np.ndarray:
    train = load_folder(fer_dir("train"))
    return train.images[np.random.default_rng(seed).choice(len(train.images), count, replace=False)]


def quantize(name: str, root: Path | None = None) -> Path:
    """Write ``weights-int8.pt`` for the trained model ``name`` and record how in its ``model.json``."""
    from .train import predict_logits_batched  # training code, kept out of the runtime's imports of load_int8

    float_model, meta = store.load(name, root)
    model = _prepared(name, float_model)
    # the observers record the ranges of what runs through: faces and, as at run time, their mirror images
    predict_logits_batched(model, calibration_images(), batch=100, flip_average=True)
    _converted(model)
    path = store.model_dir(name, root) / INT8_WEIGHTS
    torch.save(model.state_dict(), path)
    calibration = f"{CALIBRATION_IMAGES} FER2013 train images and their mirror images, seed {CALIBRATION_SEED}"
    meta.int8 = {"file": INT8_WEIGHTS, "engine": ENGINE, "calibration": calibration}
    store.write_meta(meta, root)
    return path


def load_int8(name: str, root: Path | None = None) -> tuple[Int8CNN, store.ModelMeta]:
    """The shipped int8 model ``name`` in eval mode; FileNotFoundError when it has none."""
    meta = store.read_meta(name, root)
    path = store.model_dir(name, root) / INT8_WEIGHTS
    if not meta.int8 or not path.exists():
        raise FileNotFoundError(f"face model '{name}' has no {INT8_WEIGHTS}; make it with `python -m face_model "
                                f"quantize --name {name}`")  # fmt: skip
    model = _converted(_prepared(name, meta.build()))
    with _quiet():
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model.eval(), meta
