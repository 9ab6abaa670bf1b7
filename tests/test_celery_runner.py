"""The Celery runner end to end: a real ``redis-server`` and two real Celery worker processes (solo pool, one
thread each) on 127.0.0.1, sharing a temporary data folder and SQLite store with an API app built in the test.
Jobs submitted through the API run on both workers at once, a cancel reaches a worker, and a worker killed with
SIGKILL mid-job loses nothing: the job is taken over and completes on the other worker, with one set of artifacts.
Timeouts are shortened (heartbeat, visibility) so that the take-over happens within seconds."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from servers import free_port, stop_process
from skimage import data as skdata

from callback import create_app
from callback.config import load_config
from callback.jobs.celery_runner import JobWorker
from callback.jobs.models import QUEUED, RUNNING, Job, utcnow
from callback.service import AnalysisService
from tests.media_factory import long_video, video_from_image

ROOT = Path(__file__).resolve().parents[1]
REDIS = shutil.which("redis-server")
FAST = {"heartbeat_interval": "0.5", "heartbeat_timeout": "6", "visibility_timeout": "4", "max_attempts": "2"}
OPTIONS = {"make_graph": "true", "csv": "1"}


def wait_for(predicate, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{what}: not within {timeout} s")


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    if REDIS is None:
        pytest.skip("redis-server not installed (Debian: apt-get install -y redis-server)")
    import redis

    port = free_port()
    folder = tmp_path_factory.mktemp("redis")
    command = [REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    command += ["--dir", str(folder)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)

    def up():
        try:
            return client.ping()
        except redis.ConnectionError:
            return False

    try:
        wait_for(up, 20, "redis-server answering")
        yield url
    finally:
        stop_process(process, timeout=10)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("shared-data")


class Workers:
    def __init__(self, redis_url: str, data_dir: Path, logs: Path):
        self.env = os.environ | {f"EMOCLASSIFY_{key.upper()}": value for key, value in FAST.items()} | {
            "EMOCLASSIFY_BROKER_URL": redis_url, "EMOCLASSIFY_DATA_DIR": str(data_dir), "EMOCLASSIFY_RUNNER": "celery",
            "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "KERAS_BACKEND": "torch",
        }  # fmt: skip
        self.env.pop("EMOCLASSIFY_DATABASE_URL", None)
        self.logs = logs
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, name: str) -> None:
        log = (self.logs / f"{name}.log").open("wb")
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "callback.worker", "worker", "--pool=solo", "--concurrency=1",
             "-n", f"{name}@%h", "-Q", "emoclassify", "--without-gossip", "--without-mingle", "--without-heartbeat",
             "-l", "INFO"], cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def wait_ready(self, name: str, timeout: float = 120) -> None:
        def ready():
            if self.processes[name].poll() is not None:
                raise AssertionError(f"worker {name} exited:\n{self.log(name)[-3000:]}")
            return "worker ready" in self.log(name)

        wait_for(ready, timeout, f"worker {name} ready", interval=0.3)

    def stop(self) -> None:
        for process in self.processes.values():
            stop_process(process)


@pytest.fixture(scope="module")
def workers(redis_url, data_dir, tmp_path_factory):
    pool = Workers(redis_url, data_dir, tmp_path_factory.mktemp("worker-logs"))
    try:
        for name in ("w1", "w2"):
            pool.start(name)
        for name in ("w1", "w2"):
            pool.wait_ready(name)
        yield pool
    finally:
        pool.stop()


@pytest.fixture(scope="module")
def client(workers, redis_url, data_dir):
    app = create_app({"data_dir": data_dir, "runner": "celery", "broker_url": redis_url, **FAST, "TESTING": True})
    yield app.test_client()
    app.extensions["emoclassify"].stop()


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    folder = tmp_path_factory.mktemp("media")
    return {
        "clip": video_from_image(folder, skdata.astronaut(), seconds=1.0, fps=5, name="clip.mp4"),
        "long": long_video(folder),
    }


def submit(client, path, **form):
    with path.open("rb") as handle:
        response = client.post("/api/v1/analyses", data={"file": (handle, path.name), **form})
    assert response.status_code == 202, response.get_json()
    return response.get_json()["id"]


def job_of(client, job_id) -> dict:
    return client.get(f"/api/v1/analyses/{job_id}").get_json()


def wait_done(client, job_id, timeout=120.0) -> dict:
    return wait_for(lambda: (job := job_of(client, job_id))["status"] not in ("queued", "running") and job, timeout,
                    f"job {job_id} ended", interval=0.2)  # fmt: skip


def row(data_dir: Path, job_id: str) -> Job:
    return AnalysisService(load_config({"data_dir": data_dir}), runner=_Idle()).store.get(job_id)


class _Idle:
    def submit(self, job_id): ...

    def cancel(self, job_id): ...

    def shutdown(self): ...


def artifact_names(client, job_id) -> list[str]:
    return sorted(item["name"] for item in client.get(f"/api/v1/analyses/{job_id}/artifacts").get_json()["items"])


def test_jobs_complete_on_two_workers_in_parallel(client, media, data_dir, workers):
    ids = [submit(client, media["clip"], **OPTIONS) for _ in range(2)]
    jobs = [wait_done(client, job_id) for job_id in ids]
    assert [job["status"] for job in jobs] == ["succeeded", "succeeded"], jobs
    rows = [row(data_dir, job_id) for job_id in ids]
    assert len({r.worker for r in rows}) == 2, [r.worker for r in rows]  # one job on each worker
    assert all(r.worker.startswith("celery@") for r in rows)
    first, second = sorted(rows, key=lambda r: r.started_at)
    assert second.started_at < first.finished_at  # they ran at the same time
    assert [r.attempts for r in rows] == [1, 1]
    names = artifact_names(client, ids[0])
    assert names == artifact_names(client, ids[1]) and "result.json" in names
    assert client.get(f"/api/v1/analyses/{ids[0]}/result").status_code == 200


def test_cancel_reaches_the_worker(client, media):
    job_id = submit(client, media["long"])
    wait_for(lambda: job_of(client, job_id)["status"] == "running", 60, "job running", interval=0.05)
    assert client.delete(f"/api/v1/analyses/{job_id}").status_code in (200, 202)
    assert wait_done(client, job_id, timeout=30)["status"] == "cancelled"


def test_a_job_of_a_killed_worker_completes_on_the_other(client, media, data_dir, workers):
    job_id = submit(client, media["long"], **OPTIONS)
    owner = wait_for(lambda: (r := row(data_dir, job_id)).status == RUNNING and r.worker, 60, "job running",
                     interval=0.05)  # fmt: skip
    pid = int(owner.rpartition(":")[2])
    os.kill(pid, signal.SIGKILL)
    killed = next(name for name, process in workers.processes.items() if process.pid == pid)
    workers.processes[killed].wait(timeout=10)

    job = wait_done(client, job_id, timeout=90)
    assert job["status"] == "succeeded", job
    done = row(data_dir, job_id)
    assert done.attempts == 2 and done.worker != owner
    assert "took over a job of a lost worker" in workers.log(next(n for n in workers.processes if n != killed))
    names = artifact_names(client, job_id)
    assert len(names) == len(set(names)) and "result.json" in names
    job_dir = data_dir / "jobs" / job_id
    assert sorted(p.name for p in job_dir.iterdir()) == ["output"]  # the input is gone, nothing else left
    assert sorted(p.name for p in (job_dir / "output").iterdir() if not p.name.startswith(".")) == names


# -- the take-over rules, without a broker ----------------------------------------------------------------


@pytest.fixture
def local(tmp_path):
    config = load_config({"data_dir": tmp_path, **FAST})
    service = AnalysisService(config, runner=_Idle())
    return service, JobWorker(service, config, name="celery@elsewhere:1")


def add_running(service, attempts: int, beat_age: float) -> str:
    job = Job(id=f"job{attempts}{int(beat_age)}", owner="anonymous", status=RUNNING, filename="a.mp4",
              input_name="in.mp4", options={}, base_url="", worker="celery@gone:42", webhooks=[], attempts=attempts,
              started_at=utcnow(), heartbeat_at=utcnow() - timedelta(seconds=beat_age))  # fmt: skip
    service.store.add(job)
    service.paths.output_dir(job.id).mkdir(parents=True)
    return job.id


def test_a_running_job_with_a_fresh_heartbeat_is_left_to_its_owner(local):
    service, worker = local
    job_id = add_running(service, attempts=1, beat_age=0)
    assert worker(job_id) is True  # look again later
    assert service.store.get(job_id).status == RUNNING and service.paths.output_dir(job_id).is_dir()


def test_a_job_that_lost_too_many_workers_fails(local):
    service, worker = local
    job_id = add_running(service, attempts=2, beat_age=60)
    assert worker(job_id) is False
    job = service.store.get(job_id)
    assert job.status == "failed" and job.error["code"] == "too_many_attempts"
    assert not service.paths.job_dir(job_id).exists()


def test_a_stale_job_is_queued_again_with_its_partial_output_removed(local, monkeypatch):
    service, worker = local
    job_id = add_running(service, attempts=1, beat_age=60)
    seen = []
    monkeypatch.setattr(worker, "executor", lambda jid, should_stop: seen.append(service.store.get(jid).status))
    assert worker(job_id) is False
    assert seen == [QUEUED] and not service.paths.output_dir(job_id).exists()
