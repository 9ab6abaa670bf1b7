"""webui.client.EmoClient against the app served over real HTTP (werkzeug's threaded server on loopback)."""

from __future__ import annotations

import pytest
from servers import serving
from skimage import data as skdata

from tests.media_factory import long_video, save_image
from webui.client import EmoApiError, EmoClient

KEY = "client-key"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with serving(tmp_path_factory.mktemp("api"), api_keys=KEY) as url:
        yield url


@pytest.fixture(scope="module")
def client(server):
    return EmoClient(server, api_key=KEY)


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    folder = tmp_path_factory.mktemp("media")
    return {
        "photo": save_image(folder, "face.png", skdata.astronaut()),
        "long": long_video(folder),
    }


@pytest.fixture(scope="module")
def done(client, media):
    seen = []
    job = client.wait(client.submit(media["photo"], make_graph=True)["id"], on_progress=seen.append, poll=0.2,
                      timeout=120)  # fmt: skip
    return job, seen


def test_health(client):
    assert client.health()["status"] == "ok"


def test_wait_reports_progress_until_the_job_succeeds(done):
    job, seen = done
    assert job["status"] == "succeeded" and seen[-1]["progress"] == 100.0


def test_result_and_options_round_trip(client, done):
    job, _ = done
    assert client.result(job["id"])["options"]["make_graph"] is True


def test_download_writes_the_artifact(client, done, tmp_path):
    job, _ = done
    path = client.download(job["id"], "timeline.png", tmp_path)
    assert path == tmp_path / "timeline.png" and path.read_bytes().startswith(b"\x89PNG")


def test_list_contains_the_job(client, done):
    job, _ = done
    assert job["id"] in [item["id"] for item in client.list()["items"]]


def test_cancel_stops_a_running_job(client, media):
    job = client.submit(media["long"])
    client.cancel(job["id"])
    assert client.wait(job["id"], poll=0.2, timeout=60)["status"] == "cancelled"


def test_server_errors_raise_with_status_and_code(client, tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(EmoApiError) as caught:
        client.submit(empty)
    assert (caught.value.status, caught.value.code) == (415, "empty_file")


def test_a_wrong_key_raises_401(server):
    with pytest.raises(EmoApiError) as caught:
        EmoClient(server, api_key="wrong").list()
    assert (caught.value.status, caught.value.code) == (401, "unauthorized")


def test_wait_times_out(client, media):
    job = client.submit(media["long"])
    with pytest.raises(TimeoutError):
        client.wait(job["id"], poll=0.1, timeout=0.2)
    client.cancel(job["id"])


def test_polling_faster_than_the_rate_limit_waits_as_told_instead_of_failing(tmp_path, media):
    with serving(tmp_path / "data", rate_limit_read="2/second") as url:
        client = EmoClient(url)
        polls = []
        job = client.wait(client.submit(media["photo"])["id"], on_progress=polls.append, poll=0.01, timeout=120)
    assert job["status"] == "succeeded"
    assert len(polls) >= 3  # more polls than one second's limit: some were refused, waited out, then answered
