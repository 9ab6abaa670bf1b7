"""Whether a job's owner (``host:pid``) is still there: what recovery decides to leave alone or to settle."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from callback.jobs.owners import HOST, owner_alive, wait_gone


def test_this_process_is_alive():
    assert owner_alive(f"{HOST}:{os.getpid()}")


def test_a_process_of_another_host_counts_as_alive_it_is_not_ours_to_settle():
    assert owner_alive(f"some-other-host:{os.getpid()}")


def test_an_unreadable_owner_name_counts_as_gone():
    assert not owner_alive(f"{HOST}:not-a-pid")


def test_a_zombie_counts_as_gone_though_signals_to_it_still_succeed():
    child = subprocess.Popen([sys.executable, "-c", "pass"])  # ends at once and is not reaped until wait()
    try:
        deadline = time.monotonic() + 30
        while owner_alive(f"{HOST}:{child.pid}"):
            assert time.monotonic() < deadline, "the child never ended"
            time.sleep(0.05)
        os.kill(child.pid, 0)  # the pid is still there, as a zombie
    finally:
        child.wait()


def test_waiting_for_a_live_owner_gives_up_at_the_timeout():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        started = time.monotonic()
        assert not wait_gone(f"{HOST}:{child.pid}", timeout=0.3)
        assert time.monotonic() - started < 5
        child.kill()
        assert wait_gone(f"{HOST}:{child.pid}", timeout=10)
    finally:
        child.kill()
        child.wait()
