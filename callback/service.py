"""The service behind the routes: submitting, reading, cancelling and expiring analysis jobs.

It owns the store, the file layout and a :class:`~callback.jobs.runner.Runner`; routes only translate HTTP to
calls here. One instance per app, kept in ``app.extensions["emoclassify"]``.
"""

from __future__ import annotations

import dataclasses
import logging
import mimetypes
import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from backend import media
from backend.config import Settings, get_settings
from backend.errors import EmoClassifyError
from backend.options import AnalysisOptions, load_default_options

from .config import ApiConfig
from .errors import ApiError
from .jobs import webhooks
from .jobs.executor import WORKER, JobExecutor
from .jobs.models import ACTIVE, CANCELLED, FAILED, FINISHED, QUEUED, RUNNING, SUCCEEDED, Job, utcnow
from .jobs.owners import owner_alive
from .jobs.paths import JobPaths, display_name, safe_suffix
from .jobs.runner import Runner, ThreadPoolRunner
from .jobs.serialize import job_to_dict, job_url
from .jobs.store import JobStore
from .logs import job_context
from .submission import Submission
from .uploads import uploaded_path

log = logging.getLogger("callback.service")
RESULT_FILE = "result.json"
WAIT_POLL = 0.2  # seconds between store reads while waiting for a job
INCOMING_MAX_AGE = 3600.0  # an upload in progress writes all the time; one untouched this long was abandoned


class AnalysisService:
    def __init__(self, config: ApiConfig, settings: Settings | None = None, runner: Runner | None = None):
        self.config = config
        self.settings = settings or get_settings()
        self.default_options = load_default_options()  # what a submission's omitted options mean
        self.paths = JobPaths(config.data_dir)
        self.store = JobStore(config.store_url)
        self.executor = JobExecutor(self.store, self.paths, self.settings, self._finished, timeout=config.job_timeout)
        self.runner = runner or ThreadPoolRunner(self.executor, config.workers)
        self._stop = threading.Event()

    # -- lifecycle -------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Resolve what a dead process left, expire old jobs, then keep expiring them in the background."""
        self.recover()
        self.expire()
        threading.Thread(target=self._janitor, name="emoclassify-janitor", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        self.runner.shutdown()

    def recover(self) -> None:
        """Jobs of a process of this host that is gone: a queued one is queued again here (its upload is on disk,
        nothing had started); a running one is failed with ``interrupted`` (it may be what killed the process,
        so it is not run again blindly). Jobs of live processes and of other hosts are left alone, and so are
        their uploads; those of dead processes of this host are removed."""
        self.paths.clear_incoming_of(lambda owner: not owner_alive(owner))
        for job in self.store.unfinished():
            if job.worker and (job.worker == WORKER or owner_alive(job.worker)):
                continue
            with job_context(job.id):
                if job.status == QUEUED and self.store.update(job.id, only_if=[QUEUED], worker=WORKER):
                    log.info("re-queued a job of a stopped process")
                    self.runner.submit(job.id)
                elif job.status == RUNNING and self.store.update(
                    job.id, only_if=[RUNNING], status=FAILED, finished_at=utcnow(),
                    error={"code": "interrupted", "status": 500, "details": {"worker": job.worker},
                           "message": "the server stopped while this analysis was running; submit it again"},
                ):  # fmt: skip
                    log.warning("failed a job interrupted by a stopped process")
                    self.paths.remove(job.id)
                    self._finished(job.id)

    def expire(self) -> int:
        """Delete jobs that ended more than ``job_ttl`` ago, with their files, and abandoned partial uploads."""
        self.paths.clear_stale_incoming(INCOMING_MAX_AGE)
        old = self.store.finished_before(utcnow() - timedelta(seconds=self.config.job_ttl))
        for job in old:
            self.paths.remove(job.id)
            self.store.delete(job.id)
        if old:
            log.info("expired old jobs", extra={"count": len(old)})
        return len(old)

    def _janitor(self) -> None:
        while not self._stop.wait(self.config.cleanup_interval):
            try:
                self.expire()
            except Exception:  # a database hiccup must not end the janitor for the life of the process
                log.exception("expiring old jobs failed")

    # -- submitting ------------------------------------------------------------------------------------------

    def submit(self, submission: Submission, owner: str, base_url: str) -> Job:
        """Check the upload by its content, move it into the new job's folder and queue the job. Anything
        refused leaves nothing on disk."""
        if submission.callback_url:
            self._check_callback(submission.callback_url)
        if self.store.count_active(owner) >= self.config.jobs_per_key:
            raise ApiError(429, "too_many_jobs", f"at most {self.config.jobs_per_key} queued or running jobs "
                           "per API key; wait for one to end or cancel one")  # fmt: skip
        job_id = uuid.uuid4().hex
        filename = submission.file.filename or "upload"
        stored = f"{job_id}{safe_suffix(filename)}"
        job_dir = self.paths.job_dir(job_id)
        job_dir.mkdir(parents=True)
        try:
            incoming = uploaded_path(submission.file.stream)
            size = incoming.stat().st_size
            submission.file.stream.close()
            os.replace(incoming, job_dir / stored)
            info = self._checked_media(job_dir / stored)
            options = self._capped(submission.options).to_dict()
            job = Job(id=job_id, owner=owner, status=QUEUED, filename=display_name(filename), input_name=stored,
                      size=size, options=options, media=info.to_dict() | {"path": None},
                      callback_url=submission.callback_url, base_url=self.config.public_url or base_url,
                      worker=WORKER, webhooks=[])  # fmt: skip
            self.store.add(job)  # a busy store (503) leaves no folder without a row
        except BaseException:
            self.paths.remove(job_id)
            raise
        try:
            self.runner.submit(job_id)
        except BaseException:  # e.g. the broker is down (503): the job was never queued, so it does not exist
            self.store.delete(job_id)
            self.paths.remove(job_id)
            raise
        with job_context(job_id):
            log.info("job queued", extra={"bytes": size, "kind": info.kind, "duration": info.duration})
        return job

    def _check_callback(self, url: str) -> None:
        if not self.config.webhook_secret:
            raise ApiError(422, "webhooks_disabled", "this server has no webhook secret configured "
                           "(EMOCLASSIFY_WEBHOOK_SECRET), so it sends no webhooks")  # fmt: skip
        webhooks.check_url(url, self.config.webhook_allow_private)

    def _capped(self, options: AnalysisOptions) -> AnalysisOptions:
        """The options with the server's cap on analysed frames (``max_frames``): a client may ask for fewer."""
        cap = self.config.max_frames
        if cap <= 0 or (options.max_frames is not None and options.max_frames <= cap):
            return options
        return dataclasses.replace(options, max_frames=cap)

    def _checked_media(self, path: Path) -> media.MediaInfo:
        info = media.probe(path)
        if info.duration > self.config.max_duration:
            raise ApiError(422, "too_long", f"the media lasts {info.duration:.0f} s; the limit is "
                           f"{self.config.max_duration:.0f} s", {"duration": info.duration})  # fmt: skip
        return info

    # -- reading ---------------------------------------------------------------------------------------------

    def get(self, job_id: str, owner: str) -> Job:
        job = self.store.get(job_id, owner)
        if job is None:
            raise ApiError(404, "job_not_found", f"no analysis with id '{job_id}'")
        return job

    def page(self, owner: str, limit: int, offset: int, status: str | None) -> tuple[list[Job], int]:
        return self.store.page(owner, limit, offset, status)

    def wait(self, job_id: str, owner: str, timeout: float) -> Job:
        """The job once it ended, or as it is after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        job = self.get(job_id, owner)
        while job.status in ACTIVE and time.monotonic() < deadline:
            time.sleep(WAIT_POLL)
            job = self.get(job_id, owner)
        return job

    def _succeeded(self, job: Job) -> Path:
        if job.status != SUCCEEDED:
            raise ApiError(409, "not_ready", f"the analysis is {job.status}; results exist once it succeeded",
                           {"status": job.status})  # fmt: skip
        return self.paths.output_dir(job.id)

    @staticmethod
    @contextmanager
    def files_of(job: Job) -> Iterator[None]:
        """Reading a job's files: a delete, a cancel or an expiry may remove them between the job's lookup and the
        read (a browser still fetching a video while the user deletes the job): that is a 404, not a server error.
        Once a file is open it stays readable to the end, wherever its folder went."""
        try:
            yield
        except (FileNotFoundError, NotADirectoryError):
            message = f"analysis '{job.id}' was deleted or expired while it was read"
            raise ApiError(404, "job_not_found", message) from None

    def result_path(self, job: Job) -> Path:
        return self._succeeded(job) / RESULT_FILE

    def artifacts(self, job: Job) -> list[dict]:
        folder = self._succeeded(job)
        with self.files_of(job):
            items = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
            return [{"name": p.name, "size": p.stat().st_size,
                     "media_type": mimetypes.guess_type(p.name)[0] or "application/octet-stream",
                     "url": f"{job_url(job.id)}/artifacts/{p.name}"} for p in items]  # fmt: skip

    def artifact(self, job: Job, name: str) -> dict:
        """One artifact by name, only among those listed: a name is never joined to a path unchecked."""
        for item in self.artifacts(job):
            if item["name"] == name:
                return item | {"path": self.paths.output_dir(job.id) / name}
        raise ApiError(404, "artifact_not_found", f"this analysis has no artifact '{name}'")

    # -- ending ----------------------------------------------------------------------------------------------

    def cancel_or_delete(self, job_id: str, owner: str) -> Job | None:
        """A queued job is cancelled at once, a running one is asked to stop (it ends ``cancelled`` at its next
        step, files removed); a finished one is deleted with its files (None)."""
        job = self.get(job_id, owner)
        with job_context(job_id):
            if self.store.update(job_id, only_if=[QUEUED], status=CANCELLED, finished_at=utcnow()):
                log.info("queued job cancelled")
                self.paths.remove(job_id)
                self._finished(job_id)
            elif self.store.update(job_id, only_if=[RUNNING], cancel_requested=True):
                log.info("cancel requested")
                self.runner.cancel(job_id)
            elif job.status in FINISHED:
                self.paths.remove(job_id)
                self.store.delete(job_id)
                log.info("job deleted")
                return None
        return self.get(job_id, owner)

    def _finished(self, job_id: str) -> None:
        """Send the webhook of a job that ended, in the background (retries may take a while)."""
        job = self.store.get(job_id)
        if job is None or not job.callback_url:
            return
        payload = {"event": "analysis.finished", "job": job_to_dict(job, job.base_url)}
        threading.Thread(target=self._deliver, args=(job, payload), name=f"webhook-{job_id}", daemon=True).start()

    def _deliver(self, job: Job, payload: dict) -> None:
        with job_context(job.id):
            delivered = webhooks.deliver(
                job.callback_url, payload, self.config.webhook_secret, attempts=self.config.webhook_attempts,
                backoff=self.config.webhook_backoff, timeout=self.config.webhook_timeout,
                allow_private=self.config.webhook_allow_private,
                record=lambda attempt: self.store.append_webhook(job.id, attempt),
            )  # fmt: skip
            log.info("webhook delivered" if delivered else "webhook gave up", extra={"url": job.callback_url})

    # -- health ----------------------------------------------------------------------------------------------

    def readiness(self) -> dict:
        """Store reachable and the default face model loadable (loading it once, so the first job is fast)."""
        from backend.faces.classifiers import get_classifier

        checks: dict[str, str] = {}
        try:
            self.store.ping()
            checks["store"] = "ok"
        except Exception as exc:  # any driver error means "not ready", with its text
            checks["store"] = f"error: {exc}"
        try:
            get_classifier(self.default_options.face_model, self.settings)
            checks["face_model"] = "ok"
        except EmoClassifyError as exc:
            checks["face_model"] = f"error: {exc.message}"
        return checks
