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

from pathlib import Path

import numpy as np
import torch

from backend.faces import cnn_store as store
from backend.faces.cnn_int8 import ENGINE, INT8_WEIGHTS, converted, prepared

from .data import fer_dir, load_folder
from .train import predict_logits_batched

CALIBRATION_IMAGES = 2000  # FER2013 train images (with their mirror images), drawn with CALIBRATION_SEED
CALIBRATION_SEED = 0


def calibration_images(count: int = CALIBRATION_IMAGES, seed: int = CALIBRATION_SEED) -> np.ndarray:
    train = load_folder(fer_dir("train"))
    return train.images[np.random.default_rng(seed).choice(len(train.images), count, replace=False)]


def quantize(name: str, root: Path | None = None) -> Path:
    """Write ``weights-int8.pt`` for the trained model ``name`` and record how in its ``model.json``."""
    float_model, meta = store.load(name, root)
    model = prepared(name, float_model)
    # the observers record the ranges of what runs through: faces and, as at run time, their mirror images
    predict_logits_batched(model, calibration_images(), batch=100, flip_average=True)
    converted(model)
    path = store.model_dir(name, root) / INT8_WEIGHTS
    torch.save(model.state_dict(), path)
    calibration = f"{CALIBRATION_IMAGES} FER2013 train images and their mirror images, seed {CALIBRATION_SEED}"
    meta.int8 = {"file": INT8_WEIGHTS, "engine": ENGINE, "calibration": calibration}
    store.write_meta(meta, root)
    return path
