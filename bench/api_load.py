"""Load of the API on loopback: 50 concurrent submissions of a tiny photo, then status polls at 200/s for 30 s,
against a real gunicorn (``--workers 1 --threads 4``, as ``make run`` serves it) while the submitted jobs are
analysed in the background. Prints errors, status latency percentiles (target: p99 < 50 ms) and the server's RSS.

Bounded and local: it starts its own server on 127.0.0.1 with a throw-away data folder, sends a fixed number of
requests for a fixed time, and stops the server.

    .venv/bin/python bench/api_load.py [--quick] [--submissions 50] [--rate 200] [--seconds 30]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import psutil
import requests
from benchlib import ROOT, emit
from PIL import Image
from servers import free_port  # the tests' helper, so one piece of code picks ports
from skimage import data as skdata

POLL_THREADS = 24


def tiny_photo() -> bytes:
    """The astronaut's face, 96x96 PNG: a real, quick analysis."""
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(skdata.astronaut())[0:220, 140:330]).resize((96, 96)).save(buffer, format="PNG")
    return buffer.getvalue()


def start_server(data_dir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = os.environ | {
        "EMOCLASSIFY_DATA_DIR": str(data_dir),
        "EMOCLASSIFY_JOBS_PER_KEY": "1000",
        "EMOCLASSIFY_RATE_LIMIT_SUBMIT": "",  # the load is the point here: no per-client rate limits
        "EMOCLASSIFY_RATE_LIMIT_READ": "",
        "EMOCLASSIFY_LOG_LEVEL": "WARNING",
        "OMP_NUM_THREADS": "1",
        "KERAS_BACKEND": "torch",
        "HF_HUB_OFFLINE": "1",
        "EMOCLASSIFY_RUNNER": os.environ.get("EMOCLASSIFY_RUNNER", "process"),
    }  # as `make run` serves
    command = [str(Path(sys.executable).with_name("gunicorn")), "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
               "--workers", "1", "--threads", "4", "--timeout", "0", "callback:create_app()"]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if requests.get(f"{url}/healthz", timeout=5).ok:
                return process, url
        except (requests.ConnectionError, requests.Timeout):  # not listening yet, or still importing the app
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the server did not start")


def server_rss_mb(process: subprocess.Popen) -> float:
    parent = psutil.Process(process.pid)
    return sum(p.memory_info().rss for p in [parent, *parent.children(recursive=True)]) / 2**20


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) * 1000 if values else float("nan")


def submit_all(url: str, count: int, photo: bytes) -> tuple[list[str], list[str], list[float]]:
    def one(i: int) -> tuple[str | None, str | None, float]:
        started = time.perf_counter()
        try:
            response = requests.post(f"{url}/api/v1/analyses", files={"file": (f"face{i}.png", photo)}, timeout=60)
            elapsed = time.perf_counter() - started
            if response.status_code == 202:
                return response.json()["id"], None, elapsed
            return None, f"{response.status_code} {response.text[:120]}", elapsed
        except requests.RequestException as exc:
            return None, str(exc), time.perf_counter() - started

    with ThreadPoolExecutor(max_workers=count) as pool:
        outcomes = list(pool.map(one, range(count)))
    return [o[0] for o in outcomes if o[0]], [o[1] for o in outcomes if o[1]], [o[2] for o in outcomes]


def poll(url: str, job_ids: list[str], rate: float, seconds: float) -> tuple[list[float], list[str], float]:
    """Status requests sent on a fixed schedule (rate per second), each from a pool of keep-alive sessions."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    local = threading.local()
    start = time.perf_counter()
    total = int(rate * seconds)

    def one(index: int) -> None:
        delay = start + index / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        sent = time.perf_counter()
        try:
            response = session.get(f"{url}/api/v1/analyses/{random.choice(job_ids)}", timeout=10)
            ok = response.status_code == 200
            error = None if ok else f"{response.status_code}"
        except requests.RequestException as exc:
            error = str(exc)
        with lock:
            latencies.append(time.perf_counter() - sent)
            if error:
                errors.append(error)

    with ThreadPoolExecutor(max_workers=POLL_THREADS) as pool:
        list(pool.map(one, range(total)))
    return latencies, errors, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=50)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--quick", action="store_true", help="2 submissions, 50 polls/s for 3 s: a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.submissions, args.rate, args.seconds = 2, 50.0, 3.0

    with tempfile.TemporaryDirectory(prefix="emoclassify-load-") as folder:
        process, url = start_server(Path(folder))
        try:
            rss_start = server_rss_mb(process)
            job_ids, submit_errors, submit_times = submit_all(url, args.submissions, tiny_photo())
            print(f"submissions: {len(job_ids)} accepted, {len(submit_errors)} errors "
                  f"(p50 {percentile(submit_times, 50):.0f} ms, max {max(submit_times) * 1000:.0f} ms)")  # fmt: skip
            for error in submit_errors[:5]:
                print("  ", error)
            if not job_ids:
                raise SystemExit("no job was accepted")
            latencies, poll_errors, took = poll(url, job_ids, args.rate, args.seconds)
            print(f"status polls: {len(latencies)} in {took:.1f} s ({len(latencies) / took:.0f}/s), "
                  f"{len(poll_errors)} errors")  # fmt: skip
            print(f"status latency: p50 {percentile(latencies, 50):.1f} ms, p99 {percentile(latencies, 99):.1f} ms, "
                  f"max {max(latencies) * 1000:.1f} ms (target p99 < 50 ms)")  # fmt: skip
            finished = sum(requests.get(f"{url}/api/v1/analyses/{i}", timeout=10).json()["status"] == "succeeded"
                           for i in job_ids)  # fmt: skip
            print(f"jobs succeeded meanwhile: {finished}/{len(job_ids)}")
            rss_end = server_rss_mb(process)
            print(f"server RSS: {rss_start:.0f} MB at start, {rss_end:.0f} MB at the end")
            emit({"benchmark": "api_load", "submissions": args.submissions, "accepted": len(job_ids),
                  "submit_errors": len(submit_errors), "submit_p50_ms": round(percentile(submit_times, 50), 1),
                  "polls": len(latencies), "poll_rate": round(len(latencies) / took, 1),
                  "poll_errors": len(poll_errors),
                  "p50_ms": round(percentile(latencies, 50), 1), "p99_ms": round(percentile(latencies, 99), 1),
                  "max_ms": round(max(latencies) * 1000, 1), "jobs_succeeded": finished,
                  "rss_start_mb": round(rss_start), "rss_end_mb": round(rss_end)})  # fmt: skip
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    main()
