"""The embedded runner for serving: analyses run in child processes of the API, not in its threads.

An analysis holds Python's global interpreter lock for much of its time (MTCNN's Python loops, numpy), so in the
API's own process it delays the request threads: status polls reached a p99 of 120 ms under load. In a child
process the request threads only compete for a core. Each child builds the same service as a Celery worker
(store, paths, models loaded once) and runs jobs through :class:`~callback.jobs.celery_runner.JobWorker`, so
progress, cancellation (the store's flag, read by the heartbeat) and take-over behave as on Celery workers.
No broker: the API hands job ids to its pool. ``spawn`` (not ``fork``): the API process has threads.

Faults: a child killed mid-job (out of memory, an operator's ``kill -9``) breaks the whole pool, so the runner
builds a new one and settles each job the old one held: a job that never started runs in the new pool; one that
was running is queued again (its partial output removed) until it has started ``max_attempts`` times, then it
fails with ``too_many_attempts``, as on Celery. A child whose API process died stops itself at once, so the next
API process finds the job's owner gone and fails the job with ``interrupted`` (see ``AnalysisService.recover``).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from ..config import ApiConfig
from .celery_runner import JobWorker
from .models import QUEUED, RUNNING
from .owners import wait_gone

log = logging.getLogger("callback.jobs.process")
PARENT_CHECK_INTERVAL = 0.2  # seconds between a child's checks that its API process is still there
OWNER_EXIT_WAIT = 10.0  # seconds a broken pool's children get to be gone before their jobs are settled anyway
_worker: JobWorker | None = None


def _child_name() -> str:
    """``host:pid``, the API's own naming, so that a restarted API can tell the owner of a job is gone."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _stop_with_parent(parent: int) -> None:
    """A child outliving its API (killed with SIGKILL) would go on with a job nobody can cancel or see end, and
    race the next API's recovery: it stops itself as soon as its parent changes."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_INTERVAL)
    os.kill(os.getpid(), signal.SIGKILL)


def _start_child(config: ApiConfig, parent: int) -> None:
    """A child is stopped by its API process (the pool's shutdown, or the parent gone), never by a Ctrl-C: one in the
    terminal reaches every process of its group, and would end a child waiting for work with a traceback."""
    global _worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from ..logs import configure
    from ..service import AnalysisService
    from .runner import NoRunner

    threading.Thread(target=_stop_with_parent, args=(parent,), name="parent-watch", daemon=True).start()
    configure(config.log_level)
    _worker = JobWorker(AnalysisService(config, runner=NoRunner()), config, name=_child_name())


def _run(job_id: str) -> None:
    assert _worker is not None, "the pool's initializer builds the worker"
    _worker(job_id)


class ProcessPoolRunner:
    """``EMOCLASSIFY_RUNNER=process`` (what ``make run`` uses): ``workers`` child processes run the jobs."""

    def __init__(self, config: ApiConfig):
        self._config = config
        self._lock = threading.Lock()
        self._pool = self._new_pool()
        self._recovery: JobWorker | None = None  # settles the jobs of a broken pool; built on first need

    def _new_pool(self) -> ProcessPoolExecutor:
        spawn = multiprocessing.get_context("spawn")
        return ProcessPoolExecutor(max(1, self._config.workers), spawn, initializer=_start_child,
                                   initargs=(self._config, os.getpid()))  # fmt: skip

    def submit(self, job_id: str) -> None:
        with self._lock:
            pool = self._pool
        try:
            future = pool.submit(_run, job_id)
        except BrokenProcessPool:
            pool = self._replace(pool)
            future = pool.submit(_run, job_id)
        future.add_done_callback(lambda done: self._ended(job_id, pool, done))

    def _ended(self, job_id: str, pool: ProcessPoolExecutor, future: Future) -> None:
        """Called by the pool's thread when a job's call returns; a broken pool's jobs are settled in another
        thread (this one belongs to the dying pool)."""
        if not future.cancelled() and isinstance(future.exception(), BrokenProcessPool):
            threading.Thread(target=self._settle, args=(job_id, pool), name=f"settle-{job_id}", daemon=True).start()

    def _replace(self, broken: ProcessPoolExecutor) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is broken:
                log.error("a job process died: starting a new pool")
                broken.shutdown(wait=False, cancel_futures=True)
                self._pool = self._new_pool()
            return self._pool

    def _settle(self, job_id: str, broken: ProcessPoolExecutor) -> None:
        try:
            self._replace(broken)
            recovery = self._recovery_worker()
            job = recovery.service.store.get(job_id)
            if job is None:
                return
            never_started = job.status == QUEUED
            lost = job.status == RUNNING and wait_gone(job.worker or "", OWNER_EXIT_WAIT) and recovery.recover_lost(job)
            if never_started or lost:
                self.submit(job_id)
        except Exception:  # this thread is the job's only way out of `running`: say so loudly
            log.exception("could not settle a job of a broken process pool", extra={"job_id": job_id})

    def _recovery_worker(self) -> JobWorker:
        with self._lock:
            if self._recovery is None:
                from ..service import AnalysisService
                from .runner import NoRunner

                self._recovery = JobWorker(AnalysisService(self._config, runner=NoRunner()), self._config)
            return self._recovery

    def cancel(self, job_id: str) -> None:
        """Nothing to send: the service has set the store's ``cancel_requested``, which the child reads."""

    def shutdown(self) -> None:
        with self._lock:
            self._pool.shutdown(wait=False, cancel_futures=True)
