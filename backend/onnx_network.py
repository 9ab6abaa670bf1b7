"""A shipped network's inference graph (``model.onnx``) run by onnxruntime, the runtime that faster-whisper already
brings. The voice networks are trained in Keras, but importing Keras costs a fresh process 3.5 s (it loads
scikit-learn and matplotlib with it) against 0.05 s for onnxruntime, and the graph gives the same probabilities
(to 1e-6). ONNX files are protobuf: loading one runs no code from it."""

from __future__ import annotations

from pathlib import Path

import numpy as np


class OnnxNetwork:
    """``network(batch) -> outputs`` of a one-input, one-output graph, on the CPU."""

    def __init__(self, path: Path):
        import onnxruntime
        import torch

        options = onnxruntime.SessionOptions()
        # the same thread budget as torch's (OMP_NUM_THREADS or the cores), so one worker stays on its share
        options.intra_op_num_threads = torch.get_num_threads()
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self._session.run(None, {self._input: np.ascontiguousarray(batch, dtype=np.float32)})[0]
