"""The runner `make run` uses: analyses in child processes of the API, cancellation through the store."""

from __future__ import annotations

import pytest
from test_api_jobs import media, submit, wait_done, wait_status  # noqa: F401 - `media` is a fixture

from callback import create_app


@pytest.fixture
def app(tmp_path):
    app = create_app({"data_dir": tmp_path, "runner": "process", "heartbeat_interval": 0.5})
    yield app
    app.extensions["emoclassify"].runner.shutdown()


def test_a_job_runs_to_success_in_a_child_process(app, media):  # noqa: F811
    client = app.test_client()
    job = wait_done(client, submit(client, media["photo"], echo_mean="true").get_json()["id"], timeout=180)
    assert job["status"] == "succeeded" and job["progress"] == 100.0
    result = client.get(f"/api/v1/analyses/{job['id']}/result").get_json()
    assert result["summary"]["face_count"] == 1


def test_cancelling_a_running_job_stops_it_in_the_child(app, media):  # noqa: F811
    client = app.test_client()
    job_id = submit(client, media["long"]).get_json()["id"]
    wait_status(client, job_id, "running", timeout=180)
    assert client.delete(f"/api/v1/analyses/{job_id}").status_code == 202
    assert wait_done(client, job_id, timeout=90)["status"] == "cancelled"
