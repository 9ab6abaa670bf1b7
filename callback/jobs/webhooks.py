"""Webhook delivery: the final state of a job POSTed to its ``callback_url``, signed, retried, recorded.

The body is signed with HMAC-SHA256 under the configured secret: ``X-EmoClassify-Signature: sha256=<hex>``, so
a receiver can check it came from this server. Only http(s) URLs are accepted, and (unless
``webhook_allow_private``) every address the host resolves to must be public: a webhook must not become a way to
reach the server's own network (SSRF). The check is made when the job is submitted and again before each attempt.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

import requests

from ..errors import ApiError

log = logging.getLogger("callback.webhooks")
SIGNATURE_HEADER = "X-EmoClassify-Signature"


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _refuse(message: str, **details: object) -> ApiError:
    return ApiError(422, "invalid_callback_url", message, dict(details))


def check_url(url: str, allow_private: bool) -> None:
    """Raise ``invalid_callback_url`` unless ``url`` is http(s) with a host whose every address may be reached."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _refuse("callback_url must be an http or https URL with a host", url=url)
    if allow_private:
        return
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (OSError, ValueError) as exc:
        raise _refuse(f"callback_url host cannot be resolved ({exc})", url=url) from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if not address.is_global:
            raise _refuse("callback_url points to a private, loopback or reserved address", address=str(address))


def deliver(url: str, payload: dict, secret: str, *, attempts: int, backoff: float, timeout: float,
            allow_private: bool, record) -> bool:  # fmt: skip
    """POST ``payload`` until a 2xx answer or ``attempts`` tries, waiting ``backoff``, 2x, 4x... between them.
    ``record(attempt_dict)`` is called after each try. True when delivered."""
    body = json.dumps(payload, sort_keys=True).encode()
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(secret, body),
               "X-EmoClassify-Event": payload["event"], "User-Agent": "EmoClassify-webhook/1"}  # fmt: skip
    for number in range(1, attempts + 1):
        attempt: dict = {"attempt": number, "at": datetime.now(UTC).isoformat()}
        started = time.perf_counter()
        try:
            check_url(url, allow_private)
            response = requests.post(url, data=body, headers=headers, timeout=timeout, allow_redirects=False)
            attempt["status_code"] = response.status_code
            delivered = 200 <= response.status_code < 300
        except (requests.RequestException, ApiError) as exc:
            attempt["error"] = str(exc)
            delivered = False
        attempt["ok"] = delivered
        attempt["seconds"] = round(time.perf_counter() - started, 3)
        record(attempt)
        if delivered:
            return True
        log.warning("webhook attempt %d to %s failed: %s", number, url, attempt.get("error", attempt))
        if number < attempts:
            time.sleep(backoff * 2 ** (number - 1))
    return False
