"""Jobs on Celery workers (Redis broker): ``EMOCLASSIFY_RUNNER=celery`` + ``EMOCLASSIFY_BROKER_URL=redis://...``.

The API enqueues the job id (:class:`CeleryRunner`); a worker (``celery -A callback.worker worker``) runs the same
:class:`~callback.jobs.executor.JobExecutor` as the embedded runner (:class:`JobWorker`), against the same store and
data folder (a shared volume; see :mod:`callback.jobs.storage`).

Nothing is lost when a worker dies: messages are acknowledged only once the job ended (``acks_late``, and
``reject_on_worker_lost`` for a pool child), so the broker hands the message of a lost worker to another one
after ``visibility_timeout``. While it runs, a job's owner touches ``heartbeat_at``; a worker that receives the
message of a job still ``running`` checks that heartbeat: fresh, it looks again later (the owner is alive); stale,
it takes the job over (its partial output removed, so no artifact is written twice), unless the job already
started ``max_attempts`` times, then it fails with ``too_many_attempts`` (the job may be what kills workers).
Cancellation is the store's ``cancel_requested`` flag, read by the heartbeat thread and turned into the
executor's ``should_stop``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import UTC, datetime

from celery import Celery
from kombu.exceptions import KombuError
from sqlalchemy import update

from ..config import ApiConfig
from ..errors import ApiError
from ..logs import job_context
from .executor import JobExecutor
from .models import CANCELLED, FAILED, FINISHED, QUEUED, RUNNING, SUCCEEDED, Job, utcnow
from .storage import SharedFolder

log = logging.getLogger("callback.jobs.celery")
TASK = "emoclassify.run_job"
QUEUE = "emoclassify"
# Publishing retries at 0, 0.5, 1.5, 3 s (then gives up), so a submission waits at most ~3 s for a lost broker.
PUBLISH_RETRY = {"max_retries": 3, "interval_start": 0, "interval_step": 0.5, "interval_max": 1.5}
BROKER_RETRY_AFTER = 10  # seconds a client told 503 broker_unavailable should wait


def worker_name() -> str:
    """Who owns a job, as ``celery@host:pid``: the API's recovery counts such an owner as alive (it is not a
    process of the API's own host to check), so only the Celery machinery decides what happens to its jobs."""
    return f"celery@{socket.gethostname()}:{os.getpid()}"


def make_celery(config: ApiConfig) -> Celery:
    """The Celery app of both sides: the API only publishes, workers consume ``QUEUE``."""
    restore_every = max(1.0, min(10.0, config.visibility_timeout / 4))
    app = Celery("emoclassify", broker=config.broker_url or "redis://localhost:6379/0")
    app.conf.update(
        task_default_queue=QUEUE,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_ignore_result=True,  # the store holds the outcome; no result backend
        task_serializer="json",
        accept_content=["json"],
        worker_prefetch_multiplier=1,  # one analysis at a time per process: the next waits in Redis, for anyone
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "visibility_timeout": config.visibility_timeout,
            "unacked_restore_interval": restore_every,
            "unacked_restore_throttle": 1,
        },
    )
    return app


class CeleryRunner:
    """The :class:`~callback.jobs.runner.Runner` of the API when jobs run on Celery workers."""

    def __init__(self, config: ApiConfig):
        if not config.broker_url:
            raise ValueError("EMOCLASSIFY_RUNNER=celery needs EMOCLASSIFY_BROKER_URL (redis://host:6379/0)")
        self.app = make_celery(config)

    def submit(self, job_id: str) -> None:
        """Publish the job, riding out a broker blip of a few seconds; past that, 503 ``broker_unavailable``
        (the service then removes the job: it was never queued, the client submits it again)."""
        try:
            self.app.send_task(TASK, args=[job_id], queue=QUEUE, retry=True, retry_policy=PUBLISH_RETRY)
        except (KombuError, OSError) as exc:
            log.error("could not queue a job: broker unreachable (%s)", exc, extra={"job_id": job_id})
            wait = {"Retry-After": str(BROKER_RETRY_AFTER)}
            raise ApiError(503, "broker_unavailable", "the job queue can't be reached; try again shortly",
                           {"retry_after": BROKER_RETRY_AFTER}, wait) from None  # fmt: skip

    def cancel(self, job_id: str) -> None:
        """Nothing to send: the service has set the store's ``cancel_requested``, which the owner reads."""

    def shutdown(self) -> None:
        self.app.close()


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite gives naive datetimes back (stored as UTC)."""
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


class _Heartbeat(threading.Thread):
    """Touches the job's ``heartbeat_at`` while this worker owns it, and reads its cancel flag."""

    def __init__(self, store, job_id: str, owner: str, interval: float):
        super().__init__(name=f"heartbeat-{job_id}", daemon=True)
        self._store, self._job_id, self._owner, self._interval = store, job_id, owner, interval
        self.stop_requested = threading.Event()
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(self._interval):
            try:
                statement = (update(Job).where(Job.id == self._job_id, Job.status == RUNNING, Job.worker == self._owner)
                             .values(heartbeat_at=utcnow()))  # fmt: skip
                with self._store.engine.begin() as connection:
                    connection.execute(statement)
                job = self._store.get(self._job_id)
                if job is None or job.cancel_requested:
                    self.stop_requested.set()
            except Exception:  # a database hiccup: the next beat tries again
                log.exception("heartbeat failed")

    def stop(self) -> None:
        self._done.set()
        self.join(timeout=5)


class JobWorker:
    """What a Celery task does with one job id, given the worker process's service (store, paths, models)."""

    def __init__(self, service, config: ApiConfig, name: str | None = None):
        self.service, self.config = service, config
        self.name = name or worker_name()
        self.executor = JobExecutor(
            service.store,
            service.paths,
            service.settings,
            service._finished,
            worker=self.name,
            timeout=config.job_timeout,
        )
        self.storage = SharedFolder(service.paths)

    def __call__(self, job_id: str) -> bool:
        """Run the job if it is this worker's to run. True: look again later (another live worker runs it)."""
        store = self.service.store
        job = store.get(job_id)
        if job is None or job.status in FINISHED:
            return False  # deleted, cancelled or done: a late or duplicate message
        with job_context(job_id):
            if job.status == RUNNING and not self._take_over(job):
                current = store.get(job_id)
                return current is not None and current.status == RUNNING  # its owner's, alive (or just taken)
            beat = _Heartbeat(store, job_id, self.name, self.config.heartbeat_interval)
            beat.start()
            try:
                self.storage.fetch(job_id, job.input_name)
                self.executor(job_id, beat.stop_requested.is_set)
                if store.get(job_id).status == SUCCEEDED:
                    self.storage.publish(job_id)
            finally:
                beat.stop()
        return False

    def _take_over(self, job: Job) -> bool:
        """A running job whose owner stopped beating: queue it again here, or fail it after too many starts."""
        beat = _aware(job.heartbeat_at or job.started_at)
        if beat is not None and (utcnow() - beat).total_seconds() < self.config.heartbeat_timeout:
            return False  # its owner is alive
        return self.recover_lost(job)

    def recover_lost(self, job: Job) -> bool:
        """``job`` was running in a process that is gone. True: it is queued again (its partial output removed,
        so no artifact is written twice) and the caller runs it; False: it ended (``too_many_attempts`` after
        ``max_attempts`` starts, ``cancelled`` if a cancel was asked) or someone else changed it first."""
        condition = [Job.id == job.id, Job.status == RUNNING, Job.worker == job.worker]
        seen = job.heartbeat_at
        condition.append(Job.heartbeat_at.is_(None) if seen is None else Job.heartbeat_at == seen)
        if job.attempts >= self.config.max_attempts or job.cancel_requested:
            values = {"status": FAILED, "finished_at": utcnow(), "error": {
                "code": "too_many_attempts", "status": 500, "details": {"attempts": job.attempts},
                "message": f"the analysis started {job.attempts} times and its worker was lost each time; "
                           "it may be what stops them (memory?): check the file, or submit it again"}}  # fmt: skip
            if job.cancel_requested:
                values = {"status": CANCELLED, "finished_at": utcnow()}
            if self._swap(condition, values):
                log.warning("gave up a job of lost workers", extra={"attempts": job.attempts})
                self.service.paths.remove(job.id)
                self.service._finished(job.id)
            return False
        if not self._swap(condition, {"status": QUEUED, "stage": None, "progress": 0.0}):
            return False  # someone else changed it first
        self.service.paths.remove_output(job.id)  # what the lost attempt wrote: never mixed with the new run
        log.warning("took over a job of a lost worker", extra={"lost_worker": job.worker, "attempts": job.attempts})
        return True

    def _swap(self, condition: list, values: dict) -> bool:
        with self.service.store.engine.begin() as connection:
            return connection.execute(update(Job).where(*condition).values(**values)).rowcount > 0
