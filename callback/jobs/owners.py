"""Whether the process that owns a job (named ``host:pid``, see :data:`executor.WORKER`) is still there to run it.

A process killed after its parent died stays a zombie until something reaps it, and in a container whose PID 1
is not an init (Docker without ``--init``) nothing ever does: a signal to it still succeeds. Such an owner counts
as gone, or its jobs would stay ``running`` for ever.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

HOST = socket.gethostname()


def owner_alive(worker: str) -> bool:
    """Whether the process named ``host:pid`` may still run its jobs. One of another host can't be checked and is
    not ours to resolve, so it counts as alive; an unreadable name counts as gone."""
    host, _, pid = worker.rpartition(":")
    if host != HOST:
        return True
    return pid.isdigit() and _running(int(pid))


def wait_gone(worker: str, timeout: float) -> bool:
    """Whether the owner is gone, waiting up to ``timeout`` s for it to end."""
    deadline = time.monotonic() + timeout
    while owner_alive(worker):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """State ``Z`` in /proc/<pid>/stat (the field after the parenthesised command name, which may hold spaces)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] == ["Z"]
