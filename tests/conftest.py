"""Shared fixtures. Tests must pass anywhere: media is generated on the fly; tests that need ``../shared/data``
use the ``shared_data`` fixture, which skips with a reason where it is absent."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing is ever fetched from a model hub in tests
os.environ.setdefault("KERAS_BACKEND", "torch")
# Request rates are a behaviour of their own, tested where they are set (tests/test_api_limits.py). Everywhere else
# they are off, in test apps and in the servers tests start: a budget that a module's or an earlier test's requests
# spend must not decide a later test, whatever the machine's speed.
os.environ["EMOCLASSIFY_RATE_LIMIT_READ"] = ""
os.environ["EMOCLASSIFY_RATE_LIMIT_SUBMIT"] = ""

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from backend.config import get_settings  # noqa: E402


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--reliability-report", metavar="PATH", default=None,
                     help="tests/test_bad_inputs.py writes its outcomes to PATH (`make reliability`)")  # fmt: skip


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


@pytest.fixture()
def media_opens(monkeypatch) -> list[str]:
    """The paths libav opens for reading while the test runs, one entry per open: how many times files are read."""
    import av
    from media_opens import counting

    opened: list[str] = []
    monkeypatch.setattr(av, "open", counting(av.open, opened))
    return opened
