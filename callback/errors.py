"""Every error the service answers is ``{"error": {"code", "message", "details"}}`` with the right status: the
engine's errors keep their codes and statuses, HTTP errors get a stable code, anything else is a logged 500."""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from backend.errors import EmoClassifyError

log = logging.getLogger("callback")

# Codes of the HTTP errors Flask/werkzeug raise themselves.
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "too_many_jobs",
}


class ApiError(EmoClassifyError):
    """An error of the service itself (not of the engine), with its HTTP status."""

    def __init__(self, status: int, code: str, message: str, details: dict | None = None,
                 headers: dict[str, str] | None = None):  # fmt: skip
        super().__init__(message, code=code, details=details)
        self.http_status = status
        self.headers = headers or {}  # e.g. Retry-After of a 503 or 429


def error_body(code: str, message: str, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def _from_engine(error: EmoClassifyError):
    return jsonify({"error": error.to_dict()}), error.http_status, getattr(error, "headers", {})


def _from_http(error: HTTPException):
    data = getattr(error, "data", None) or {}  # webargs puts validation messages here
    details = {"fields": data["messages"]} if "messages" in data else {}
    status = error.code or 500
    body = jsonify(error_body(HTTP_CODES.get(status, f"http_{status}"), error.description or error.name, details))
    allow = getattr(error, "valid_methods", None)
    return body, status, {"Allow": ", ".join(allow)} if allow else {}


def _unexpected(error: Exception):
    log.exception("unhandled error: %s", error)
    return jsonify(error_body("internal_error", "the server hit an unexpected error; it has been logged")), 500


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(EmoClassifyError, _from_engine)
    app.register_error_handler(HTTPException, _from_http)
    app.register_error_handler(Exception, _unexpected)
