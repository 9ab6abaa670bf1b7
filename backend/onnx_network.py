"""A shipped network's inference graph (``.onnx``) run by onnxruntime, the runtime that faster-whisper already
brings. The voice networks are trained in Keras and MTCNN ships as torch weights, but importing Keras costs a fresh
process 3.5 s (it loads scikit-learn and matplotlib with it), torch and torchvision as much again, against 0.25 s
for onnxruntime, and the graphs give the same outputs (to 1e-5). ONNX files are protobuf: loading one runs no code
from it."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np


def thread_budget() -> int:
    """The threads one analysis may use: ``OMP_NUM_THREADS`` where set (as torch reads it), else the cores this
    process may run on, so one worker stays on its share of a shared machine."""
    configured = os.environ.get("OMP_NUM_THREADS", "")
    return int(configured) if configured.isdigit() and int(configured) > 0 else len(os.sched_getaffinity(0))


class OnnxNetwork:
    """``network(batch) -> first output`` (or :meth:`outputs` for all) of a one-input graph, on the CPU."""

    def __init__(self, path: Path):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = thread_budget()
        options.inter_op_num_threads = 1
        # no memory arena: each session's arena kept its largest batch's buffers for good (80-145 MB of a 720p
        # analysis's peak), and allocating per run costs nothing measurable here (30 s clip 3.3 s either way)
        options.enable_cpu_mem_arena = False
        # An idle worker thread spins for a while waiting for the next run, and an analysis keeps several sessions
        # (MTCNN's three stages, the face CNN, ...) taking turns on the same cores: their spinning starved each
        # other (the face CNN at 2.7 instead of 0.8 ms a face; a faces-only analysis 4.5 s instead of 2.5 s).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name

    def outputs(self, batch: np.ndarray) -> list[np.ndarray]:
        return self._session.run(None, {self._input: np.ascontiguousarray(batch, dtype=np.float32)})

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self.outputs(batch)[0]
