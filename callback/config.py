"""Settings of the API service (not of the engine: those are ``backend.config.Settings``), declared and read
the same way (``backend.config.setting``, ``load``).

Each is overridable by an ``EMOCLASSIFY_<NAME>`` environment variable and, above that, by the ``config`` dict
given to :func:`callback.create_app` (keys are the field names, in any case). One frozen object is built per app
so that every module reads the same values and a test can run two apps side by side.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path

from backend.config import PROJECT_ROOT, load, setting


def hash_key(key: str) -> str:
    """API keys are kept only as SHA-256 digests, so a memory dump or a log never shows one."""
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class ApiConfig:
    """Runtime settings of the service; sizes in bytes, times in seconds."""

    data_dir: Path = setting(PROJECT_ROOT / "data" / "api", "uploads, job folders and the SQLite job store")
    database_url: str = setting("", "job store: any SQLAlchemy URL (postgresql+psycopg://...); empty: "
                                "sqlite:///<data_dir>/jobs.sqlite3")  # fmt: skip
    workers: int = setting(1, "analyses run at once by the in-process runners (each one uses the CPU fully)",
                           minimum=1)  # fmt: skip
    runner: str = setting("thread", "where jobs run: thread (the API process's threads), process (child processes "
                          "of the API: request latency does not suffer; what `make run` uses) or celery (Celery "
                          "workers, see broker_url)", choices=("thread", "process", "celery"))  # fmt: skip
    broker_url: str = setting("", "redis://host:6379/0 for the Celery runner")
    max_attempts: int = setting(3, "Celery: starts of one job (a worker lost mid-job means another start) before "
                                "it fails", minimum=1)  # fmt: skip
    heartbeat_interval: float = setting(2.0, "Celery: a running job's owner touches its heartbeat (and reads "
                                        "cancel) this often", minimum=0, exclusive_minimum=True)  # fmt: skip
    heartbeat_timeout: float = setting(60.0, "Celery: a running job whose heartbeat is older is taken over by a "
                                       "worker", minimum=0, exclusive_minimum=True)  # fmt: skip
    visibility_timeout: float = setting(600.0, "Celery/Redis: an unacknowledged job message is redelivered after "
                                        "this", minimum=0, exclusive_minimum=True)  # fmt: skip
    max_upload_bytes: int = setting(2 * 1024**3, "largest upload accepted (413 past it)", minimum=1)
    disk_quota_bytes: int = setting(0, "total size uploads and job folders may take in data_dir (507 past it); "
                                    "0: no quota", minimum=0)  # fmt: skip
    min_free_bytes: int = setting(256 * 1024**2, "free space data_dir's disk keeps: uploads that would pass it get "
                                  "507, a disk below it 503", minimum=0)  # fmt: skip
    max_duration: float = setting(3 * 3600.0, "longest media accepted", minimum=0, exclusive_minimum=True)
    max_frames: int = setting(100_000, "most frames one job analyses (a client's max_frames may only lower it; the "
                              "result warns when it cut the video short); 0: no cap", minimum=0)  # fmt: skip
    job_timeout: float = setting(3 * 3600.0, "seconds an analysis may run; checked at every progress step, then the "
                                 "job fails with `timeout` and its files are removed", minimum=0,
                                 exclusive_minimum=True)  # fmt: skip
    jobs_per_key: int = setting(20, "queued + running jobs one API key (or the anonymous user) may have", minimum=1)
    job_ttl: float = setting(7 * 24 * 3600.0, "finished jobs and their files are deleted this long after they ended",
                             minimum=0)  # fmt: skip
    cleanup_interval: float = setting(600.0, "how often expired jobs are looked for", minimum=0,
                                      exclusive_minimum=True)  # fmt: skip
    sync_wait: float = setting(60.0, "longest wait of POST /api/v1/analyze before it answers 202", minimum=0)
    api_keys: tuple[str, ...] = setting(
        (),
        "comma-separated API keys; with keys set, every /api/v1 route but the "
        "OpenAPI document needs one (X-API-Key). Held as SHA-256 digests only",
    )
    api_keys_sha256: tuple[str, ...] = setting((), "comma-separated SHA-256 hex digests of API keys, so operators "
                                               "may keep plain keys out of the environment")  # fmt: skip
    cors_origins: tuple[str, ...] = setting((), "comma-separated origins allowed to call the API from a browser: "
                                            "\"*\" or exact origins")  # fmt: skip
    rate_limit_submit: str = setting(
        "30/minute",
        "submissions per API key (per client address without one), "
        "both submission routes together: N/second|minute|hour|day; empty: no limit",
    )
    rate_limit_read: str = setting("600/minute", "every other request to /api/v1/analyses... per API key (status "
                                   "polls, downloads)")  # fmt: skip
    rate_limit_storage: str = setting("", "where rate-limit counts live (memory://, redis://...); empty: broker_url "
                                      "if it is Redis, else memory")  # fmt: skip
    public_url: str = setting("", "base of absolute links in webhook bodies; empty: the URL the job was submitted to")
    webhook_secret: str = setting("", "HMAC-SHA256 key of webhook signatures; webhooks are refused while it is "
                                  "empty")  # fmt: skip
    webhook_allow_private: bool = setting(False, "allow webhooks to loopback/private/link-local targets (tests, "
                                          "trusted networks)")  # fmt: skip
    webhook_attempts: int = setting(4, "deliveries tried per webhook", minimum=1)
    webhook_backoff: float = setting(2.0, "seconds before a webhook's 2nd attempt, doubled for each next one",
                                     minimum=0)  # fmt: skip
    webhook_timeout: float = setting(10.0, "seconds one webhook delivery may take", minimum=0,
                                     exclusive_minimum=True)  # fmt: skip
    log_level: str = setting("INFO", "level of the JSON logs on stderr (with job_id): DEBUG, INFO, WARNING or ERROR")

    @property
    def store_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'jobs.sqlite3'}"

    @property
    def key_digests(self) -> tuple[str, ...]:
        return self.api_keys + self.api_keys_sha256

    @property
    def auth_enabled(self) -> bool:
        return bool(self.key_digests)


def load_config(overrides: dict | None = None) -> ApiConfig:
    """Defaults < ``EMOCLASSIFY_*`` environment < ``overrides``. Plain ``api_keys`` are hashed as they are read."""
    config = load(ApiConfig, overrides=overrides)
    return replace(config, api_keys=tuple(hash_key(key) for key in config.api_keys),
                   api_keys_sha256=tuple(digest.lower() for digest in config.api_keys_sha256))  # fmt: skip
