"""Job persistence over SQLAlchemy 2: SQLite by default (WAL, so status polls never wait for a writer), any other
URL (PostgreSQL) unchanged; the schema is Alembic's (:mod:`.migrations`, applied on open). Every call is one short
transaction; rows come back detached and read-only."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import create_engine, delete, event, func, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from . import migrations
from .models import ACTIVE, Job


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


class JobStore:
    def __init__(self, url: str):
        self.engine = make_engine(url)
        migrations.upgrade(self.engine)
        self._session = sessionmaker(self.engine, expire_on_commit=False)

    def _begin(self) -> Session:
        return self._session.begin()

    def add(self, job: Job) -> Job:
        with self._begin() as session:
            session.add(job)
        return job

    def get(self, job_id: str, owner: str | None = None) -> Job | None:
        with self._session() as session:
            job = session.get(Job, job_id)
            return job if job is not None and owner in (None, job.owner) else None

    def update(self, job_id: str, only_if: Iterable[str] | None = None, **values: object) -> bool:
        """Set ``values``; with ``only_if``, only while the status is one of those (an atomic transition, so a
        cancel and a start that race can't both win). True when the row changed."""
        statement = update(Job).where(Job.id == job_id).values(**values)
        if only_if is not None:
            statement = statement.where(Job.status.in_(tuple(only_if)))
        with self._begin() as session:
            return session.execute(statement).rowcount > 0

    def append_webhook(self, job_id: str, attempt: dict) -> None:
        with self._begin() as session:
            job = session.get(Job, job_id)
            if job is not None:
                job.webhooks = [*job.webhooks, attempt]

    def page(self, owner: str, limit: int, offset: int, status: str | None = None) -> tuple[list[Job], int]:
        query = select(Job).where(Job.owner == owner)
        if status:
            query = query.where(Job.status == status)
        with self._session() as session:
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = session.scalars(query.order_by(Job.created_at.desc(), Job.id).limit(limit).offset(offset))
            return list(rows), total

    def count_active(self, owner: str) -> int:
        with self._session() as session:
            query = select(func.count()).where(Job.owner == owner, Job.status.in_(ACTIVE))
            return session.scalar(query) or 0

    def unfinished(self) -> list[Job]:
        with self._session() as session:
            return list(session.scalars(select(Job).where(Job.status.in_(ACTIVE)).order_by(Job.created_at)))

    def finished_before(self, moment: datetime) -> list[Job]:
        with self._session() as session:
            return list(session.scalars(select(Job).where(Job.finished_at < moment)))

    def delete(self, job_id: str) -> None:
        with self._begin() as session:
            session.execute(delete(Job).where(Job.id == job_id))

    def ping(self) -> None:
        with self._session() as session:
            session.execute(text("SELECT 1"))
