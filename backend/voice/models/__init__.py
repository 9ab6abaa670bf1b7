"""Voice classifiers, chosen by name (``default``, a shipped model's name, ``legacy:PATH``) through
:func:`get_voice_model`: ``encoder`` (the network over Whisper encoder frames), ``mfcc`` (the first shipped models)
and ``legacy`` (the original project's ``.h5``), all behind :class:`VoiceModel`."""

from .base import VoiceModel
from .registry import LEGACY_PREFIX, get_voice_model, shipped_voice_model

__all__ = ["LEGACY_PREFIX", "VoiceModel", "get_voice_model", "shipped_voice_model"]
