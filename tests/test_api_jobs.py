"""Analysis jobs through the Flask test client with the real engine: life cycle, results and artifacts,
cancellation, restart and recovery, expiry, limits, the synchronous route and webhooks. Media are tiny (a photo,
a 1 s clip) so that each real analysis takes a few seconds."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from skimage import data as skdata

from callback import create_app
from callback.jobs.executor import WORKER
from callback.jobs.models import RUNNING, Job
from tests.media_factory import long_video, make_video, save_image, video_from_image

KEY_A, KEY_B = "key-a", "key-b"


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    folder = tmp_path_factory.mktemp("media")
    return {
        "photo": save_image(folder, "face.png", skdata.astronaut()),
        "clip": video_from_image(folder, skdata.astronaut(), seconds=1.0, fps=5),
        "long": long_video(folder),
        "silent": make_video(folder, "silent.mp4", seconds=0.5, size=(64, 48), audio=False),
    }


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    return create_app({"data_dir": tmp_path_factory.mktemp("api"), "TESTING": True})


@pytest.fixture(scope="module")
def client(app):
    return app.test_client()


def submit(client, path, headers=None, **form):
    with path.open("rb") as handle:
        return client.post("/api/v1/analyses", data={"file": (handle, path.name), **form}, headers=headers or {})


def wait_done(client, job_id, headers=None, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/analyses/{job_id}", headers=headers or {}).get_json()
        if job["status"] not in ("queued", "running"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not end in {timeout} s")


def wait_status(client, job_id, wanted, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/analyses/{job_id}").get_json()
        if job["status"] == wanted:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never became {wanted}")


@pytest.fixture(scope="module")
def finished(client, media):
    response = submit(client, media["clip"], make_graph="true", csv="1", echo_mean="yes")
    return response, wait_done(client, response.get_json()["id"])


def test_submission_answers_202_with_the_job_url(finished):
    response, _ = finished
    job = response.get_json()
    assert response.status_code == 202 and job["status"] in ("queued", "running")
    assert response.headers["Location"].endswith(f"/api/v1/analyses/{job['id']}")


def test_job_succeeds_with_full_progress_and_times(finished):
    _, job = finished
    assert (job["status"], job["progress"], job["stage"], job["error"]) == ("succeeded", 100.0, "done", None)
    assert job["started_at"] and job["finished_at"] and job["options"]["echo_mean"] is True


def test_result_is_the_result_json_the_engine_wrote(app, client, finished):
    _, job = finished
    written = app.extensions["emoclassify"].paths.output_dir(job["id"]) / "result.json"
    response = client.get(f"/api/v1/analyses/{job['id']}/result")
    assert response.mimetype == "application/json" and response.data == written.read_bytes()


def test_artifacts_are_listed_with_types_and_urls(client, finished):
    _, job = finished
    items = client.get(f"/api/v1/analyses/{job['id']}/artifacts").get_json()["items"]
    assert {(i["name"], i["media_type"]) for i in items} == {
        ("result.json", "application/json"), ("timeline.csv", "text/csv"), ("timeline.png", "image/png"),
        ("timeline.svg", "image/svg+xml")}  # fmt: skip
    assert all(i["url"].endswith(f"/artifacts/{i['name']}") and i["size"] > 0 for i in items)


def test_the_artifact_list_names_each_media_type_as_the_result_does(client, finished):
    _, job = finished
    url = f"/api/v1/analyses/{job['id']}"
    listed = {item["name"]: item["media_type"] for item in client.get(f"{url}/artifacts").json["items"]}
    in_result = {item["name"]: item["media_type"] for item in client.get(f"{url}/result").json["artifacts"]}
    assert in_result and in_result.items() <= listed.items()


def test_artifact_download_supports_ranges(client, finished):
    _, job = finished
    response = client.get(f"/api/v1/analyses/{job['id']}/artifacts/timeline.png", headers={"Range": "bytes=0-7"})
    assert response.status_code == 206 and response.data == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("name", ["input.mp4", "..%2F..%2Fjobs.sqlite3", ".partial-x"])
def test_only_listed_artifacts_are_served(client, finished, name):
    _, job = finished
    response = client.get(f"/api/v1/analyses/{job['id']}/artifacts/{name}")
    assert response.status_code == 404


def test_the_uploaded_input_is_not_kept_after_the_job(app, finished):
    _, job = finished
    folder = app.extensions["emoclassify"].paths.job_dir(job["id"])
    assert sorted(p.name for p in folder.iterdir()) == ["output"]


def test_list_is_paginated_newest_first(client, media):
    second = submit(client, media["photo"]).get_json()
    wait_done(client, second["id"])
    page = client.get("/api/v1/analyses?limit=1").get_json()
    assert page["total"] >= 2 and [job["id"] for job in page["items"]] == [second["id"]]


def test_a_failed_analysis_keeps_the_engine_error(client, media):
    job = wait_done(client, submit(client, media["silent"], modalities="voice").get_json()["id"])
    assert job["status"] == "failed" and job["error"]["code"] == "no_audio_stream"


def test_result_of_an_unfinished_job_is_409(tmp_path, media):
    client = create_app({"data_dir": tmp_path}).test_client()
    job = submit(client, media["long"]).get_json()
    response = client.get(f"/api/v1/analyses/{job['id']}/result")
    client.delete(f"/api/v1/analyses/{job['id']}")
    assert (response.status_code, response.get_json()["error"]["code"]) == (409, "not_ready")


def test_cancelling_a_running_job_stops_it_and_removes_its_files(tmp_path, media):
    app = create_app({"data_dir": tmp_path})
    client = app.test_client()
    job_id = submit(client, media["long"]).get_json()["id"]
    wait_status(client, job_id, "running")
    assert client.delete(f"/api/v1/analyses/{job_id}").status_code == 202
    job = wait_done(client, job_id, timeout=60)
    assert job["status"] == "cancelled" and not app.extensions["emoclassify"].paths.job_dir(job_id).exists()


def test_cancelling_a_queued_job_is_immediate(tmp_path, media):
    client = create_app({"data_dir": tmp_path, "workers": 1}).test_client()
    first = submit(client, media["long"]).get_json()["id"]
    queued = submit(client, media["photo"]).get_json()["id"]
    response = client.delete(f"/api/v1/analyses/{queued}")
    client.delete(f"/api/v1/analyses/{first}")
    assert response.status_code == 202 and response.get_json()["status"] == "cancelled"


def test_deleting_a_finished_job_removes_it(app, client, media):
    job_id = submit(client, media["photo"]).get_json()["id"]
    wait_done(client, job_id)
    assert client.delete(f"/api/v1/analyses/{job_id}").status_code == 204
    assert client.get(f"/api/v1/analyses/{job_id}").status_code == 404
    assert not app.extensions["emoclassify"].paths.job_dir(job_id).exists()


@pytest.mark.parametrize("read", ["result", "artifacts", "artifacts/result.json"])
def test_a_read_that_loses_the_race_with_a_delete_is_404(app, client, media, monkeypatch, read):
    """The delete lands between the job's lookup and the file's opening: the narrowest window, made certain."""
    job_id = submit(client, media["photo"]).get_json()["id"]
    wait_done(client, job_id)
    service = app.extensions["emoclassify"]
    looked_up = service.get

    def get_then_deleted(*args, **kwargs):
        job = looked_up(*args, **kwargs)
        service.paths.remove(job.id)
        return job

    monkeypatch.setattr(service, "get", get_then_deleted)
    response = client.get(f"/api/v1/analyses/{job_id}/{read}")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "job_not_found"


def test_reads_racing_a_delete_answer_200_or_404_never_500(client, media):
    job_id = submit(client, media["clip"], csv="1", make_graph="1").get_json()["id"]
    wait_done(client, job_id)
    paths = ["result", "artifacts", "artifacts/timeline.csv", "artifacts/timeline.png", "artifacts/result.json"]
    seen: list[int] = []
    stop = threading.Event()

    def reader(path: str) -> None:
        while not stop.is_set():
            seen.append(client.get(f"/api/v1/analyses/{job_id}/{path}").status_code)

    threads = [threading.Thread(target=reader, args=(path,)) for path in paths]
    for thread in threads:
        thread.start()
    time.sleep(0.3)
    assert client.delete(f"/api/v1/analyses/{job_id}").status_code == 204
    time.sleep(0.3)
    stop.set()
    for thread in threads:
        thread.join()
    assert 200 in seen and 404 in seen and set(seen) <= {200, 404}, sorted(set(seen))


def test_jobs_survive_a_restart_on_the_same_store(tmp_path, media):
    first = create_app({"data_dir": tmp_path}).test_client()
    job_id = submit(first, media["photo"]).get_json()["id"]
    wait_done(first, job_id)
    second = create_app({"data_dir": tmp_path}).test_client()
    assert [job["id"] for job in second.get("/api/v1/analyses").get_json()["items"]] == [job_id]
    assert second.get(f"/api/v1/analyses/{job_id}/result").status_code == 200


def _dead_worker() -> str:
    process = subprocess.Popen(["true"])
    process.wait()
    return f"{WORKER.rpartition(':')[0]}:{process.pid}"


def _orphan(app, media, status: str) -> str:
    """A job as a process that died would have left it: its upload in place, owned by a gone pid."""
    service = app.extensions["emoclassify"]
    job_id = f"orphan{status}"
    service.paths.job_dir(job_id).mkdir(parents=True)
    (service.paths.job_dir(job_id) / "in.png").write_bytes(media["photo"].read_bytes())
    service.store.add(Job(id=job_id, owner="anonymous", status=status, filename="face.png", input_name="in.png",
                          options={}, worker=_dead_worker(), webhooks=[]))  # fmt: skip
    return job_id


def test_a_job_left_running_by_a_dead_process_fails_on_start(tmp_path, media):
    job_id = _orphan(create_app({"data_dir": tmp_path}), media, RUNNING)
    client = create_app({"data_dir": tmp_path}).test_client()
    job = client.get(f"/api/v1/analyses/{job_id}").get_json()
    assert (job["status"], job["error"]["code"]) == ("failed", "interrupted")


def test_a_job_left_queued_by_a_dead_process_runs_on_start(tmp_path, media):
    job_id = _orphan(create_app({"data_dir": tmp_path}), media, "queued")
    client = create_app({"data_dir": tmp_path}).test_client()
    assert wait_done(client, job_id)["status"] == "succeeded"


def test_old_jobs_expire_with_their_files(tmp_path, media):
    app = create_app({"data_dir": tmp_path, "job_ttl": 0})
    client = app.test_client()
    job_id = submit(client, media["photo"]).get_json()["id"]
    wait_done(client, job_id)
    assert app.extensions["emoclassify"].expire() == 1
    assert client.get(f"/api/v1/analyses/{job_id}").status_code == 404
    assert not app.extensions["emoclassify"].paths.job_dir(job_id).exists()


def test_active_jobs_per_key_are_limited(tmp_path, media):
    client = create_app({"data_dir": tmp_path, "jobs_per_key": 1}).test_client()
    first = submit(client, media["long"]).get_json()["id"]
    response = submit(client, media["photo"])
    client.delete(f"/api/v1/analyses/{first}")
    assert (response.status_code, response.get_json()["error"]["code"]) == (429, "too_many_jobs")


def test_a_key_sees_only_its_own_jobs(tmp_path, media):
    client = create_app({"data_dir": tmp_path, "api_keys": f"{KEY_A},{KEY_B}"}).test_client()
    job_id = submit(client, media["photo"], headers={"X-API-Key": KEY_A}).get_json()["id"]
    assert client.get(f"/api/v1/analyses/{job_id}", headers={"X-API-Key": KEY_B}).status_code == 404
    assert wait_done(client, job_id, headers={"X-API-Key": KEY_A})["status"] == "succeeded"


def test_analyze_waits_and_answers_the_result(client, media):
    with media["photo"].open("rb") as handle:
        response = client.post("/api/v1/analyze", data={"file": (handle, "face.png"), "echo_mean": "true"})
    assert response.status_code == 200 and response.get_json()["options"]["echo_mean"] is True


def test_analyze_answers_the_engine_error_of_a_failed_job(client, media):
    with media["silent"].open("rb") as handle:
        response = client.post("/api/v1/analyze", data={"file": (handle, "silent.mp4"), "modalities": "voice"})
    assert (response.status_code, response.get_json()["error"]["code"]) == (415, "no_audio_stream")


def test_analyze_without_wait_answers_202(client, media):
    with media["photo"].open("rb") as handle:
        response = client.post("/api/v1/analyze", data={"file": (handle, "face.png"), "wait": "false"})
    assert response.status_code == 202 and response.headers["Location"].startswith("/api/v1/analyses/")
    wait_done(client, response.get_json()["id"])


class _Receiver(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Receiver.received = []
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", _Receiver.received
    server.shutdown()


def test_webhook_is_delivered_signed_and_recorded(tmp_path, media, receiver):
    url, received = receiver
    client = create_app({"data_dir": tmp_path, "webhook_secret": "s3cret", "webhook_allow_private": "1"}).test_client()
    job_id = submit(client, media["photo"], callback_url=url).get_json()["id"]
    wait_done(client, job_id)
    deadline = time.monotonic() + 20
    while not received and time.monotonic() < deadline:
        time.sleep(0.1)
    headers, body = received[0]
    expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-EmoClassify-Signature"], expected)
    payload = json.loads(body)
    assert payload["job"]["id"] == job_id and payload["job"]["links"]["result"].startswith("http://localhost/")
    time.sleep(0.3)
    attempts = client.get(f"/api/v1/analyses/{job_id}").get_json()["webhooks"]
    assert attempts and attempts[0]["ok"] is True and attempts[0]["status_code"] == 204


def test_webhook_retries_with_backoff_and_records_each_failure(tmp_path, media):
    client = create_app({"data_dir": tmp_path, "webhook_secret": "s", "webhook_allow_private": "1",
                         "webhook_attempts": 3, "webhook_backoff": 0.1}).test_client()  # fmt: skip
    job_id = submit(client, media["photo"], callback_url="http://127.0.0.1:9/closed").get_json()["id"]
    wait_done(client, job_id)
    deadline = time.monotonic() + 20
    attempts = []
    while len(attempts) < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
        attempts = client.get(f"/api/v1/analyses/{job_id}").get_json()["webhooks"]
    assert [a["attempt"] for a in attempts] == [1, 2, 3] and not any(a["ok"] for a in attempts)


def test_a_job_past_its_timeout_is_stopped_failed_and_its_files_removed(tmp_path, media):
    app = create_app({"data_dir": tmp_path, "job_timeout": 0.5})
    client = app.test_client()
    job_id = submit(client, media["long"]).get_json()["id"]
    job = wait_done(client, job_id, timeout=60)
    assert (job["status"], job["error"]["code"]) == ("failed", "timeout")
    assert not app.extensions["emoclassify"].paths.job_dir(job_id).exists()
