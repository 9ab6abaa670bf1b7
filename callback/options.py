"""Analysis options from a request, built generically from the fields of ``backend.options.AnalysisOptions`` so
that an option added to the engine is accepted (and documented in the OpenAPI schema) without a change here.

Form fields arrive as strings: booleans take true/false/1/0/yes/no, numbers their usual spelling, and an optional
field takes ``""``/``null``/``none`` for None. Unknown names are refused (``unknown_option``), bad values too
(``invalid_option``); the dataclass then checks the combination. Model options that would make the server read
a path the client chose are the CLI's only: a ``legacy:PATH`` voice model, a voice model name that is not a plain
folder name of the shipped models, and a Whisper model that names a server folder.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from functools import cache
from pathlib import Path

import marshmallow as ma

from backend.errors import InputError
from backend.options import AnalysisOptions
from backend.transcribe import WHISPER_PREFIX
from backend.voice import LEGACY_PREFIX

_FIELDS = {bool: ma.fields.Boolean, int: ma.fields.Integer, float: ma.fields.Float, str: ma.fields.String}
_NONE_WORDS = ("", "null", "none")


def _base_type(hint: object) -> tuple[type, bool]:
    """(the type, whether None is allowed) of ``X`` or ``X | None``."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return args[0], True
    return hint, False  # type: ignore[return-value]


class _Nullable(ma.fields.Field):
    """Wraps a field so that the words for None load as None (a form can't send a JSON null)."""

    def __init__(self, inner: ma.fields.Field, **kwargs):
        super().__init__(allow_none=True, **kwargs)
        self.inner = inner

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and value.strip().lower() in _NONE_WORDS:
            return None
        return self.inner.deserialize(value, attr, data, **kwargs)


@cache
def options_schema() -> type[ma.Schema]:
    """A marshmallow schema of every analysis option, with its default (for parsing and for the OpenAPI doc)."""
    hints = typing.get_type_hints(AnalysisOptions)
    declared: dict[str, ma.fields.Field] = {}
    for item in dataclasses.fields(AnalysisOptions):
        kind, nullable = _base_type(hints[item.name])
        field_class = _FIELDS.get(kind, ma.fields.String)
        metadata = {"description": f"default: {item.default!r}"} if item.default is not dataclasses.MISSING else {}
        inner = field_class(metadata=metadata)
        declared[item.name] = _Nullable(inner, metadata=metadata) if nullable else inner
    return ma.Schema.from_dict(declared, name="AnalysisOptionsSchema")


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


def parse_options(values: dict) -> AnalysisOptions:
    """``AnalysisOptions`` from request values (strings from a form, or JSON values)."""
    schema = options_schema()()
    unknown = sorted(set(values) - set(schema.fields))
    if unknown:
        raise InputError(f"unknown option(s): {', '.join(unknown)}", code="unknown_option",
                         details={"unknown": unknown, "known": sorted(schema.fields)})  # fmt: skip
    try:
        loaded = schema.load(values)
    except ma.ValidationError as exc:
        raise InputError(f"invalid option value(s): {', '.join(sorted(exc.messages))}", code="invalid_option",
                         details={"fields": exc.messages}) from None  # fmt: skip
    options = AnalysisOptions(**loaded)
    name = _path_option(options)
    if name is not None:
        raise InputError(f"{name} names a file or folder of the server: use it from the CLI, not the API",
                         code="invalid_option", details={"fields": {name: ["not allowed"]}})  # fmt: skip
    return options
