"""The embedded runner for serving: analyses run in child processes of the API, not in its threads.

An analysis holds Python's global interpreter lock for much of its time (MTCNN's Python loops, numpy), so in the
API's own process it delays the request threads: status polls reached a p99 of 120 ms under load. In a child
process the request threads only compete for a core. Each child builds the same service as a Celery worker
(store, paths, models loaded once) and runs jobs through :class:`~callback.jobs.celery_runner.JobWorker`, so
progress, cancellation (the store's flag, read by the heartbeat) and take-over behave as on Celery workers.
No broker: the API hands job ids to its pool. ``spawn`` (not ``fork``): the API process has threads.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

from ..config import ApiConfig
from .celery_runner import JobWorker

_worker: JobWorker | None = None


def _start_child(config: ApiConfig) -> None:
    global _worker
    from ..logs import configure
    from ..service import AnalysisService
    from .runner import NoRunner

    configure(config.log_level)
    _worker = JobWorker(AnalysisService(config, runner=NoRunner()), config)


def _run(job_id: str) -> None:
    assert _worker is not None, "the pool's initializer builds the worker"
    _worker(job_id)


class ProcessPoolRunner:
    """``EMOCLASSIFY_RUNNER=process`` (what ``make run`` uses): ``workers`` child processes run the jobs."""

    def __init__(self, config: ApiConfig):
        spawn = multiprocessing.get_context("spawn")
        self._pool = ProcessPoolExecutor(max(1, config.workers), spawn, initializer=_start_child, initargs=(config,))

    def submit(self, job_id: str) -> None:
        self._pool.submit(_run, job_id)

    def cancel(self, job_id: str) -> None:
        """Nothing to send: the service has set the store's ``cancel_requested``, which the child reads."""

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
