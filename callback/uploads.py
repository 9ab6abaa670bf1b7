"""Uploads streamed to disk as they arrive, capped in size while they stream.

Flask's request class is given a file factory: werkzeug's multipart parser writes each file part chunk by chunk
into a file under ``incoming/`` with a random name, and the write that would pass ``max_upload_bytes`` raises
413, the one that would pass the disk room left (:mod:`callback.quota`) 507, as does a write that meets a full
disk. Each chunk is flushed as it is written, so a full disk shows at that write and not at a later close.
Nothing holds the upload in memory. Every file a request created is removed when the request ends unless the
service moved it into a job folder, so a refused upload leaves nothing on disk.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO

from flask import Request, current_app, g
from werkzeug.exceptions import RequestEntityTooLarge

from . import quota
from .jobs.executor import WORKER

FORM_OVERHEAD = 1024 * 1024  # room for the non-file form fields in MAX_CONTENT_LENGTH


class _CappedFile:
    """A file that refuses to grow past ``limit`` bytes (413) or past ``room`` (507)."""

    def __init__(self, path: Path, limit: int, room: quota.Room | None):
        self.path = path
        self._limit, self._room = limit, room
        self._written = 0
        try:
            self._file = path.open("w+b")
        except OSError as exc:
            if quota.is_disk_full(exc):
                raise quota.disk_full() from exc
            raise

    def write(self, data: bytes) -> int:
        self._written += len(data)
        if self._written > self._limit:
            raise RequestEntityTooLarge(f"the upload is larger than the limit of {self._limit} bytes")
        if self._room is not None and self._written > self._room.bytes:
            raise quota.no_room(self._room)
        try:
            count = self._file.write(data)
            self._file.flush()
        except OSError as exc:
            if quota.is_disk_full(exc):
                raise quota.disk_full() from exc
            raise
        return count

    def __getattr__(self, name: str):
        return getattr(self._file, name)


class UploadRequest(Request):
    def _get_file_stream(self, total_content_length: int | None, content_type: str | None,
                         filename: str | None = None, content_length: int | None = None) -> IO[bytes]:  # fmt: skip
        service = current_app.extensions["emoclassify"]
        path = service.paths.new_incoming(WORKER)
        g.setdefault("incoming_files", []).append(path)
        room = g.get("upload_room")  # set by quota.check_submission on the submission routes
        return _CappedFile(path, service.config.max_upload_bytes, room)  # type: ignore[return-value]


def uploaded_path(stream: object) -> Path:
    """The incoming file behind a FileStorage's stream."""
    return stream.path  # type: ignore[attr-defined]


def remove_leftovers(_exception: BaseException | None = None) -> None:
    """Teardown: close and delete what this request received and nobody claimed."""
    for path in g.pop("incoming_files", []):
        path.unlink(missing_ok=True)
