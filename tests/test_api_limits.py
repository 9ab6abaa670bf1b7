"""Limits against resource abuse, against real apps: the disk quota and the free-space floor of the data dir (507,
503), a disk that really fills up while an upload streams or a job writes (ENOSPC on a size-limited tmpfs), and the
per-key request rates (429), in memory and shared through a real ``redis-server``.

The full-disk tests mount a small tmpfs, a genuinely size-limited file system, and skip with the reason where this
container may not mount one. Every refusal must leave nothing on disk and no job behind."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import time

import pytest
from servers import free_port, stop_process
from skimage import data as skdata
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from callback import create_app
from callback.config import ApiConfig
from callback.jobs.runner import NoRunner
from tests.media_factory import video_from_image

KEY_A, KEY_B = "key-a", "key-b"
NO_LIMITS = {"min_free_bytes": 0, "rate_limit_submit": "", "rate_limit_read": ""}
REDIS = shutil.which("redis-server")


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """One second of a face, 5 frames: a real, quick analysis."""
    return video_from_image(tmp_path_factory.mktemp("media"), skdata.astronaut(), seconds=1.0, fps=5)


def make_app(data_dir, tmp_path, runner=None, **config):
    """An app whose job store lives outside ``data_dir``, so that a full data dir fills no database."""
    settings = {"data_dir": data_dir, "database_url": f"sqlite:///{tmp_path / 'jobs.sqlite3'}", "TESTING": True}
    return create_app(settings | NO_LIMITS | config, runner=runner)


def leftover_files(data_dir):
    return sorted(str(p.relative_to(data_dir)) for p in data_dir.rglob("*") if p.is_file())


def job_count(client) -> int:
    return client.get("/api/v1/analyses").get_json()["total"]


def post_bytes(client, size: int, path: str = "/api/v1/analyses", **kwargs):
    return client.post(path, data={"file": (io.BytesIO(os.urandom(size)), "clip.mp4")}, **kwargs)


def submit(client, clip, **form):
    with clip.open("rb") as handle:
        return client.post("/api/v1/analyses", data={"file": (handle, clip.name), **form})


def wait_ended(client, job_id, timeout=120.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/analyses/{job_id}").get_json()
        if job["status"] not in ("queued", "running"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not end in {timeout} s")


def error_of(response) -> tuple[int, str]:
    return response.status_code, response.get_json()["error"]["code"]


class CountingBody(io.BytesIO):
    """A request body that counts what the server read of it, and can do something once it passed a point."""

    def __init__(self, data: bytes, at: int = -1, then=None):
        super().__init__(data)
        self.read_bytes, self._at, self._then = 0, at, then

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.read_bytes += len(chunk)
        if self._then and self.read_bytes > self._at:
            self._then, then = None, self._then
            then()
        return chunk

    read1 = read

    def readinto(self, buffer) -> int:  # what werkzeug's LimitedStream calls
        chunk = self.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def multipart(size: int) -> tuple[str, bytes]:
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(os.urandom(size)), "clip.mp4")})
    return f"multipart/form-data; boundary={boundary}", body


@pytest.fixture
def small_disk(tmp_path):
    """A real 4 MiB file system (tmpfs) mounted for the test, unmounted after it."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a size-limited tmpfs here ({done.stderr.decode().strip()}); needs root "
                    "with CAP_SYS_ADMIN")  # fmt: skip
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk, leave: int = 0) -> None:
    """Take the disk's free space but ``leave`` bytes, as another program writing there would."""
    free = shutil.disk_usage(disk).free
    with (disk / f"filler-{time.monotonic_ns()}").open("wb") as handle:
        os.posix_fallocate(handle.fileno(), 0, max(free - leave, 1))


# -- disk quota and free space ------------------------------------------------------------------------------------


def test_an_upload_larger_than_the_quota_left_is_507_before_it_is_read(tmp_path):
    data_dir = tmp_path / "api"
    client = make_app(data_dir, tmp_path, disk_quota_bytes=100_000).test_client()
    content_type, body = multipart(300_000)
    stream = CountingBody(body)
    response = client.post("/api/v1/analyses", input_stream=stream, content_type=content_type,
                           content_length=len(body))  # fmt: skip
    assert error_of(response) == (507, "quota_exceeded") and stream.read_bytes == 0
    assert leftover_files(data_dir) == [] and job_count(client) == 0


def test_an_upload_without_a_length_is_stopped_once_it_passes_the_quota(tmp_path):
    data_dir = tmp_path / "api"
    client = make_app(data_dir, tmp_path, disk_quota_bytes=200_000).test_client()
    content_type, body = multipart(8_000_000)
    stream = CountingBody(body)  # sent chunked: the server learns the size only by reading
    response = client.post("/api/v1/analyses", input_stream=stream, content_type=content_type,
                           environ_overrides={"wsgi.input_terminated": True})  # fmt: skip
    assert error_of(response) == (507, "quota_exceeded")
    assert stream.read_bytes < 1_000_000, "the server went on reading past the quota"
    assert leftover_files(data_dir) == [] and job_count(client) == 0


def test_what_job_folders_hold_counts_against_the_quota(tmp_path, clip):
    data_dir = tmp_path / "api"
    quota = int(clip.stat().st_size * 1.5) + 4096  # room for one upload of the clip, not two
    client = make_app(data_dir, tmp_path, runner=NoRunner(), disk_quota_bytes=quota).test_client()
    assert submit(client, clip).status_code == 202
    assert error_of(submit(client, clip)) == (507, "quota_exceeded")
    assert job_count(client) == 1


def test_below_the_free_space_floor_uploads_get_503_with_retry_after(tmp_path, clip):
    data_dir = tmp_path / "api"
    floor = shutil.disk_usage(tmp_path).total + 1  # more than this file system can ever have free
    client = make_app(data_dir, tmp_path, min_free_bytes=floor).test_client()
    response = submit(client, clip)
    assert error_of(response) == (503, "low_disk_space") and int(response.headers["Retry-After"]) > 0
    assert leftover_files(data_dir) == [] and job_count(client) == 0


def test_an_upload_that_would_take_the_disk_below_its_floor_is_507(small_disk, tmp_path):
    data_dir = small_disk / "api"
    client = make_app(data_dir, tmp_path, min_free_bytes=3 * 1024**2).test_client()
    response = post_bytes(client, 1_500_000)  # fits the 4 MiB disk, but not above its 3 MiB floor
    assert error_of(response) == (507, "disk_full")
    assert leftover_files(data_dir) == [] and job_count(client) == 0


def test_a_disk_filling_up_while_an_upload_streams_is_507_and_leaves_nothing(small_disk, tmp_path, clip):
    data_dir = small_disk / "api"
    client = make_app(data_dir, tmp_path, runner=NoRunner()).test_client()
    content_type, body = multipart(2_000_000)  # fits when it starts; another writer takes the disk meanwhile
    stream = CountingBody(body, at=200_000, then=lambda: fill(small_disk))
    response = client.post("/api/v1/analyses", input_stream=stream, content_type=content_type,
                           content_length=len(body))  # fmt: skip
    assert error_of(response) == (507, "disk_full")
    assert leftover_files(data_dir) == [] and job_count(client) == 0


def test_the_api_takes_uploads_again_once_a_full_disk_has_room(small_disk, tmp_path, clip):
    data_dir = small_disk / "api"
    client = make_app(data_dir, tmp_path, runner=NoRunner()).test_client()
    fill(small_disk)
    assert error_of(submit(client, clip))[0] == 507
    for filler in small_disk.glob("filler-*"):
        filler.unlink()
    assert submit(client, clip).status_code == 202


def test_a_job_that_fills_the_disk_fails_with_disk_full_and_its_files_go(small_disk, tmp_path, clip):
    data_dir = small_disk / "api"
    app = make_app(data_dir, tmp_path)
    client = app.test_client()
    fill(small_disk, leave=clip.stat().st_size + 16 * 1024)  # the upload fits; its graph and video do not
    job_id = submit(client, clip, make_graph="true", csv="1", annotate_video="true").get_json()["id"]
    job = wait_ended(client, job_id)
    app.extensions["emoclassify"].stop()
    assert (job["status"], job["error"]["code"]) == ("failed", "disk_full")
    assert not (data_dir / "jobs" / job_id).exists()


# -- request rates ------------------------------------------------------------------------------------------------


def test_a_job_analyses_at_most_the_servers_max_frames_and_says_so(tmp_path, clip):
    client = make_app(tmp_path / "api", tmp_path, max_frames=2).test_client()
    job = wait_ended(client, submit(client, clip, max_frames="4").get_json()["id"])  # asks for more than allowed
    assert (job["status"], job["options"]["max_frames"]) == ("succeeded", 2)
    result = client.get(f"/api/v1/analyses/{job['id']}/result").get_json()
    assert result["frames_analysed"] == 2
    assert any("max_frames" in warning for warning in result["warnings"])


def test_a_client_may_ask_for_fewer_frames_than_the_cap(tmp_path, clip):
    client = make_app(tmp_path / "api", tmp_path, runner=NoRunner(), max_frames=2).test_client()
    assert submit(client, clip, max_frames="1").get_json()["options"]["max_frames"] == 1


def test_submissions_over_the_rate_limit_get_429_with_retry_after(tmp_path):
    client = make_app(tmp_path / "api", tmp_path, rate_limit_submit="2/minute").test_client()
    answers = [post_bytes(client, 100) for _ in range(3)]
    assert [a.status_code for a in answers[:2]] == [415, 415]  # let through, then refused as not media
    assert error_of(answers[2]) == (429, "rate_limited")
    assert 0 < int(answers[2].headers["Retry-After"]) <= 60


def test_both_submission_routes_share_one_budget(tmp_path):
    client = make_app(tmp_path / "api", tmp_path, rate_limit_submit="2/minute").test_client()
    post_bytes(client, 100, "/api/v1/analyses")
    post_bytes(client, 100, "/api/v1/analyze")
    assert error_of(post_bytes(client, 100, "/api/v1/analyze")) == (429, "rate_limited")


def test_reads_have_their_own_budget(tmp_path):
    client = make_app(
        tmp_path / "api", tmp_path, rate_limit_submit="1/minute", rate_limit_read="3/minute"
    ).test_client()
    reads = [client.get("/api/v1/analyses").status_code for _ in range(4)]
    assert reads == [200, 200, 200, 429]
    assert post_bytes(client, 100).status_code == 415  # reading used none of the submissions


def test_each_api_key_has_its_own_budget(tmp_path):
    client = make_app(tmp_path / "api", tmp_path, api_keys=f"{KEY_A},{KEY_B}", rate_limit_read="2/minute").test_client()
    for _ in range(2):
        client.get("/api/v1/analyses", headers={"X-API-Key": KEY_A})
    assert client.get("/api/v1/analyses", headers={"X-API-Key": KEY_A}).status_code == 429
    assert client.get("/api/v1/analyses", headers={"X-API-Key": KEY_B}).status_code == 200


def test_anonymous_clients_are_counted_by_address(tmp_path):
    client = make_app(tmp_path / "api", tmp_path, rate_limit_read="1/minute").test_client()

    def read(address: str) -> int:
        return client.get("/api/v1/analyses", environ_base={"REMOTE_ADDR": address}).status_code

    assert [read("192.0.2.1"), read("192.0.2.1"), read("192.0.2.2")] == [200, 429, 200]


def test_health_and_the_openapi_document_are_never_limited(tmp_path):
    client = make_app(tmp_path / "api", tmp_path, rate_limit_read="1/minute").test_client()
    paths = ["/healthz", "/api/v1/openapi.json"] * 3
    assert {client.get(path).status_code for path in paths} == {200}


def test_a_client_polling_within_the_documented_read_limit_never_sees_429(tmp_path, clip):
    documented = ApiConfig.rate_limit_read  # "600/minute": what docs/api.md promises a client
    budget = int(documented.split("/")[0])
    client = make_app(tmp_path / "api", tmp_path, rate_limit_read=documented).test_client()
    job_id = submit(client, clip).get_json()["id"]
    polls = [client.get(f"/api/v1/analyses/{job_id}").status_code for _ in range(budget)]
    assert 429 not in polls and set(polls) == {200}


def test_an_empty_limit_is_no_limit(tmp_path):
    client = make_app(tmp_path / "api", tmp_path, rate_limit_read="").test_client()
    assert {client.get("/api/v1/analyses").status_code for _ in range(50)} == {200}


@pytest.fixture
def redis_url(tmp_path):
    if REDIS is None:
        pytest.skip("redis-server not installed (Debian: apt-get install -y redis-server)")
    import redis

    port = free_port()
    command = [REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = subprocess.Popen([*command, "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    try:
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.1)
        yield url
    finally:
        stop_process(process, timeout=10)


def test_api_processes_sharing_a_redis_share_the_counts(tmp_path, redis_url):
    first, second = (make_app(tmp_path / name, tmp_path, rate_limit_read="2/minute", rate_limit_storage=redis_url)
                     .test_client() for name in ("one", "two"))  # fmt: skip
    assert [first.get("/api/v1/analyses").status_code, second.get("/api/v1/analyses").status_code] == [200, 200]
    assert first.get("/api/v1/analyses").status_code == 429


def test_a_rate_limit_store_that_does_not_answer_leaves_the_api_up_and_limited(tmp_path):
    down = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    client = make_app(tmp_path / "api", tmp_path, rate_limit_read="2/minute", rate_limit_storage=down).test_client()
    assert [client.get("/api/v1/analyses").status_code for _ in range(3)] == [200, 200, 429]
