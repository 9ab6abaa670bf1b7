"""``make run`` (scripts/run.sh) as a user meets it: the API and the web app come up, and a Ctrl-C stops both with
no traceback, also after an analysis has started the API's analysis processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from media_factory import make_audio
from servers import free_port

from webui.client import EmoClient

ROOT = Path(__file__).resolve().parents[1]
READY_SECONDS = 180  # both servers importing their stacks on a busy machine
pytestmark = pytest.mark.timeout(600)


def _wait_for(predicate, what: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"scripts/run.sh ended before {what}:\n{log.read_text()[-3000:]}")
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"no {what} within {READY_SECONDS} s:\n{log.read_text()[-3000:]}")


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).ok
    except requests.RequestException:
        return False


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture()
def running(tmp_path):
    """scripts/run.sh as ``make run`` starts it (the venv's bin first on PATH), in a process group of its own, as a
    terminal's foreground job is; yields (process, its log, API URL, web app URL)."""
    api_port, web_port = free_port(), free_port()
    env = os.environ | {"API_PORT": str(api_port), "WEB_PORT": str(web_port), "OMP_NUM_THREADS": "1",
                        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
                        "EMOCLASSIFY_DATA_DIR": str(tmp_path / "data"), "KERAS_BACKEND": "torch"}  # fmt: skip
    for name in ("EMOCLASSIFY_API_URL", "EMOCLASSIFY_API_KEY", "EMOCLASSIFY_API_KEYS"):
        env.pop(name, None)
    log = tmp_path / "run.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(["scripts/run.sh"], cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT,
                                   start_new_session=True)  # fmt: skip
    try:
        yield process, log, f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{web_port}"
    finally:
        if _group_alive(process.pid):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def test_ctrl_c_stops_the_api_and_the_web_app_without_a_traceback(running, tmp_path):
    process, log, api_url, web_url = running
    _wait_for(lambda: "Press Ctrl-C" in log.read_text(errors="replace"), "ready message", process, log)
    _wait_for(lambda: _answers(f"{api_url}/healthz"), "API", process, log)
    _wait_for(lambda: _answers(f"{web_url}/_stcore/health"), "web app", process, log)
    client = EmoClient(api_url)
    job = client.wait(client.submit(make_audio(tmp_path, seconds=1.0))["id"], poll=0.3, timeout=240)
    assert job["status"] == "succeeded", job

    os.killpg(process.pid, signal.SIGINT)  # what a Ctrl-C in the terminal does: every process of the group
    process.wait(timeout=120)
    output = log.read_text(errors="replace")
    assert "Traceback" not in output, output[-5000:]
    # what the servers leave to exit on their own (multiprocessing's resource tracker) ends within seconds
    deadline = time.monotonic() + 60
    while _group_alive(process.pid) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _group_alive(process.pid), "a process of scripts/run.sh outlived it"
    assert not _answers(f"{api_url}/healthz") and not _answers(f"{web_url}/_stcore/health")
