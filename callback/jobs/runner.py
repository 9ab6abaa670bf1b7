"""Runners execute jobs. Routes and the service know only :class:`Runner` (``submit``/``cancel``/``shutdown``),
so a Celery runner (workers in other processes, reading the same store) can replace the embedded thread pool
without a change elsewhere: it would enqueue the job id in ``submit`` and set the store's ``cancel_requested``
flag, which its executor's ``should_stop`` would read, in ``cancel``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

Execute = Callable[[str, Callable[[], bool]], None]  # (job id, should_stop) -> None


class Runner(Protocol):
    def submit(self, job_id: str) -> None: ...

    def cancel(self, job_id: str) -> None: ...

    def shutdown(self) -> None: ...


class ThreadPoolRunner:
    """The embedded default: jobs run in this process, ``workers`` at a time, in submission order. Cancellation
    sets a flag that the analysis's progress callback reads, so a running analysis stops at its next step."""

    def __init__(self, execute: Execute, workers: int):
        self._execute = execute
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="emoclassify-job")
        self._flags: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def submit(self, job_id: str) -> None:
        flag = threading.Event()
        with self._lock:
            self._flags[job_id] = flag
        self._pool.submit(self._run, job_id, flag)

    def _run(self, job_id: str, flag: threading.Event) -> None:
        try:
            self._execute(job_id, flag.is_set)
        finally:
            with self._lock:
                self._flags.pop(job_id, None)

    def cancel(self, job_id: str) -> None:
        with self._lock:
            flag = self._flags.get(job_id)
        if flag is not None:
            flag.set()

    def shutdown(self) -> None:
        for flag in list(self._flags.values()):
            flag.set()
        self._pool.shutdown(wait=False, cancel_futures=True)


class NoRunner:
    """The runner of a service inside a worker process: it never queues work itself (its parent or the broker
    hands it jobs), and cancellation reaches it through the store's ``cancel_requested`` flag."""

    def submit(self, job_id: str) -> None: ...

    def cancel(self, job_id: str) -> None: ...

    def shutdown(self) -> None: ...
