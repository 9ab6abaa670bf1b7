"""Shared fixtures. Tests must pass anywhere: media is generated on the fly; tests that need ``../shared/data``
use the ``shared_data`` fixture, which skips with a reason where it is absent."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing is ever fetched from a model hub in tests
os.environ.setdefault("KERAS_BACKEND", "torch")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from backend.config import get_settings  # noqa: E402


@pytest.fixture(scope="session")
def shared_data() -> Path:
    data = get_settings().data_dir
    if not (data / "video").is_dir():
        pytest.skip(f"shared data not found at {data} (set EMOCLASSIFY_DATA to the shared data folder)")
    return data


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """A 512x512 RGB photo with one frontal face (scikit-image ships it; public domain)."""
    from skimage import data

    return data.astronaut()
