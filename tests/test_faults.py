"""Faults injected into real processes: a job's process killed mid-job, the API killed mid-upload and mid-job
then restarted on the same data folder, the SQLite file locked by another process, Redis stopped and restarted
under Celery. After each, every job is in a truthful final state (succeeded, failed with a clear code, or run
again and succeeded; never left ``queued``/``running``), no answer is a 5xx with a traceback, and no file is
orphaned: no partial upload, no job folder without a row, no partial artifacts of a failed job.

The API is a real gunicorn (:class:`test_api_e2e.Gunicorn`); faults are real signals to real processes."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest
import requests
from servers import RedisServer
from skimage import data as skdata
from test_api_e2e import Gunicorn
from test_celery_runner import FAST, REDIS, Workers, row, wait_for

from callback.jobs.models import RUNNING
from tests.media_factory import long_video, video_from_image

ANALYSES = "/api/v1/analyses"


class Api(Gunicorn):
    """The API as an operator runs it, with ``settings`` (``EMOCLASSIFY_<NAME>``), and killable like a crash."""

    def __init__(self, data_dir: Path, **settings: object):
        super().__init__(data_dir)
        self.data_dir = data_dir
        self.env |= {f"EMOCLASSIFY_{name.upper()}": str(value) for name, value in settings.items()}

    def processes(self) -> list[psutil.Process]:
        """The gunicorn master and its workers: what serves the API (not the analyses' child processes)."""
        master = psutil.Process(self.process.pid)
        return [master, *master.children()]

    def kill(self) -> None:
        """SIGKILL, as the OOM killer or ``kill -9`` would: no handler, no cleanup runs."""
        for process in self.processes():
            process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def job(self, job_id: str) -> dict:
        response = requests.get(f"{self.url}{ANALYSES}/{job_id}", timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def submit(self, path: Path, **form: str) -> requests.Response:
        with path.open("rb") as handle:
            return requests.post(f"{self.url}{ANALYSES}", files={"file": (path.name, handle)}, data=form, timeout=60)

    def wait_status(self, job_id: str, wanted: str, timeout: float = 120) -> dict:
        return wait_for(lambda: (job := self.job(job_id))["status"] == wanted and job, timeout,
                        f"job {job_id} {wanted}", interval=0.1)  # fmt: skip

    def wait_done(self, job_id: str, timeout: float = 180) -> dict:
        return wait_for(lambda: (job := self.job(job_id))["status"] not in ("queued", "running") and job, timeout,
                        f"job {job_id} ended", interval=0.2)  # fmt: skip


def job_folders(data_dir: Path) -> list[str]:
    return sorted(path.name for path in (data_dir / "jobs").iterdir())


def owner_pid(worker: str) -> int:
    """The pid in a job's ``host:pid`` owner."""
    return int(worker.rpartition(":")[2])


def ended(pid: int) -> bool:
    """Whether a process is gone (a zombie waiting for a reaper counts as gone: it runs nothing)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def running_owner(data_dir: Path, job_id: str, other_than: str | None = None, timeout: float = 120) -> str:
    """The ``host:pid`` of the process running the job, once it runs there (not in ``other_than``)."""

    def owner():
        job = row(data_dir, job_id)
        return job.status == RUNNING and job.worker != other_than and job.worker

    return wait_for(owner, timeout, f"job {job_id} running", interval=0.1)


def partial_uploads(data_dir: Path) -> list[str]:
    return sorted(path.name for path in (data_dir / "incoming").iterdir())


class SlowUpload:
    """A client streaming a large upload over a raw socket, a chunk at a time, that never finishes."""

    BOUNDARY = "faultinjection"

    def __init__(self, url: str, declared: int = 64 * 1024**2):
        host, port = url.removeprefix("http://").split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=30)
        self.sock.sendall(
            f"POST {ANALYSES} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Length: {declared}\r\n"
            f"Content-Type: multipart/form-data; boundary={self.BOUNDARY}\r\n\r\n--{self.BOUNDARY}\r\n"
            'Content-Disposition: form-data; name="file"; filename="big.mp4"\r\n'
            "Content-Type: video/mp4\r\n\r\n".encode()
        )

    def send(self, size: int, chunk: int = 64 * 1024) -> None:
        for _ in range(size // chunk):
            self.sock.sendall(b"\0" * chunk)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return video_from_image(tmp_path_factory.mktemp("media"), skdata.astronaut(), seconds=1.0, fps=5)


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory) -> Path:
    """A job still running when a fault hits it: with the 1 s clip, a warm process can finish before the signal
    lands."""
    return long_video(tmp_path_factory.mktemp("media"))


# -- the API killed mid-upload and mid-job (thread runner), then restarted on the same data folder ------------


@pytest.fixture(scope="module")
def thread_api(tmp_path_factory):
    api = Api(tmp_path_factory.mktemp("thread-api"), runner="thread")
    api.start()
    yield api
    api.stop()


@pytest.fixture(scope="module")
def thread_api_restarted(thread_api, long_clip):
    """One crash of a thread-runner API holding a running job and a half-received upload, then a restart."""
    api = thread_api
    upload = None
    try:
        response = api.submit(long_clip)
        assert response.status_code == 202, response.text
        job_id = response.json()["id"]
        api.wait_status(job_id, "running")
        upload = SlowUpload(api.url)
        upload.send(2 * 1024**2)
        wait_for(lambda: partial_uploads(api.data_dir), 30, "the upload reaching the disk")
        api.kill()
        upload.close()
        api.start()
        yield api, job_id
    finally:
        if upload is not None:
            upload.close()


def test_a_job_running_when_the_api_died_fails_interrupted_without_files(thread_api_restarted):
    api, job_id = thread_api_restarted
    job = api.job(job_id)
    assert (job["status"], (job["error"] or {}).get("code")) == ("failed", "interrupted"), job
    assert job_id not in job_folders(api.data_dir)


def test_an_upload_cut_by_the_api_dying_leaves_no_row_and_no_file(thread_api_restarted):
    api, job_id = thread_api_restarted
    listed = requests.get(f"{api.url}{ANALYSES}", timeout=30).json()["items"]
    assert [item["id"] for item in listed] == [job_id]  # the interrupted job only
    assert partial_uploads(api.data_dir) == []
    assert job_folders(api.data_dir) == []


def test_the_restarted_api_runs_new_jobs(thread_api_restarted, clip):
    api, _ = thread_api_restarted
    assert requests.get(f"{api.url}/readyz", timeout=60).status_code == 200
    response = api.submit(clip)
    assert response.status_code == 202, response.text
    assert api.wait_done(response.json()["id"])["status"] == "succeeded"


# -- the SQLite file locked by another process ---------------------------------------------------------------

LOCK_HELD = 8.0  # seconds: longer than the store's busy timeout (5 s), so that waiting alone can't hide it


@pytest.fixture(scope="module")
def lock_outcome(thread_api, tmp_path_factory):
    """Job A running; another process holds SQLite's write lock for LOCK_HELD s while a client polls A and
    submits B; then the lock is released and B is submitted again."""
    api = thread_api
    clip = video_from_image(tmp_path_factory.mktemp("lock-media"), skdata.astronaut(), seconds=2.0, fps=5)
    first = api.submit(clip)
    assert first.status_code == 202, first.text
    job_a = first.json()["id"]
    wait_for(lambda: api.job(job_a)["stage"] == "faces", 120, "job A analysing faces", interval=0.1)
    holder = sqlite3.connect(api.data_dir / "jobs.sqlite3", timeout=10, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    taken = time.monotonic()
    with ThreadPoolExecutor(1) as pool:
        during_submit = pool.submit(api.submit, clip)
        polls = []
        while time.monotonic() - taken < LOCK_HELD:
            polls.append(requests.get(f"{api.url}{ANALYSES}/{job_a}", timeout=30).status_code)
            time.sleep(0.5)
        holder.rollback()
        holder.close()
        refused = during_submit.result()
    again = api.submit(clip)
    assert again.status_code == 202, again.text
    return {"api": api, "a": job_a, "polls": polls, "refused": refused, "b": again.json()["id"]}


def test_a_submission_while_the_store_is_locked_is_503_with_retry_after(lock_outcome):
    refused = lock_outcome["refused"]
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"]["code"] == "store_busy"
    assert int(refused.headers["Retry-After"]) > 0


def test_status_polls_answer_while_the_store_is_locked(lock_outcome):
    assert set(lock_outcome["polls"]) == {200}


def test_after_the_lock_no_job_is_lost_and_no_file_is_orphaned(lock_outcome):
    api = lock_outcome["api"]
    jobs = [api.wait_done(lock_outcome[name]) for name in ("a", "b")]
    assert [job["status"] for job in jobs] == ["succeeded", "succeeded"], jobs
    listed = {item["id"] for item in requests.get(f"{api.url}{ANALYSES}?limit=100", timeout=30).json()["items"]}
    assert set(job_folders(api.data_dir)) <= listed  # the refused submission left no folder
    assert partial_uploads(api.data_dir) == []


# -- the process runner: a job's child process killed, then the API itself killed ----------------------------


@pytest.fixture(scope="module")
def process_api(tmp_path_factory):
    api = Api(tmp_path_factory.mktemp("process-api"), runner="process", max_attempts=2, heartbeat_interval=0.5)
    api.start()
    yield api
    api.stop()


def test_a_job_whose_process_is_killed_runs_again_then_fails_after_max_attempts(process_api, long_clip):
    api = process_api
    job_id = api.submit(long_clip).json()["id"]
    first = running_owner(api.data_dir, job_id)
    os.kill(owner_pid(first), signal.SIGKILL)
    second = running_owner(api.data_dir, job_id, other_than=first)  # queued again, in a new process
    assert row(api.data_dir, job_id).attempts == 2
    os.kill(owner_pid(second), signal.SIGKILL)

    job = api.wait_done(job_id, timeout=60)
    assert (job["status"], job["error"]["code"]) == ("failed", "too_many_attempts"), job
    assert job["error"]["details"] == {"attempts": 2}
    assert job_id not in job_folders(api.data_dir)


@pytest.fixture(scope="module")
def process_api_restarted(process_api, long_clip):
    """The process-runner API killed while a child runs a job (the child itself is not signalled), restarted."""
    api = process_api
    job_id = api.submit(long_clip).json()["id"]
    child = owner_pid(running_owner(api.data_dir, job_id))
    api.kill()
    api.start()
    return api, job_id, child


def test_the_child_of_a_killed_api_stops_with_it(process_api_restarted):
    _, _, child = process_api_restarted
    assert wait_for(lambda: ended(child), 10, "the orphaned child gone")


def test_a_job_running_in_a_child_when_the_api_died_fails_interrupted(process_api_restarted):
    api, job_id, _ = process_api_restarted
    job = api.job(job_id)
    assert (job["status"], (job["error"] or {}).get("code")) == ("failed", "interrupted"), job
    assert job_id not in job_folders(api.data_dir)


# -- Redis stopped and started again under the Celery runner ------------------------------------------------


@pytest.fixture(scope="module")
def redis_restart_outcome(tmp_path_factory, clip, long_clip):
    """A real Redis (append-only, as deployed), one real Celery worker and the API: job A running when Redis
    stops; job B submitted while it is down; Redis back on the same port; job C submitted after."""
    if REDIS is None:
        pytest.skip("redis-server not installed (Debian: apt-get install -y redis-server)")
    data_dir = tmp_path_factory.mktemp("celery-data")
    broker = RedisServer(tmp_path_factory.mktemp("redis"))
    broker.start()
    workers = Workers(broker.url, data_dir, tmp_path_factory.mktemp("worker-logs"))
    api = Api(data_dir, runner="celery", broker_url=broker.url, **FAST)
    try:
        workers.start("w1")
        api.start()
        workers.wait_ready("w1")
        job_a = api.submit(long_clip).json()["id"]
        running_owner(data_dir, job_a)
        broker.stop()
        started = time.monotonic()
        refused = api.submit(clip)
        refused_after = time.monotonic() - started
        poll = requests.get(f"{api.url}{ANALYSES}/{job_a}", timeout=30)
        broker.start()
        outcome = {"api": api, "workers": workers, "a": job_a, "refused": refused, "refused_after": refused_after,
                   "poll": poll.status_code}  # fmt: skip
        outcome["a_done"] = api.wait_done(job_a)
        accepted = api.submit(clip)
        assert accepted.status_code == 202, accepted.text
        outcome["c_done"] = api.wait_done(accepted.json()["id"])
        yield outcome
    finally:
        api.stop()
        workers.stop()
        broker.stop()


def test_a_submission_while_redis_is_down_is_503_and_leaves_nothing(redis_restart_outcome):
    refused = redis_restart_outcome["refused"]
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"]["code"] == "broker_unavailable"
    assert int(refused.headers["Retry-After"]) > 0
    assert redis_restart_outcome["refused_after"] < 15  # a bounded wait, not a hang
    api = redis_restart_outcome["api"]
    listed = {item["id"] for item in requests.get(f"{api.url}{ANALYSES}?limit=100", timeout=30).json()["items"]}
    assert len(listed) == 2  # A and C: the refused submission is no job
    assert set(job_folders(api.data_dir)) <= listed and partial_uploads(api.data_dir) == []


def test_status_polls_answer_while_redis_is_down(redis_restart_outcome):
    assert redis_restart_outcome["poll"] == 200


def test_a_job_running_while_redis_restarts_ends_truthfully(redis_restart_outcome):
    job = redis_restart_outcome["a_done"]
    assert job["status"] == "succeeded", job


def test_the_worker_reconnects_and_runs_the_next_job(redis_restart_outcome):
    assert redis_restart_outcome["c_done"]["status"] == "succeeded"
