"""Throughput of the Celery runner with 1 and 2 workers: media-minutes analysed per wall-clock minute, and the ratio.

Starts its own ``redis-server`` on a free 127.0.0.1 port and solo-pool Celery workers (``--threads`` each), submits
``--jobs`` copies of a generated clip through the API (Flask test client, Celery runner, a temporary data folder and
SQLite store), and times from the first submission to the last job's end, once per worker count. Models load
before the clock starts (workers report ready first).

    .venv/bin/python bench/scale_workers.py [--quick] [--jobs 6] [--seconds 8] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import emit  # puts the project and tests/ (whose server helpers this uses) on the path
from media_factory import video_from_image
from servers import free_port
from skimage import data as skdata
from test_celery_runner import Workers, wait_for

from callback import create_app


def run(workers: int, jobs: int, clip: Path, seconds: float, threads: int, redis_url: str, folder: Path) -> float:
    data_dir = folder / f"data-{workers}"
    pool = Workers(redis_url, data_dir, folder)
    pool.env |= {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    for name in ("HEARTBEAT_INTERVAL", "HEARTBEAT_TIMEOUT", "VISIBILITY_TIMEOUT", "MAX_ATTEMPTS"):
        pool.env.pop(f"EMOCLASSIFY_{name}")  # the production defaults, not the test's short timeouts
    app = None
    try:
        names = [f"bench{workers}-{i}" for i in range(workers)]
        for name in names:
            pool.start(name)
        for name in names:
            pool.wait_ready(name, timeout=300)
        # the polls below outrun the default read rate limit: this measures the workers, not the limiter
        app = create_app({"data_dir": data_dir, "runner": "celery", "broker_url": redis_url, "log_level": "WARNING",
                          "rate_limit_submit": "", "rate_limit_read": ""})  # fmt: skip
        client = app.test_client()
        start = time.monotonic()
        ids = []
        for _ in range(jobs):
            with clip.open("rb") as handle:
                ids.append(client.post("/api/v1/analyses", data={"file": (handle, clip.name)}).get_json()["id"])

        def all_done():
            states = [client.get(f"/api/v1/analyses/{i}").get_json()["status"] for i in ids]
            if any(state in ("failed", "cancelled") for state in states):
                raise RuntimeError(f"a job did not succeed: {states}")
            return all(state == "succeeded" for state in states)

        wait_for(all_done, 3600, "all jobs done", interval=0.25)
        elapsed = time.monotonic() - start
    finally:
        if app is not None:
            app.extensions["emoclassify"].stop()
        pool.stop()
    rate = jobs * seconds / 60 / (elapsed / 60)
    print(f"{workers} worker(s): {jobs} jobs x {seconds:g} s in {elapsed:.1f} s -> {rate:.2f} media-min/min")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each clip")
    parser.add_argument("--threads", type=int, default=1, help="torch/OpenMP threads per worker")
    parser.add_argument("--quick", action="store_true", help="2 jobs of 2 s: a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.jobs, args.seconds = 2, 2.0
    redis = shutil.which("redis-server")
    if redis is None:
        sys.exit("redis-server not found (apt-get install -y redis-server)")
    folder = Path(tempfile.mkdtemp(prefix="emoclassify-bench-"))
    port = free_port()
    server = subprocess.Popen([redis, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                               "--dir", str(folder)], stdout=subprocess.DEVNULL)  # fmt: skip
    try:
        time.sleep(0.5)
        clip = video_from_image(folder, skdata.astronaut(), seconds=args.seconds, fps=10, name="clip.mp4")
        print(f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; clip {args.seconds:g} s, {args.threads} thread(s)"
              " per worker")  # fmt: skip
        url = f"redis://127.0.0.1:{port}/0"
        one = run(1, args.jobs, clip, args.seconds, args.threads, url, folder)
        two = run(2, args.jobs, clip, args.seconds, args.threads, url, folder)
        print(f"ratio 2 workers / 1 worker: {two / one:.2f}")
        emit({"benchmark": "scale_workers", "cpus": os.cpu_count(), "jobs": args.jobs, "clip_seconds": args.seconds,
              "threads_per_worker": args.threads, "media_min_per_min": {"1": round(one, 2), "2": round(two, 2)},
              "ratio": round(two / one, 2)})  # fmt: skip
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
