"""What a POST of an analysis carries: one file part ``file``, options as form fields and/or a JSON ``options``
part (form fields win), ``callback_url``, and for the synchronous route ``wait``. Anything else is refused by
name, so a typo is an error instead of a silently ignored option."""

from __future__ import annotations

import json
from dataclasses import dataclass

from flask import Request
from werkzeug.datastructures import FileStorage

from backend.errors import InputError
from backend.options import AnalysisOptions

from .errors import ApiError
from .options import parse_options

FILE_FIELD = "file"
MAX_OPTIONS_PART = 64 * 1024
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


@dataclass(frozen=True)
class Submission:
    file: FileStorage
    options: AnalysisOptions
    callback_url: str | None
    wait: bool


def _json_options(request: Request) -> dict:
    part = request.files.get("options")
    text = part.stream.read(MAX_OPTIONS_PART + 1).decode("utf-8", "replace") if part else request.form.get("options")
    if not text:
        return {}
    try:
        values = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"the options part is not valid JSON ({exc})", code="invalid_option") from None
    if not isinstance(values, dict) or len(text) > MAX_OPTIONS_PART:
        raise InputError("the options part must be a JSON object (at most 64 KiB)", code="invalid_option")
    return values


def _flag(value: str) -> bool:
    word = value.strip().lower()
    if word not in _TRUE + _FALSE:
        raise InputError(f"wait must be true or false, got '{value}'", code="invalid_option")
    return word in _TRUE


def read_submission(request: Request, defaults: AnalysisOptions, allow_wait: bool = False) -> Submission:
    """The submission of ``request``, its options over ``defaults`` (the server's)."""
    if not (request.mimetype or "").startswith("multipart/form-data"):
        raise ApiError(415, "multipart_required", "send the media as multipart/form-data with a 'file' part")
    extra_files = sorted(set(request.files) - {FILE_FIELD, "options"})
    upload = request.files.get(FILE_FIELD)
    if upload is None or extra_files:
        raise ApiError(400, "missing_file", "send the media in one multipart part named 'file'",
                       {"file_parts": sorted(request.files)})  # fmt: skip
    form = request.form.to_dict()
    callback_url = form.pop("callback_url", None) or None
    wait = _flag(form.pop("wait")) if allow_wait and "wait" in form else allow_wait
    form.pop("options", None)
    return Submission(upload, parse_options(_json_options(request) | form, defaults), callback_url, wait)
