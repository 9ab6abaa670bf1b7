"""Ship trained voice networks of one recipe as one ensemble model."""

from __future__ import annotations

import json
from pathlib import Path

from backend.voice.store import ModelMeta, load, model_dir, save


def combine(name: str, member_names: list[str], root: Path | None = None) -> Path:
    """Save one model that averages the probabilities of trained models of the same features and labels (a seed
    ensemble: the same recipe trained from different seeds disagrees on the hard files, and the mean of their
    guesses is steadier on new speakers than any one of them). It is a plain ``model.keras``, loaded and run as
    any other; ``training.json`` keeps each member's own training record."""
    from backend.voice.head import keras

    loaded = [load(member, root) for member in member_names]
    kinds = {
        (json.dumps(meta.features.to_dict()), meta.labels, meta.window_seconds, meta.input_frames, meta.encoder_blocks)
        for _, meta in loaded
    }
    if len(loaded) < 2 or len(kinds) > 1:
        raise ValueError(f"an ensemble needs 2+ models of the same features, labels and input; got {member_names}")
    first = loaded[0][1]
    inputs = keras.Input(loaded[0][0].inputs[0].shape[1:])
    # each member is wrapped under its own name: members of one architecture share their layer names
    outputs = [keras.Model(model.inputs[0], model.outputs[0], name=f"member_{i}")(inputs)
               for i, (model, _) in enumerate(loaded)]  # fmt: skip
    model = keras.Model(inputs, keras.layers.Average(name="mean_probability")(outputs), name="ensemble")
    meta = ModelMeta(name=name, architecture=first.architecture, features=first.features, labels=first.labels,
                     input_frames=first.input_frames, window_seconds=first.window_seconds,
                     notes={"members": {m.name: m.notes for _, m in loaded}},
                     encoder_blocks=first.encoder_blocks)  # fmt: skip
    folder = save(model, meta, root)
    records = {member: json.loads((model_dir(member, root) / "training.json").read_text()) for member in member_names}
    (folder / "training.json").write_text(json.dumps({"members": records}, indent=2) + "\n")
    return folder
