"""The web app's own settings: where the API runs and the key to call it with. Declared as the engine's and the
API's settings are (help and environment variable in each field's metadata; listed in docs/configuration.md), but
read here with the standard library alone, so that the web app needs nothing of the engine."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields

ENV_PREFIX = "EMOCLASSIFY_"


@dataclass(frozen=True)
class WebSettings:
    api_url: str = field(
        default="http://127.0.0.1:8000",
        metadata={"help": "where the web app finds the API (the sidebar can change it)", "env": "API_URL"},
    )
    api_key: str = field(
        default="", metadata={"help": "the API key the web app sends, when the API asks for one", "env": "API_KEY"}
    )


def load_web_settings(environ: Mapping[str, str] | None = None) -> WebSettings:
    environ = os.environ if environ is None else environ
    names = {item.name: ENV_PREFIX + item.metadata["env"] for item in fields(WebSettings)}
    return WebSettings(**{name: environ[variable] for name, variable in names.items() if variable in environ})
