"""Ship trained face networks of one shape as one ensemble model."""

from __future__ import annotations

import json
from pathlib import Path

from backend.faces.cnn_network import EmotionEnsemble
from backend.faces.cnn_store import ModelMeta, load, model_dir, save


def combine(name: str, member_names: list[str], flip_average: bool, root: Path | None = None) -> Path:
    """Ship trained models of one shape as one ensemble model ``name`` (one weights file, one loader)."""
    loaded = [load(member, root) for member in member_names]
    shapes = {(tuple(meta.widths), meta.dropout, meta.input_size, tuple(meta.labels)) for _, meta in loaded}
    if len(shapes) != 1:
        raise ValueError(f"ensemble members must share widths, dropout, input size and labels; got {shapes}")
    first = loaded[0][1]
    meta = ModelMeta(name=name, widths=first.widths, dropout=first.dropout, input_size=first.input_size,
                     labels=first.labels, members=len(loaded), flip_average=flip_average,
                     notes={"members": {member: m.notes for member, (_, m) in zip(member_names, loaded)}})  # fmt: skip
    folder = save(EmotionEnsemble([model for model, _ in loaded]), meta, root)
    histories = {member: json.loads((model_dir(member, root) / "training.json").read_text()) for member in member_names}
    (folder / "training.json").write_text(json.dumps({"members": histories}, indent=2) + "\n")
    return folder
