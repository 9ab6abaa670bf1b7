"""Optional API keys: with keys configured, every ``/api/v1`` route but the OpenAPI document needs a valid
``X-API-Key``. Keys are held as SHA-256 digests and compared in constant time; each job belongs to the key that
submitted it (``g.owner``), and other keys can't see it."""

from __future__ import annotations

import hmac

from flask import current_app, g, request

from .config import hash_key
from .errors import ApiError

ANONYMOUS = "anonymous"
PROTECTED_PREFIX = "/api/v1/"
PUBLIC_PATHS = ("/api/v1/openapi.json",)


def _owner_of(key: str, digests: tuple[str, ...]) -> str | None:
    presented = hash_key(key)
    matched = None
    for digest in digests:  # every digest is compared, so timing tells nothing of which one matched
        if hmac.compare_digest(presented, digest):
            matched = digest
    return matched[:16] if matched else None


def _presented_owner() -> str | None:
    """The owner of the request's X-API-Key, None for no key or a wrong one; worked out once per request."""
    if "key_owner" not in g:
        config = current_app.extensions["emoclassify"].config
        key = request.headers.get("X-API-Key", "")
        g.key_owner = _owner_of(key, config.key_digests) if key and config.auth_enabled else None
    return g.key_owner


def rate_key() -> str:
    """Who a request counts against in the rate limits: the owner of a valid API key, else the client's address
    (anonymous use, or a wrong key, which is then refused with 401 but still counted, so guessing keys is
    limited too). Behind a proxy the address is the proxy's unless the WSGI server passes the client's."""
    owner = _presented_owner()
    return f"key:{owner}" if owner else f"addr:{request.remote_addr or 'unknown'}"


def check_api_key() -> None:
    """before_request hook: set ``g.owner`` or refuse with 401."""
    g.owner = ANONYMOUS
    config = current_app.extensions["emoclassify"].config
    if not config.auth_enabled or request.method == "OPTIONS":
        return
    if not request.path.startswith(PROTECTED_PREFIX) or request.path in PUBLIC_PATHS:
        return
    owner = _presented_owner()
    if owner is None:
        raise ApiError(401, "unauthorized", "a valid X-API-Key header is required")
    g.owner = owner
