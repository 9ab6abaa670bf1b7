"""Classifiers by name, loaded once per process and shared by every analysis (loading costs seconds)."""

from __future__ import annotations

import threading

from backend.config import Settings
from backend.errors import InputError, ModelUnavailableError

from .base import FaceClassifier

NAMES = ("cnn", "vit", "auto")

_loaded: dict[tuple[str, Settings], FaceClassifier] = {}
_lock = threading.Lock()


def _build(name: str, settings: Settings) -> FaceClassifier:
    if name == "cnn":
        from .cnn import CnnClassifier

        return CnnClassifier(settings)
    from .vit import VitClassifier

    return VitClassifier(settings)


def get_classifier(name: str, settings: Settings) -> FaceClassifier:
    """The classifier called ``name``; ``auto`` is the ViT where it can be loaded, else the CNN."""
    if name not in NAMES:
        raise InputError(f"unknown face model '{name}': choose one of {', '.join(NAMES)}", code="invalid_option")
    if name == "auto":
        try:
            return get_classifier("vit", settings)
        except ModelUnavailableError:
            return get_classifier("cnn", settings)
    with _lock:
        key = (name, settings)
        if key not in _loaded:
            _loaded[key] = _build(name, settings)
        return _loaded[key]


def available_classifiers(settings: Settings) -> dict[str, str]:
    """Each concrete classifier's state: ``loaded``, ``available`` or the reason it can't be loaded."""
    states = {}
    for name in ("cnn", "vit"):
        if (name, settings) in _loaded:
            states[name] = "loaded"
            continue
        try:
            get_classifier(name, settings)
            states[name] = "loaded"
        except ModelUnavailableError as exc:
            states[name] = f"unavailable: {exc.message}"
    return states
