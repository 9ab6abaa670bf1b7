"""The job table. One row per analysis; files live in ``<data_dir>/jobs/<id>/``, never named by the client."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, Boolean, DateTime, Float, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = "queued", "running", "succeeded", "failed", "cancelled"
ACTIVE = (QUEUED, RUNNING)
FINISHED = (SUCCEEDED, FAILED, CANCELLED)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64), index=True)  # API key digest prefix, or "anonymous"
    status: Mapped[str] = mapped_column(String(16), index=True, default=QUEUED)
    stage: Mapped[str | None] = mapped_column(String(32), default=None)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    filename: Mapped[str] = mapped_column(String(255))  # the client's name: metadata only, never a path
    input_name: Mapped[str] = mapped_column(String(64))  # the stored upload, inside the job folder
    size: Mapped[int] = mapped_column(default=0)
    options: Mapped[dict] = mapped_column(JSON)
    media: Mapped[dict | None] = mapped_column(JSON, default=None)
    callback_url: Mapped[str | None] = mapped_column(Text, default=None)
    base_url: Mapped[str] = mapped_column(Text, default="")  # for absolute URLs in webhook bodies
    error: Mapped[dict | None] = mapped_column(JSON, default=None)
    webhooks: Mapped[list] = mapped_column(JSON, default=list)  # delivery attempts
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    worker: Mapped[str] = mapped_column(String(128), default="")  # host:pid of the process that owns it
    attempts: Mapped[int] = mapped_column(default=0)  # times an analysis of it started (Celery re-runs count)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)  # Celery owner
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None, index=True)
