"""End to end through a real gunicorn on 127.0.0.1 (as ``make run`` serves it): the API's result equals the
engine's for the same file and options, artifacts download with ranges, client filenames never become paths,
and jobs survive a restart of the server."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
import requests
from servers import free_port, gunicorn_command, stop_process
from skimage import data as skdata

from backend.config import PROJECT_ROOT
from backend.options import AnalysisOptions
from backend.pipeline import analyse
from callback.config import ApiConfig
from callback.errors import error_body
from tests.media_factory import video_from_image
from webui.client import EmoClient

ROOT = Path(__file__).resolve().parent.parent
# Differ between two runs of the same analysis (artifacts: the SVG embeds its creation date; compared by name below).
VOLATILE = {"timings", "created_at", "path", "artifacts"}


class Gunicorn:
    """One gunicorn serving ``callback:create_app()`` over ``data_dir``; start/stop like an operator would."""

    def __init__(self, data_dir: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = os.environ | {"EMOCLASSIFY_DATA_DIR": str(data_dir), "OMP_NUM_THREADS": "1",
                                 "KERAS_BACKEND": "torch", "HF_HUB_OFFLINE": "1"}  # fmt: skip
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(gunicorn_command(self.port), cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/healthz", timeout=1).ok:
                    return
            except (requests.ConnectionError, requests.Timeout):  # not listening yet, or still importing the app
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("gunicorn did not come up in 60 s")

    def stop(self) -> None:
        if self.process:
            stop_process(self.process, timeout=20)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("api")


@pytest.fixture(scope="module")
def server(data_dir):
    server = Gunicorn(data_dir)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return video_from_image(tmp_path_factory.mktemp("media"), skdata.astronaut(), seconds=1.0, fps=5)


@pytest.fixture(scope="module")
def done(server, clip):
    client = EmoClient(server.url)
    with clip.open("rb") as handle:
        response = requests.post(f"{server.url}/api/v1/analyses", files={"file": ("../../etc/passwd.mp4", handle)},
                                 data={"make_graph": "true", "echo_mean": "true"}, timeout=60)  # fmt: skip
    response.raise_for_status()
    return client, client.wait(response.json()["id"], poll=0.3, timeout=180)


def test_an_over_long_url_is_answered_in_the_json_error_format(server):
    """gunicorn refuses it before the app sees it; its worker answers as the app answers its own errors."""
    response = requests.get(f"{server.url}/api/v1/analyses", params={"status": "x" * 10_000}, timeout=30)
    assert response.status_code == 414 and response.headers["Content-Type"] == "application/json"
    assert response.json() == error_body("uri_too_long", "the request's URL is too long")


def test_over_large_headers_are_answered_in_the_json_error_format(server):
    response = requests.get(f"{server.url}/healthz", headers={"Cookie": "x" * 10_000}, timeout=30)
    assert response.status_code == 431 and response.json()["error"]["code"] == "headers_too_large"


def _stable(value):
    if isinstance(value, dict):
        return {key: _stable(item) for key, item in value.items() if key not in VOLATILE}
    if isinstance(value, list):
        return [_stable(item) for item in value]
    return value


def test_api_result_equals_the_engines(done, clip, tmp_path):
    """The same result as the engine given the same options, the server's frame cap included."""
    client, job = done
    options = AnalysisOptions(make_graph=True, echo_mean=True, max_frames=ApiConfig().max_frames)
    expected = analyse(clip, options, output_dir=tmp_path).to_dict()
    assert job["status"] == "succeeded"
    served = client.result(job["id"])
    assert _stable(served) == _stable(expected)
    assert [a["name"] for a in served["artifacts"]] == [a["name"] for a in expected["artifacts"]]


def test_artifact_range_request_over_http(server, done):
    _, job = done
    response = requests.get(f"{server.url}/api/v1/analyses/{job['id']}/artifacts/timeline.png",
                            headers={"Range": "bytes=1-3"}, timeout=30)  # fmt: skip
    assert response.status_code == 206 and response.content == b"PNG"


def test_a_path_traversal_filename_is_only_metadata(data_dir, done):
    _, job = done
    outside = [p for p in data_dir.rglob("*") if p.is_file() and "jobs" not in p.relative_to(data_dir).parts[:1]]
    assert job["filename"] == "passwd.mp4"
    assert [p.name for p in outside if not p.name.startswith("jobs.sqlite3")] == []


def test_the_served_result_names_the_upload_not_the_servers_paths(data_dir, done):
    client, job = done
    served = client.result(job["id"])
    assert served["input"]["path"] == "passwd.mp4"
    assert str(data_dir) not in json.dumps(served)
    assert str(PROJECT_ROOT) not in json.dumps(served)
    assert "face_model/models/" in {model["role"]: model["source"] for model in served["models"]}["face_classifier"]


def test_jobs_survive_a_server_restart(server, done):
    _, job = done
    server.stop()
    server.start()
    client = EmoClient(server.url)
    assert job["id"] in [item["id"] for item in client.list()["items"]]
    assert client.result(job["id"])["options"]["echo_mean"] is True


def test_the_fused_view_is_the_same_through_the_api_the_cli_and_the_web_page(server, shared_data, tmp_path, capsys):
    """A talking face (CREMA-D, face and voice): the served fused windows and summary equal the CLI's JSON, and the
    web page's headline names the same fused emotion."""
    from backend.__main__ import main
    from webui.results import summary_sentence

    clip = shared_data / "video" / "1001_DFA_ANG_XX.mp4"
    client = EmoClient(server.url)
    with clip.open("rb") as handle:
        response = requests.post(f"{server.url}/api/v1/analyses", files={"file": (clip.name, handle)}, timeout=60)
    response.raise_for_status()
    served = client.result(client.wait(response.json()["id"], poll=0.3, timeout=180)["id"])
    assert main(["analyze", str(clip), "--max-frames", str(ApiConfig().max_frames), "--json", "-q",
                 "-o", str(tmp_path)]) == 0  # fmt: skip
    printed = json.loads(capsys.readouterr().out)
    assert served["fused"] and _stable(served["fused"]) == _stable(printed["fused"])
    assert served["summary"]["fused"] == printed["summary"]["fused"]
    dominant = served["summary"]["fused"]["dominant_emotion"]
    assert f"face and voice together: **{dominant}** (highest mean probability" in summary_sentence(served)
