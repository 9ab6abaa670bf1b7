"""Structured logs: one JSON object a line, carrying the job id of the request or analysis that wrote it, so a
job's story can be pulled out of the server log with a grep or a log pipeline."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime

from flask import Response, g, request

current_job: contextvars.ContextVar[str | None] = contextvars.ContextVar("current_job", default=None)
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if current_job.get():
            entry["job_id"] = current_job.get()
        entry |= {key: value for key, value in vars(record).items() if key not in _STANDARD}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (pytest and gunicorn swap it), not the one at set-up."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


@contextmanager
def job_context(job_id: str) -> Iterator[None]:
    token = current_job.set(job_id)
    try:
        yield
    finally:
        current_job.reset(token)


def configure(level: str) -> None:
    """JSON lines on stderr for the ``callback`` loggers; idempotent, as tests build many apps."""
    logger = logging.getLogger("callback")
    logger.setLevel(level.upper())
    if not any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        logger.propagate = False


def start_request() -> None:
    g.started = time.perf_counter()


def log_request(response: Response) -> Response:
    """One access-log line per request, with the job id when the URL names a job."""
    job_id = (request.view_args or {}).get("job_id")
    milliseconds = round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 1)
    with job_context(job_id) if job_id else nullcontext():
        logging.getLogger("callback.http").info(
            "request", extra={"method": request.method, "path": request.path, "status": response.status_code,
                              "ms": milliseconds})  # fmt: skip
    return response
