"""Where a job's files live. Names are made by the server (job id + a checked suffix): nothing the client sends
ever becomes part of a path."""

from __future__ import annotations

import contextlib
import re
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path, PurePosixPath

_SAFE_SUFFIX = re.compile(r"\.[a-z0-9]{1,8}")
OUTPUT = "output"


def safe_suffix(filename: str) -> str:
    """The client's extension when it is plain (``.mp4``), else none: the media is recognised by its content,
    the suffix only helps a person looking at the folder."""
    suffix = PurePosixPath(filename.replace("\\", "/")).suffix.lower()
    return suffix if _SAFE_SUFFIX.fullmatch(suffix) else ""


def display_name(filename: str) -> str:
    """The last component of the client's filename without control characters, kept as metadata only."""
    name = PurePosixPath(filename.replace("\\", "/")).name
    return "".join(ch for ch in name if ch.isprintable())[:255] or "upload"


class JobPaths:
    def __init__(self, data_dir: Path):
        self.root = Path(data_dir)
        self.incoming = self.root / "incoming"  # uploads being received, before they belong to a job
        self.jobs = self.root / "jobs"
        self.incoming.mkdir(parents=True, exist_ok=True)
        self.jobs.mkdir(parents=True, exist_ok=True)

    def job_dir(self, job_id: str) -> Path:
        return self.jobs / job_id

    def output_dir(self, job_id: str) -> Path:
        return self.job_dir(job_id) / OUTPUT

    def remove(self, job_id: str) -> None:
        shutil.rmtree(self.job_dir(job_id), ignore_errors=True)

    def remove_output(self, job_id: str) -> None:
        shutil.rmtree(self.output_dir(job_id), ignore_errors=True)

    def new_incoming(self, owner: str) -> Path:
        """A new upload file, named after the process receiving it (``host:pid``): after a crash, the restarted
        API removes what a dead process was receiving (:meth:`clear_incoming_of`) without waiting for its age."""
        return self.incoming / f"{uuid.uuid4().hex}@{owner}.part"

    def clear_incoming_of(self, gone: Callable[[str], bool]) -> None:
        """Remove the partial uploads of the processes for which ``gone(owner)`` is true."""
        for item in self.incoming.glob("*@*.part"):
            if gone(item.stem.partition("@")[2]):
                item.unlink(missing_ok=True)

    def clear_stale_incoming(self, max_age: float) -> None:
        """Partial uploads left by a process that died (a live request removes its own when it ends)."""
        cutoff = time.time() - max_age
        for item in self.incoming.iterdir():
            with contextlib.suppress(FileNotFoundError):
                if item.stat().st_mtime < cutoff:
                    item.unlink()
