"""The face CNN in int8, as the runtime runs it: its conv + batch-norm + ReLU blocks fused and quantized (oneDNN,
per-channel weights), the per-image standardisation before them and the head after them in float. The weights
(``weights-int8.pt``, a plain state dict loaded with ``weights_only=True``) are made by ``python -m face_model
quantize``; where PyTorch has no oneDNN quantized engine (builds for other CPUs) the runtime runs the float ones."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
import torch.ao.quantization as tq
from torch import nn

from . import cnn_store as store
from .cnn_network import EmotionCNN

ENGINE = "onednn"  # its default qconfig keeps 8-bit activations (x86's reduce_range costs 0.4 points here)
INT8_WEIGHTS = "weights-int8.pt"


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


def prepared(name: str, float_model: nn.Module) -> Int8CNN:
    if not isinstance(float_model, EmotionCNN):
        raise ValueError(f"{name} is an ensemble; int8 quantization covers single networks")
    torch.backends.quantized.engine = ENGINE  # process-wide; EmoClassify runs no other quantized model
    model = Int8CNN(float_model.eval()).eval()
    with _quiet():
        tq.prepare(model, inplace=True)
    return model


def converted(model: Int8CNN) -> Int8CNN:
    with _quiet():
        return tq.convert(model, inplace=True)


def load_int8(name: str, root: Path | None = None) -> tuple[Int8CNN, store.ModelMeta]:
    """The shipped int8 model ``name`` in eval mode; FileNotFoundError when it has none."""
    meta = store.read_meta(name, root)
    path = store.model_dir(name, root) / INT8_WEIGHTS
    if not meta.int8 or not path.exists():
        raise FileNotFoundError(f"face model '{name}' has no {INT8_WEIGHTS}; make it with `python -m face_model "
                                f"quantize --name {name}`")  # fmt: skip
    model = converted(prepared(name, meta.build()))
    with _quiet():
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model.eval(), meta
