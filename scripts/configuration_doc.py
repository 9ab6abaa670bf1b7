"""Write docs/configuration.md, the table of every ``EMOCLASSIFY_*`` environment variable, from the settings'
declarations (``backend.config.Settings``, the ``env`` options of ``backend.options.AnalysisOptions``,
``callback.config.ApiConfig``, ``webui.settings.WebSettings``); a test checks the committed file is up to date.

    .venv/bin/python scripts/configuration_doc.py > docs/configuration.md
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.config import PROJECT_ROOT, Settings, env_name, limits_text  # noqa: E402
from backend.options import AnalysisOptions  # noqa: E402
from callback.config import ApiConfig  # noqa: E402
from webui.settings import WebSettings  # noqa: E402

SECTIONS = (
    (Settings, "Engine", "Models, face detection and limits of the analysis engine (CLI, API jobs, workers)."),
    (
        AnalysisOptions,
        "Analysis defaults",
        "Defaults of an analysis's options where a request (or the CLI) does "
        "not give them; `GET /api/v1/models` and the OpenAPI document show the server's values.",
    ),  # fmt: skip
    (
        ApiConfig,
        "API service",
        "The REST service (`callback`) and its job runners; the `config` dict of "
        "`callback.create_app` sets the same names (lower case, without the prefix). The embedded runners are meant "
        "for one gunicorn worker (`--workers 1 --threads 4`); each job records the `host:pid` that owns it.",
    ),  # fmt: skip
    (WebSettings, "Web app", "The Streamlit front end (`webapp.py`), which talks to the API over HTTP only."),
)
HEADER = """# Configuration

Every setting is an `EMOCLASSIFY_*` environment variable, declared once in the code with its default, its limits
and what it is for; this page is generated from those declarations
(`python scripts/configuration_doc.py > docs/configuration.md`), so edit the declaration, not this page.
The environment is read once, when a process starts. Booleans take `1`/`true`/`yes`/`on` or `0`/`false`/`no`/`off`,
lists are comma-separated; a value that can't be read or is out of its limits stops the process with a message
naming the variable.
"""


def shown(value: object) -> str:
    """A default as the table shows it: paths relative to the project (or home), lists comma-separated."""
    if isinstance(value, Path):
        for base, name in ((PROJECT_ROOT, "<project>"), (PROJECT_ROOT.parent, "<project>/.."), (Path.home(), "~")):
            if value.is_relative_to(base):
                return f"`{name}/{value.relative_to(base)}`"
    if isinstance(value, bool):
        return f"`{int(value)}`"
    if isinstance(value, tuple):
        value = ",".join(str(item) for item in value)
    if isinstance(value, float):
        value = f"{value:g}"
    return f"`{value}`" if value not in ("", None) else "(empty)"


def section(cls: type, title: str, about: str) -> list[str]:
    lines = [f"## {title}", "", about, "", "| Variable | Default | Limits | Meaning |", "|---|---|---|---|"]
    for item in dataclasses.fields(cls):
        variable = env_name(item)
        if variable:
            help_text = item.metadata["help"].replace("|", "\\|")
            lines.append(f"| `{variable}` | {shown(item.default)} | {limits_text(item)} | {help_text} |")
    return [*lines, ""]


def markdown() -> str:
    lines = [HEADER]
    for cls, title, about in SECTIONS:
        lines += section(cls, title, about)
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(markdown())
