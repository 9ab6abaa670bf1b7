"""Settings of the API service (not of the engine: those are ``backend.config.Settings``).

Defaults here; each is overridable by an ``EMOCLASSIFY_<NAME>`` environment variable and, above that, by the
``config`` dict given to :func:`callback.create_app` (keys are the field names, in any case). One frozen object
is built per app so that every module reads the same values and a test can run two apps side by side.
"""

from __future__ import annotations

import hashlib
import os
import typing
from dataclasses import dataclass, fields
from pathlib import Path

from backend.config import PROJECT_ROOT


def hash_key(key: str) -> str:
    """API keys are kept only as SHA-256 digests, so a memory dump or a log never shows one."""
    return hashlib.sha256(key.encode()).hexdigest()


def _words(value: str | list | tuple) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else value
    return tuple(item.strip() for item in items if item and item.strip())


@dataclass(frozen=True)
class ApiConfig:
    """Runtime settings of the service; sizes in bytes, times in seconds."""

    data_dir: Path = PROJECT_ROOT / "data" / "api"  # uploads, job folders and the SQLite store
    database_url: str = ""  # empty: sqlite:///<data_dir>/jobs.sqlite3; any SQLAlchemy URL (postgresql://...) works
    workers: int = 1  # analyses run at once by the in-process runner (each one uses the CPU fully)
    # "thread": jobs run in the API process's threads; "process": in child processes of the API (what `make run`
    # uses: request latency does not suffer); "celery": on Celery workers (broker_url)
    runner: str = "thread"
    broker_url: str = ""  # redis://host:6379/0 for the Celery runner
    max_attempts: int = 3  # Celery: starts of one job (a worker lost mid-job means another start) before it fails
    heartbeat_interval: float = 2.0  # Celery: a running job's owner touches heartbeat_at (and reads cancel) this often
    heartbeat_timeout: float = 60.0  # Celery: a running job whose heartbeat is older is taken over by a worker
    visibility_timeout: float = 600.0  # Celery/Redis: an unacknowledged job message is redelivered after this
    max_upload_bytes: int = 2 * 1024**3
    disk_quota_bytes: int = 0  # total size uploads + job folders may take in data_dir (507 past it); 0: no quota
    min_free_bytes: int = 256 * 1024**2  # free space data_dir's file system keeps: below it uploads get 503
    max_duration: float = 3 * 3600.0  # longest media accepted
    max_frames: int = 100_000  # frames one job analyses at most (5.5 h at the default 5 fps); 0: no cap
    job_timeout: float = 3 * 3600.0  # seconds an analysis may run before it is stopped and failed (`timeout`)
    jobs_per_key: int = 20  # queued + running jobs one API key (or the anonymous user) may have
    job_ttl: float = 7 * 24 * 3600.0  # finished jobs and their files are deleted this long after they ended
    cleanup_interval: float = 600.0
    sync_wait: float = 60.0  # longest wait of POST /api/v1/analyze before it answers 202
    api_keys: tuple[str, ...] = ()  # SHA-256 hex digests; plain keys given by API_KEYS are hashed on load
    cors_origins: tuple[str, ...] = ()  # "*" or exact origins
    # Requests per API key (per client address without a key), as "N/second|minute|hour|day"; empty: no limit.
    rate_limit_submit: str = "30/minute"  # POST of an analysis (both submission routes together)
    rate_limit_read: str = "600/minute"  # every other request to /api/v1/analyses... (status polls, downloads)
    rate_limit_storage: str = ""  # where counts live (memory://, redis://...); empty: broker_url if Redis, else memory
    public_url: str = ""  # base URL used in webhook bodies; empty: the URL the job was submitted to
    webhook_secret: str = ""  # HMAC-SHA256 key of webhook signatures; webhooks are refused while it is empty
    webhook_allow_private: bool = False  # allow loopback/private/link-local targets (tests, trusted networks)
    webhook_attempts: int = 4
    webhook_backoff: float = 2.0  # seconds before the 2nd attempt, doubled for each next one
    webhook_timeout: float = 10.0
    log_level: str = "INFO"

    @property
    def store_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'jobs.sqlite3'}"

    @property
    def auth_enabled(self) -> bool:
        return bool(self.api_keys)


def _convert(name: str, kind: object, value: object) -> object:
    """A string from the environment (or a value from a dict) as the field's type."""
    if kind is bool:
        return value if isinstance(value, bool) else str(value).strip().lower() in ("1", "true", "yes", "on")
    if kind is int or kind is float:
        return kind(value)
    if kind is Path:
        return Path(value)
    if typing.get_origin(kind) is tuple:
        return _words(value)
    if kind is str:
        return str(value)
    raise TypeError(f"no conversion for setting {name} of type {kind}")  # a new field needs a branch here


def load_config(overrides: dict | None = None) -> ApiConfig:
    """Defaults < ``EMOCLASSIFY_*`` environment < ``overrides``. ``API_KEYS`` (plain keys) are hashed and merged
    with ``API_KEYS_SHA256`` (digests), so operators may keep plain keys out of the environment."""
    hints = typing.get_type_hints(ApiConfig)
    given = {key.lower(): value for key, value in (overrides or {}).items()}
    values: dict[str, object] = {}
    for item in fields(ApiConfig):
        raw = given.get(item.name, os.environ.get(f"EMOCLASSIFY_{item.name.upper()}"))
        if raw is not None and item.name != "api_keys":
            values[item.name] = _convert(item.name, hints[item.name], raw)
    plain = given.get("api_keys", os.environ.get("EMOCLASSIFY_API_KEYS", ""))
    digests = given.get("api_keys_sha256", os.environ.get("EMOCLASSIFY_API_KEYS_SHA256", ""))
    values["api_keys"] = tuple(hash_key(k) for k in _words(plain)) + tuple(d.lower() for d in _words(digests))
    return ApiConfig(**values)
