"""Writing a torch module as the ONNX graph that the runtime then runs in onnxruntime (:mod:`backend.onnx_network`).
Build-time work (the training commands and the one-time export of the speech encoder call it); importing this
module starts torch, which an analysis otherwise never does.

PyTorch's TorchScript exporter, not its torch.export one: P-Net's ceil-mode pooling makes torch.export fix the
parity of the image's sides, while P-Net must scan images of any size (ONNX's MaxPool has ``ceil_mode`` itself).
The exporter is deprecated but present in the pinned torch; its DeprecationWarning is silenced here, once."""

from __future__ import annotations

import warnings
from pathlib import Path

import torch


def export_graph(module: torch.nn.Module, example: torch.Tensor, path: Path, input_name: str,
                 output_names: list[str], open_dims: dict[int, str]) -> Path:  # fmt: skip
    """``module`` in eval mode, traced on ``example``, as an ONNX graph at ``path``; the input's dimensions in
    ``open_dims`` (index to name) stay open."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(module.eval(), (example,), str(path), dynamo=False, input_names=[input_name],
                          output_names=output_names, dynamic_axes={input_name: open_dims})  # fmt: skip
    return path
