"""MTCNN's three networks as the ONNX graphs the runtime runs (``face_model/mtcnn``), from the weights that
facenet-pytorch ships (its ``data/{p,r,o}net.pt``, MIT). Exported once, here, so that an analysis loads them with
onnxruntime and never starts torch; ``python -m face_model mtcnn`` writes them again from the installed wheel."""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch

from backend.faces.mtcnn import GRAPHS, NETWORK_INPUT, OUTPUTS, STAGE_SIDES
from backend.onnx_export import export_graph


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
        path = export_graph(network, example, folder / GRAPHS[stage], NETWORK_INPUT, list(OUTPUTS[stage]), open_dims)
        digests[stage] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests
