"""How a result names each model that produced it, in one place every modality imports (faces, voice, transcript,
fusion), so any number in a result can be traced to its weights."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class ModelInfo:
    """What a result records about the model that produced it."""

    role: str
    name: str
    version: str
    source: str
    sha256: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)
