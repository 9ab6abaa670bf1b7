"""What the shipped voice models (``voice_model/models/<name>``) share: reading a folder's ``model.json`` and naming
the model in the result, with a message that says how to write what is missing."""

from __future__ import annotations

from backend.config import Settings, shown_path
from backend.errors import ModelUnavailableError
from backend.model_info import ModelInfo
from backend.voice import store


def shipped_info(name: str, settings: Settings, weights: str) -> tuple[store.ModelMeta, ModelInfo]:
    """A shipped model's ``model.json`` and how the result names it (its folder, the SHA-256 of what runs)."""
    folder = store.model_dir(name, settings.voice_model_dir)
    if not (folder / "model.json").is_file():
        raise ModelUnavailableError(f"voice model '{name}' not found in {shown_path(folder)} (model.json + "
                                    f"{weights}); train one with `python -m voice_model train`",
                                    details={"model": name})  # fmt: skip
    if not (folder / weights).is_file():
        hint = f"python -m voice_model graph {name}" if weights == store.GRAPH else "python -m voice_model train"
        raise ModelUnavailableError(f"voice model '{name}' has no {weights} in {shown_path(folder)}; write it with "
                                    f"`{hint}`", details={"model": name})  # fmt: skip
    meta = store.read_meta(name, settings.voice_model_dir)
    return meta, ModelInfo(role="voice_classifier", name=f"voice/{name}", version=meta.version,
                           source=shown_path(folder), sha256=store.weights_sha256(name, settings.voice_model_dir,
                                                                                  weights))  # fmt: skip
