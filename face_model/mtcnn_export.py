"""MTCNN's three networks as the ONNX graphs the runtime runs (``face_model/mtcnn``), from the weights that
facenet-pytorch ships (its ``data/{p,r,o}net.pt``, MIT). Exported once, here, so that an analysis loads them with
onnxruntime and never starts torch; ``python -m face_model mtcnn`` writes them again from the installed wheel.

PyTorch's TorchScript exporter, not its torch.export one: P-Net's ceil-mode pooling makes torch.export fix the
parity of the image's sides, while P-Net must scan images of any size (ONNX's MaxPool has ``ceil_mode`` itself)."""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import torch

from backend.faces.mtcnn import GRAPHS, NETWORK_INPUT, OUTPUTS, STAGE_SIDES


def export_mtcnn(folder: Path) -> dict[str, str]:
    """Writes the three graphs into ``folder``; returns each graph's SHA-256."""
    from facenet_pytorch.models.mtcnn import ONet, PNet, RNet

    folder.mkdir(parents=True, exist_ok=True)
    digests = {}
    for stage, network in (("pnet", PNet()), ("rnet", RNet()), ("onet", ONet())):
        side = STAGE_SIDES[stage]
        # P-Net scans whole images of any size; R-Net and O-Net see fixed-size crops
        example, open_dims = (
            (torch.zeros(2, 3, 40, 50), {0: "batch", 2: "height", 3: "width"})
            if side is None
            else (torch.zeros(2, 3, side, side), {0: "batch"})
        )
        path = folder / GRAPHS[stage]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # the TorchScript exporter's; see the docstring
            torch.onnx.export(network.eval(), (example,), str(path), dynamo=False, input_names=[NETWORK_INPUT],
                              output_names=list(OUTPUTS[stage]), dynamic_axes={NETWORK_INPUT: open_dims})  # fmt: skip
        digests[stage] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests
