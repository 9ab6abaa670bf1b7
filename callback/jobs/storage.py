"""Where job files live between the API and the workers.

Today both sides mount one folder (``EMOCLASSIFY_DATA_DIR``, a Docker volume or NFS): :class:`SharedFolder`, whose
steps are no-ops. An S3-compatible store (MinIO, S3, GCS in S3 mode) fits the same protocol: the API uploads the
input to ``jobs/<id>/<input>`` after its checks; a worker ``fetch``es it into its local job folder before the
analysis and ``publish``es the output folder afterwards; the API serves artifacts by presigned URL or streams
them; ``remove`` deletes the ``jobs/<id>/`` prefix (and a bucket lifecycle rule backs up the expiry).
"""

from __future__ import annotations

from typing import Protocol

from .paths import JobPaths


class Storage(Protocol):
    def fetch(self, job_id: str, input_name: str) -> None:
        """Make the job's input present at ``paths.job_dir(job_id) / input_name`` on this machine."""

    def publish(self, job_id: str) -> None:
        """Make the job's output folder (``paths.output_dir(job_id)``) visible to the API."""

    def remove(self, job_id: str) -> None:
        """Delete every copy of the job's files."""


class SharedFolder:
    """API and workers see the same ``data_dir``: nothing to copy."""

    def __init__(self, paths: JobPaths):
        self.paths = paths

    def fetch(self, job_id: str, input_name: str) -> None:
        pass

    def publish(self, job_id: str) -> None:
        pass

    def remove(self, job_id: str) -> None:
        self.paths.remove(job_id)
