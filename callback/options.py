"""Analysis options from a request, built generically from the declarations of ``backend.options.AnalysisOptions``
(type, limits, help) and the server's defaults, so that an option added to the engine is accepted (and documented
in the OpenAPI schema, with its type and limits) without a change here.

Form fields arrive as strings: booleans take true/false/1/0/yes/no, numbers their usual spelling, and an optional
field takes ``""``/``null``/``none`` for None. Unknown names are refused (``unknown_option``), bad values too
(``invalid_option``); the dataclass then checks the combination. Model options that would make the server read
a path the client chose are the CLI's only: a ``legacy:PATH`` voice model, a voice model name that is not a plain
folder name of the shipped models, and a Whisper model that names a server folder.
"""

from __future__ import annotations

import re
from dataclasses import fields
from functools import cache
from pathlib import Path

import marshmallow as ma

from backend.config import NONE_WORDS, base_type, field_type
from backend.errors import InputError
from backend.options import AnalysisOptions, with_choices
from backend.transcribe import WHISPER_PREFIX
from backend.voice.models import LEGACY_PREFIX

_FIELDS = {bool: ma.fields.Boolean, int: ma.fields.Integer, float: ma.fields.Float, str: ma.fields.String}


class _OptionsSchema(ma.Schema):
    @ma.pre_load
    def _none_words(self, data: dict, **kwargs) -> dict:
        """The words for None load as None where an option may be None: a form can't send a JSON null."""
        return {key: None if key in self.fields and self.fields[key].allow_none and isinstance(value, str)
                and value.strip().lower() in NONE_WORDS else value for key, value in data.items()}  # fmt: skip


class _NumberOrWord(ma.fields.Field):
    """A number within its limits, or one of a few words (``speakers``: 1 to 10, or ``auto``); the OpenAPI document
    gives both as the ``anyOf`` of the field's metadata."""

    def __init__(self, number: ma.fields.Field, words: tuple[str, ...], **kwargs):
        super().__init__(**kwargs)
        self.number, self.words = number, words

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and value.strip().lower() in self.words:
            return value.strip().lower()
        return self.number.deserialize(value, attr, data, **kwargs)


def _option_field(item, defaults: AnalysisOptions) -> ma.fields.Field:
    """The field of one option: its type, limits (validators, so the OpenAPI document shows them) and default."""
    kind, nullable = base_type(field_type(AnalysisOptions, item))
    meta = item.metadata
    validators: list = [ma.validate.OneOf(meta["choices"])] if meta["choices"] else []
    if meta["minimum"] is not None or meta["maximum"] is not None:
        validators.append(ma.validate.Range(min=meta["minimum"], max=meta["maximum"],
                                            min_inclusive=not meta["exclusive_minimum"]))  # fmt: skip
    metadata = {"description": meta["help"], "default": getattr(defaults, item.name)}
    if meta["exclusive_minimum"]:
        metadata["exclusiveMinimum"] = True  # OpenAPI 3.0 spells the open bound so; apispec omits it
    field = _FIELDS.get(kind, ma.fields.String)
    if meta["words"]:
        number = {"type": "integer" if kind is int else "number", "minimum": meta["minimum"],
                  "maximum": meta["maximum"]}  # fmt: skip
        metadata["anyOf"] = [number, {"type": "string", "enum": list(meta["words"])}]
        return _NumberOrWord(field(validate=validators), meta["words"], allow_none=nullable, metadata=metadata)
    return field(allow_none=nullable, validate=validators, metadata=metadata)


@cache
def options_schema(defaults: AnalysisOptions) -> type[ma.Schema]:
    """A marshmallow schema of every analysis option, with ``defaults`` (the server's) for the OpenAPI document."""
    declared = {item.name: _option_field(item, defaults) for item in fields(AnalysisOptions)}
    return _OptionsSchema.from_dict(declared, name="AnalysisOptionsSchema")


# A shipped voice model is a folder of voice_model/models: its name has no separator and no leading dot.
_MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def _names_a_path(model: str) -> bool:
    """A hub id (``Systran/faster-whisper-small``) is fine; a server path (absolute, relative, home) is not, nor a hub
    id that is also a folder under the server's working directory (faster-whisper would load that folder)."""
    return model.startswith(("/", ".", "~")) or ".." in model or Path(model).exists()


def _path_option(options: AnalysisOptions) -> str | None:
    """The name of an option that names a file or folder of the server, if any."""
    voice = options.voice_model
    if voice.startswith(LEGACY_PREFIX) or not _MODEL_NAME.fullmatch(voice) or ".." in voice:
        return "voice_model"
    if options.asr_model.startswith(WHISPER_PREFIX) and _names_a_path(options.asr_model.removeprefix(WHISPER_PREFIX)):
        return "asr_model"
    return None


def parse_options(values: dict, defaults: AnalysisOptions) -> AnalysisOptions:
    """``AnalysisOptions`` from request values (strings from a form, or JSON values) over ``defaults``."""
    schema = options_schema(defaults)()
    unknown = sorted(set(values) - set(schema.fields))
    if unknown:
        raise InputError(f"unknown option(s): {', '.join(unknown)}", code="unknown_option",
                         details={"unknown": unknown, "known": sorted(schema.fields)})  # fmt: skip
    try:
        loaded = schema.load(values)
    except ma.ValidationError as exc:
        raise InputError(f"invalid option value(s): {', '.join(sorted(exc.messages))}", code="invalid_option",
                         details={"fields": exc.messages}) from None  # fmt: skip
    options = with_choices(defaults, loaded)
    name = _path_option(options)
    if name is not None:
        raise InputError(f"{name} names a file or folder of the server: use it from the CLI, not the API",
                         code="invalid_option", details={"fields": {name: ["not allowed"]}})  # fmt: skip
    return options
