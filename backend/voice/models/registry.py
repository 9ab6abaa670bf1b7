"""Voice models by name, loaded once per process and settings and shared by every analysis (loading costs seconds):
``default`` is the shipped model (``voice_model/models/<name>``), ``legacy:PATH`` an original-format ``.h5``
(``seed_model3.h5`` style, with its own 44 kHz preprocessing; see :mod:`backend.voice.models.legacy` for the label
mapping)."""

from __future__ import annotations

import threading
from pathlib import Path

from backend.config import Settings
from backend.errors import InputError
from backend.voice import store

from .base import VoiceModel

LEGACY_PREFIX = "legacy:"

_loaded: dict[tuple[str, Settings], VoiceModel] = {}
_lock = threading.Lock()


def shipped_voice_model(name: str, settings: Settings) -> VoiceModel:
    """The model class a shipped folder's ``model.json`` asks for."""
    try:
        architecture = store.read_meta(name, settings.voice_model_dir).architecture
    except FileNotFoundError:
        architecture = None  # MfccVoiceModel says what is missing and where
    if architecture == "encoder":
        from .encoder import EncoderVoiceModel

        return EncoderVoiceModel(name, settings)
    from .mfcc import MfccVoiceModel

    return MfccVoiceModel(name, settings)


def get_voice_model(name: str, settings: Settings) -> VoiceModel:
    """``default`` (the shipped model, ``settings.voice_model_name``), a shipped model's name, or
    ``legacy:PATH``; loaded once per process and settings."""
    if not name:
        raise InputError("voice model name is empty", code="invalid_option")
    with _lock:
        key = (name, settings)
        if key not in _loaded:
            if name.startswith(LEGACY_PREFIX):
                from .legacy import LegacyVoiceModel

                _loaded[key] = LegacyVoiceModel(Path(name[len(LEGACY_PREFIX) :]).expanduser())
            else:
                real = settings.voice_model_name if name == "default" else name
                _loaded[key] = shipped_voice_model(real, settings)
        return _loaded[key]
