"""Runs one job: the only code that calls ``backend.pipeline.analyse`` for the service.

State changes are atomic transitions in the store (queued -> running -> succeeded | failed | cancelled), so a
cancel racing a start, or two processes racing for one job, can't both win. The analysis stops at its next
progress report once ``should_stop()`` is true. Whatever the end, the uploaded input is removed (the artifacts
are what a job keeps); a failed or cancelled job keeps no files at all. A full disk (ENOSPC) fails the job with
``disk_full``, and removing its files is what gives the space back.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable

from backend.config import Settings
from backend.errors import EmoClassifyError
from backend.options import AnalysisOptions
from backend.pipeline import analyse

from ..logs import job_context
from ..quota import is_disk_full
from .models import CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED, Job, utcnow
from .paths import JobPaths
from .store import JobStore

log = logging.getLogger("callback.jobs")
WORKER = f"{socket.gethostname()}:{os.getpid()}"
PROGRESS_WRITE_INTERVAL = 0.5  # seconds: progress is written at most this often (plus at each new stage)


class JobCancelled(Exception):
    """Raised from the progress callback to stop an analysis that was cancelled."""


class JobTimedOut(Exception):
    """Raised from the progress callback to stop an analysis that ran past the job timeout."""


class _Progress:
    """The analysis's progress callback: throttled writes to the store, and the cancellation check."""

    def __init__(self, store: JobStore, job_id: str, should_stop: Callable[[], bool], timeout: float):
        self._store, self._job_id, self._should_stop = store, job_id, should_stop
        self._deadline = time.monotonic() + timeout
        self._stage: str | None = None
        self._written_at = 0.0

    def __call__(self, stage: str, percent: float) -> None:
        if self._should_stop():
            raise JobCancelled
        if time.monotonic() > self._deadline:
            raise JobTimedOut
        now = time.monotonic()
        if stage != self._stage or now - self._written_at >= PROGRESS_WRITE_INTERVAL:
            self._store.update(self._job_id, stage=stage, progress=float(percent))
            self._stage, self._written_at = stage, now


class JobExecutor:
    def __init__(self, store: JobStore, paths: JobPaths, settings: Settings, on_finished: Callable[[str], None],
                 worker: str = WORKER, timeout: float = float("inf")):  # fmt: skip
        self._store, self._paths, self._settings = store, paths, settings
        self._on_finished, self._worker, self._timeout = on_finished, worker, timeout

    def __call__(self, job_id: str, should_stop: Callable[[], bool]) -> None:
        now = utcnow()
        if not self._store.update(job_id, only_if=[QUEUED], status=RUNNING, stage="starting", started_at=now,
                                  worker=self._worker, attempts=Job.attempts + 1, heartbeat_at=now):  # fmt: skip
            return  # cancelled (or taken) before it started
        with job_context(job_id):
            log.info("analysis started")
            self._finish(job_id, *self._analyse(job_id, should_stop))
            self._on_finished(job_id)

    def _analyse(self, job_id: str, should_stop: Callable[[], bool]) -> tuple[str, dict | None]:
        job = self._store.get(job_id)
        source = self._paths.job_dir(job_id) / job.input_name
        try:
            progress = _Progress(self._store, job_id, should_stop, self._timeout)
            analyse(source, AnalysisOptions(**job.options), progress, output_dir=self._paths.output_dir(job_id),
                    settings=self._settings, input_name=job.filename)  # fmt: skip
        except JobCancelled:
            return CANCELLED, None
        except JobTimedOut:
            message = f"the analysis ran longer than the job timeout ({self._timeout:g} s) and was stopped"
            return FAILED, {"code": "timeout", "message": message, "details": {}, "status": 504}
        except Exception as exc:
            return FAILED, self._error(exc)
        return SUCCEEDED, None

    @staticmethod
    def _error(exc: Exception) -> dict:
        """The job's error: a full disk anywhere in the engine (``disk_full``: the job's files are removed, which
        frees what it took), the engine's own error, or a crash, which is a bug in the engine."""
        if is_disk_full(exc):
            log.error("analysis stopped by a full disk: %s", exc)
            return {"code": "disk_full", "message": "the server's disk filled up while the analysis wrote its "
                    "files; submit it again later", "details": {}, "status": 507}  # fmt: skip
        if isinstance(exc, EmoClassifyError):
            return exc.to_dict() | {"status": exc.http_status}
        log.exception("analysis crashed")  # called while handling exc, so its traceback is logged
        return {"code": "internal_error", "message": f"the analysis crashed: {exc!r}", "details": {}, "status": 500}

    def _finish(self, job_id: str, status: str, error: dict | None) -> None:
        (self._paths.job_dir(job_id) / self._store.get(job_id).input_name).unlink(missing_ok=True)
        if status != SUCCEEDED:
            self._paths.remove(job_id)
        values = {"stage": "done", "progress": 100.0} if status == SUCCEEDED else {}
        self._store.update(job_id, status=status, error=error, finished_at=utcnow(), **values)
        log.info("analysis ended", extra={"status": status, "error_code": (error or {}).get("code")})
