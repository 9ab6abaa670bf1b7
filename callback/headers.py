"""Response headers every answer gets: security headers (no sniffing, no framing, a CSP that lets a JSON or media
answer run nothing) and CORS for the configured origins."""

from __future__ import annotations

from flask import Response, current_app, request

JSON_CSP = "default-src 'none'; frame-ancestors 'none'"
# Swagger UI: its own scripts and styles (served from this server, no CDN) and one inline start-up script.
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; frame-ancestors 'none'")  # fmt: skip
CORS_HEADERS = "Content-Type, X-API-Key, Range"
CORS_METHODS = "GET, POST, DELETE, OPTIONS"


def add_headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    html = response.mimetype == "text/html"
    response.headers.setdefault("Content-Security-Policy", DOCS_CSP if html else JSON_CSP)
    _cors(response)
    return response


def _cors(response: Response) -> None:
    origins = current_app.extensions["emoclassify"].config.cors_origins
    origin = request.headers.get("Origin")
    if not origin or not origins or ("*" not in origins and origin not in origins):
        return
    response.headers["Access-Control-Allow-Origin"] = "*" if "*" in origins else origin
    response.headers["Access-Control-Allow-Headers"] = CORS_HEADERS
    response.headers["Access-Control-Allow-Methods"] = CORS_METHODS
    response.headers["Access-Control-Expose-Headers"] = "Location, Content-Range, Content-Length"
    if "*" not in origins:
        response.headers.add("Vary", "Origin")
