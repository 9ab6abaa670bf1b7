"""A shipped voice model's card, written by the evaluation its architecture calls for."""

from __future__ import annotations

from pathlib import Path

from backend.voice import store

from . import encoder_card, evaluate


def write_card(name: str, reference: bool = True) -> Path:
    """Evaluate model ``name`` and write its ``card.md``, ``metrics.json`` and confusion matrix; its folder."""
    if store.read_meta(name).architecture == "encoder":
        return encoder_card.write_card(name, reference)
    return evaluate.write_mfcc_card(name, reference)
