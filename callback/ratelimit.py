"""Request rates per API key (per client address without one), with Flask-Limiter: ``rate_limit_submit`` for the
POSTs of the analysis routes (both submission routes count together), ``rate_limit_read`` for their other
requests (status polls, lists, downloads, deletes). A request over a limit gets 429 ``rate_limited`` with
``Retry-After``. Health probes and the OpenAPI document are not limited.

Counts live in ``rate_limit_storage``, else in the Redis of ``broker_url`` (so that every API process of a
deployment shares them), else in this process's memory. A rate-limit store that does not answer must not take
the API down with it: the counts go on in memory until it is back (Flask-Limiter's in-memory fallback), and any
other error of the limiter is logged and the request let through.
"""

from __future__ import annotations

import math
import time

from flask import Blueprint, Flask, current_app, jsonify
from flask_limiter import Limiter, RateLimitExceeded

from .access import rate_key
from .config import ApiConfig
from .errors import error_body

EXTENSION = "emoclassify_limiter"


def storage_uri(config: ApiConfig) -> str:
    if config.rate_limit_storage:
        return config.rate_limit_storage
    if config.broker_url.startswith(("redis://", "rediss://")):
        return config.broker_url
    return "memory://"


def install(app: Flask, blueprint: Blueprint) -> None:
    """Limit the requests to ``blueprint``'s routes in ``app`` as the app's ApiConfig says (nothing if both
    limits are empty). Called once per app, when the blueprint is registered."""
    config: ApiConfig = app.extensions["emoclassify"].config
    if not (config.rate_limit_submit or config.rate_limit_read):
        return
    limiter = Limiter(rate_key, app=app, storage_uri=storage_uri(config), strategy="moving-window",
                      key_prefix="emoclassify", swallow_errors=True, in_memory_fallback_enabled=True)  # fmt: skip
    if config.rate_limit_submit:
        limiter.shared_limit(config.rate_limit_submit, scope="submit", methods=["POST"])(blueprint)
    if config.rate_limit_read:
        limiter.shared_limit(config.rate_limit_read, scope="read", methods=["GET", "HEAD", "DELETE"])(blueprint)
    app.extensions[EXTENSION] = limiter
    app.register_error_handler(RateLimitExceeded, _too_many_requests)


def _too_many_requests(error: RateLimitExceeded):
    """429 in the service's error format, with the seconds until the window lets the next request in."""
    current = current_app.extensions[EXTENSION].current_limit
    wait = max(1, math.ceil(current.window.reset_time - time.time())) if current else 1
    limit = str(error.limit.limit)
    body = error_body("rate_limited", f"too many requests: the limit is {limit}; retry in {wait} s",
                      {"limit": limit, "retry_after": wait})  # fmt: skip
    return jsonify(body), 429, {"Retry-After": str(wait)}
