"""Job persistence over SQLAlchemy 2: SQLite by default (WAL, so status polls never wait for a writer), any other
URL (PostgreSQL) unchanged; the schema is Alembic's (:mod:`.migrations`, applied on open). Every call is one short
transaction; rows come back detached and read-only.

A SQLite file locked by someone else (a backup, an operator's ``sqlite3`` shell in a transaction) makes a write
wait up to ``BUSY_TIMEOUT``; past that, a request answers 503 ``store_busy`` with ``Retry-After`` (the client
tries again; nothing was written), while background work (a job's progress and end, recovery, expiry) keeps
waiting until the lock is gone, so a running job is never lost or failed because of it.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import ParamSpec, TypeVar

from flask import has_request_context
from sqlalchemy import create_engine, delete, event, func, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ..errors import ApiError
from . import migrations
from .models import ACTIVE, Job

log = logging.getLogger("callback.jobs.store")
BUSY_TIMEOUT = 5.0  # seconds a statement waits for another connection's lock (SQLite) before it gives up
RETRY_AFTER = 5  # seconds a client told 503 store_busy should wait before trying again
_SQLITE_BUSY, _SQLITE_LOCKED = 5, 6
P, R = ParamSpec("P"), TypeVar("R")


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT * 1000)}")  # first: the next pragma may have to wait
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def make_engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT})
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def is_busy(error: BaseException) -> bool:
    """SQLite's "database is locked" (SQLITE_BUSY/LOCKED, extended codes included)."""
    code = getattr(getattr(error, "orig", None), "sqlite_errorcode", None)
    return isinstance(error, OperationalError) and code is not None and code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)


class StoreBusy(ApiError):
    def __init__(self) -> None:
        super().__init__(503, "store_busy", "the job store is locked by another process; try again shortly",
                         {"retry_after": RETRY_AFTER}, {"Retry-After": str(RETRY_AFTER)})  # fmt: skip


def _patient(method: Callable[P, R]) -> Callable[P, R]:
    """A store call that meets a locked database: 503 inside a request, else wait for the lock and try again."""

    @functools.wraps(method)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        started = time.monotonic()
        while True:
            try:
                return method(*args, **kwargs)
            except OperationalError as exc:
                if not is_busy(exc):
                    raise
                if has_request_context():
                    raise StoreBusy from None
                waited = round(time.monotonic() - started)
                log.warning("job store locked: waiting", extra={"call": method.__name__, "waited": waited})
                time.sleep(1.0)

    return call


class JobStore:
    def __init__(self, url: str):
        self.engine = make_engine(url)
        migrations.upgrade(self.engine)
        self._session = sessionmaker(self.engine, expire_on_commit=False)

    def _begin(self) -> Session:
        return self._session.begin()

    @_patient
    def add(self, job: Job) -> Job:
        with self._begin() as session:
            session.add(job)
        return job

    @_patient
    def get(self, job_id: str, owner: str | None = None) -> Job | None:
        with self._session() as session:
            job = session.get(Job, job_id)
            return job if job is not None and owner in (None, job.owner) else None

    @_patient
    def update(self, job_id: str, only_if: Iterable[str] | None = None, **values: object) -> bool:
        """Set ``values``; with ``only_if``, only while the status is one of those (an atomic transition, so a
        cancel and a start that race can't both win). True when the row changed."""
        statement = update(Job).where(Job.id == job_id).values(**values)
        if only_if is not None:
            statement = statement.where(Job.status.in_(tuple(only_if)))
        with self._begin() as session:
            return session.execute(statement).rowcount > 0

    @_patient
    def append_webhook(self, job_id: str, attempt: dict) -> None:
        with self._begin() as session:
            job = session.get(Job, job_id)
            if job is not None:
                job.webhooks = [*job.webhooks, attempt]

    @_patient
    def page(self, owner: str, limit: int, offset: int, status: str | None = None) -> tuple[list[Job], int]:
        query = select(Job).where(Job.owner == owner)
        if status:
            query = query.where(Job.status == status)
        with self._session() as session:
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = session.scalars(query.order_by(Job.created_at.desc(), Job.id).limit(limit).offset(offset))
            return list(rows), total

    @_patient
    def count_active(self, owner: str) -> int:
        with self._session() as session:
            query = select(func.count()).where(Job.owner == owner, Job.status.in_(ACTIVE))
            return session.scalar(query) or 0

    @_patient
    def unfinished(self) -> list[Job]:
        with self._session() as session:
            return list(session.scalars(select(Job).where(Job.status.in_(ACTIVE)).order_by(Job.created_at)))

    @_patient
    def finished_before(self, moment: datetime) -> list[Job]:
        with self._session() as session:
            return list(session.scalars(select(Job).where(Job.finished_at < moment)))

    @_patient
    def delete(self, job_id: str) -> None:
        with self._begin() as session:
            session.execute(delete(Job).where(Job.id == job_id))

    @_patient
    def ping(self) -> None:
        with self._session() as session:
            session.execute(text("SELECT 1"))
