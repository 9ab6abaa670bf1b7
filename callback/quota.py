"""Disk limits of the data dir: a quota on what uploads and job folders may take together
(``disk_quota_bytes``), and a floor of free space the file system keeps (``min_free_bytes``).

A submission is judged when it starts, by its Content-Length, before a byte of it is read; then
:mod:`callback.uploads` stops the upload at the write that passes the room that was left, since a client may
send no length, or a false one. A disk that fills up anyway (another writer, two uploads at once) ends the upload
with the same 507 through ENOSPC, and a job that hits it fails with ``disk_full``. Room is judged per upload at
its start: uploads running side by side may together pass the quota by what they carry.
"""

from __future__ import annotations

import errno
import os
import shutil
from contextlib import suppress
from dataclasses import dataclass

from flask import current_app, g, request

from .config import ApiConfig
from .errors import ApiError
from .jobs.paths import JobPaths

LOW_DISK_RETRY_AFTER = 60  # seconds: running jobs delete their inputs as they end, the janitor expires old ones
_FULL = (errno.ENOSPC, errno.EDQUOT)


@dataclass(frozen=True)
class Room:
    """What an upload may write, and the error code of passing it."""

    bytes: int
    code: str  # quota_exceeded (the quota is what ends it) or disk_full (the file system's free space is)


def used_bytes(paths: JobPaths) -> int:
    """Bytes of the uploads being received and of every job folder (the job store is not counted)."""
    return _tree_bytes(paths.incoming) + _tree_bytes(paths.jobs)


def _tree_bytes(folder: str | os.PathLike) -> int:
    """Walked at every upload while a quota is set: about 0.1 s for 1,000 jobs of 10 files on a busy 2-core host."""
    total = 0
    with suppress(FileNotFoundError), os.scandir(folder) as entries:
        for entry in entries:
            with suppress(FileNotFoundError):  # a job ending or expiring meanwhile
                if entry.is_dir(follow_symlinks=False):
                    total += _tree_bytes(entry.path)
                else:
                    total += entry.stat(follow_symlinks=False).st_size
    return total


def upload_room(config: ApiConfig, paths: JobPaths) -> Room:
    """The room an upload has now; a file system already below ``min_free_bytes`` refuses any (503)."""
    free = shutil.disk_usage(paths.root).free
    if free < config.min_free_bytes:
        raise ApiError(503, "low_disk_space", "the server is low on disk space; try again later",
                       {"free_bytes": free, "min_free_bytes": config.min_free_bytes},
                       {"Retry-After": str(LOW_DISK_RETRY_AFTER)})  # fmt: skip
    room = Room(free - config.min_free_bytes, "disk_full")
    if config.disk_quota_bytes:
        left = max(config.disk_quota_bytes - used_bytes(paths), 0)
        if left < room.bytes:
            room = Room(left, "quota_exceeded")
    return room


def no_room(room: Room, needed: int | None = None) -> ApiError:
    """The 507 of an upload larger than its room."""
    where = "the server's storage quota" if room.code == "quota_exceeded" else "the server's free disk space"
    details = {"available_bytes": room.bytes} | ({"needed_bytes": needed} if needed is not None else {})
    return ApiError(507, room.code, f"the upload does not fit in what is left of {where}", details)


def disk_full() -> ApiError:
    """The 507 of an upload that met a full disk (ENOSPC) while it streamed."""
    return ApiError(507, "disk_full", "the server's disk filled up while the upload was written; try again later")


def is_disk_full(error: BaseException | None) -> bool:
    """Whether ``error``, or an error it was raised from or while handling, is a full disk or quota."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, OSError) and error.errno in _FULL:
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


def check_submission() -> None:
    """before_request of the submission routes: refuse at once an upload that can't fit, and keep the room for
    the stream's own check. A body over the size limit is left to its 413, which says more."""
    if request.method != "POST":
        return
    service = current_app.extensions["emoclassify"]
    room = upload_room(service.config, service.paths)
    g.upload_room = room
    length = request.content_length
    if length is not None and room.bytes < length <= (current_app.config["MAX_CONTENT_LENGTH"] or length):
        raise no_room(room, length)
