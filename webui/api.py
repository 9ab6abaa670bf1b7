"""The web app's connection to the EmoClassify API: a client from the sidebar's URL and key, submitting with
options the server may not know yet, and API errors turned into sentences a user can act on."""

from __future__ import annotations

from pathlib import Path

from .client import EmoApiError, EmoClient
from .settings import WebSettings, load_web_settings

TIMEOUT = 30.0


def default_url() -> str:
    return load_web_settings().api_url


def default_key() -> str:
    return load_web_settings().api_key


def make_client(url: str, key: str) -> EmoClient:
    return EmoClient(url.strip() or WebSettings().api_url, api_key=key.strip() or None, timeout=TIMEOUT)


def submit(client: EmoClient, path: Path, options: dict) -> tuple[dict, list[str]]:
    """Submit ``path``; options this server does not know (an older server) are dropped and named, so the
    analysis still runs. Returns the queued job and the dropped option names."""
    dropped: list[str] = []
    while True:
        try:
            return client.submit(path, **options), dropped
        except EmoApiError as exc:
            unknown = [name for name in exc.details.get("unknown", []) if name in options]
            if exc.code != "unknown_option" or not unknown:
                raise
            dropped += unknown
            options = {key: value for key, value in options.items() if key not in unknown}


def explain(exc: Exception, url: str = "") -> str:
    """A sentence for the user (no traceback) about what went wrong talking to the API."""
    if not isinstance(exc, EmoApiError):
        return f"Something unexpected went wrong: {exc}"
    where = url or "the configured URL"
    if exc.status == 0:
        return (
            f"The EmoClassify API at {where} cannot be reached. Is it running? Start it with `make run`, "
            "or correct the API URL in the sidebar."
        )
    if exc.status == 401:
        return "The API refused the API key. Enter a valid key in the sidebar (or set EMOCLASSIFY_API_KEY)."
    if exc.status == 413:
        return f"The file is too large for this server. {exc.message}"
    if exc.status in (400, 415, 422):
        return f"The file or the options were refused: {exc.message}"
    if exc.status == 429 and exc.code == "rate_limited":
        wait = exc.details.get("retry_after") if isinstance(exc.details, dict) else None
        return (f"The server is receiving too many requests from this web app: try again in "
                f"{f'{wait} s' if wait else 'a minute'}.")  # fmt: skip
    if exc.status == 429:
        return f"Too many analyses are waiting: {exc.message}"
    if exc.status == 507:
        return f"The server has no room left for this file ({exc.message}). Try a shorter file, or try again later."
    if exc.status == 503:
        return f"The server can't take this right now ({exc.message}). Try again in a minute."
    if exc.status == 404:
        return f"This analysis does not exist (any more): {exc.message}"
    return f"The API answered with an error ({exc.status} {exc.code}): {exc.message}"
