"""The Celery app of the workers: ``celery -A callback.worker worker --pool=solo --concurrency=1 -Q emoclassify``.

Configured by the same ``EMOCLASSIFY_*`` environment as the API (``BROKER_URL``, ``DATA_DIR`` shared with the API,
``DATABASE_URL``, ``DEVICE``, ...). Each worker process builds one service (store, paths, engine settings) and loads
the models once, before its first job; every job runs :class:`callback.jobs.celery_runner.JobWorker`. One analysis
uses the CPU fully, so run one solo worker per container (scale containers) or ``--concurrency`` = cores / 2.
"""

from __future__ import annotations

import logging
import os

from celery import signals

from .config import load_config
from .jobs.celery_runner import TASK, JobWorker, make_celery
from .jobs.runner import NoRunner
from .logs import configure

log = logging.getLogger("callback.worker")
config = load_config()
app = make_celery(config)
_worker: JobWorker | None = None


def get_worker() -> JobWorker:
    """This process's job worker, built on first use (after a fork, never before)."""
    global _worker
    if _worker is None or _worker.name.rpartition(":")[2] != str(os.getpid()):
        from .service import AnalysisService

        configure(config.log_level)
        _worker = JobWorker(AnalysisService(config, runner=NoRunner()), config)
    return _worker


def warm_up(**_kwargs) -> None:
    """Load the models now, so that the first job does not pay for it (and a broken model shows at start)."""
    from backend.faces.detector import get_detector

    worker = get_worker()
    checks = worker.service.readiness()
    try:
        get_detector(worker.service.settings)
    except Exception as exc:  # reported, not fatal: the jobs will fail with the engine's own message
        checks["face_detector"] = f"error: {exc}"
    log.info("worker ready", extra={"worker": worker.name, **checks})


@signals.worker_ready.connect
def _warm_solo(sender=None, **_kwargs) -> None:
    """A solo (or threads) pool runs jobs in the main process: warm it; a prefork parent runs none."""
    if "prefork" not in type(getattr(sender, "pool", None)).__module__:
        warm_up()


signals.worker_process_init.connect(warm_up)  # prefork children


@app.task(name=TASK, bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def run_job(self, job_id: str) -> None:
    if get_worker()(job_id):  # another live worker runs it: look again once its heartbeat could be stale
        raise self.retry(countdown=config.heartbeat_timeout)
