"""Helpers for tests that start real servers (gunicorn, Streamlit, Redis, Celery workers) on 127.0.0.1."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A port nothing listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_process(process: subprocess.Popen, timeout: float = 15) -> None:
    """Terminate politely, then kill if it does not exit in time; always reaped."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def gunicorn_command(port: int) -> list[str]:
    """The API as ``make run`` serves it (scripts/run.sh), on 127.0.0.1:``port``; run it from the project root."""
    return [str(Path(sys.executable).with_name("gunicorn")), "-c", str(ROOT / "gunicorn.conf.py"),
            "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4", "--timeout", "0",
            "callback:create_app()"]  # fmt: skip


class RedisServer:
    """A real ``redis-server`` on 127.0.0.1 with an append-only file in ``folder``, as the compose file runs it, so
    that it can be stopped and started again on the same port with its queues intact."""

    def __init__(self, folder: Path):
        self.folder, self.port = folder, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 20) -> None:
        import redis

        command = [shutil.which("redis-server") or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                   "--save", "", "--appendonly", "yes", "--dir", str(self.folder)]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(redis.ConnectionError):
                if client.ping():
                    return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"redis-server did not answer in {timeout} s")

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, timeout=10)


@contextlib.contextmanager
def serving(data_dir: Path, **config: object) -> Iterator[str]:
    """The real API on 127.0.0.1:<free port>, with its own data folder and ``config``; yields its URL."""
    from werkzeug.serving import make_server

    from callback import create_app

    app = create_app({"data_dir": data_dir, "log_level": "WARNING", **config})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        app.extensions["emoclassify"].stop()
