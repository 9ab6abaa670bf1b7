"""Errors a user can act on. Each has a stable ``code`` (used by the CLI exit line and the API's JSON errors),
a human message and, for the API, an HTTP status. Anything else escaping the engine is a bug."""

from __future__ import annotations


class EmoClassifyError(Exception):
    code = "error"
    http_status = 500

    def __init__(self, message: str, *, code: str | None = None, details: dict | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details or {}

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "details": self.details}


class InputError(EmoClassifyError):
    """The file or the options can't be analysed as given (HTTP 4xx)."""

    code = "invalid_input"
    http_status = 422


class MediaError(InputError):
    """The file is not media we can decode. Codes: ``file_not_found``, ``empty_file``, ``not_media``,
    ``corrupt_media``, ``no_video_stream``, ``no_audio_stream``, ``zero_duration``, ``too_large``."""

    code = "not_media"
    http_status = 415


class ModelUnavailableError(EmoClassifyError):
    """A model could not be loaded; the message says which, where it looked, and how to fix it."""

    code = "model_unavailable"
    http_status = 503
