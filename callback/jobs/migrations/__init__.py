"""Alembic migrations of the job store, applied by :func:`upgrade` whenever a store opens (API and workers), so a
new release needs no manual step; ``alembic upgrade head`` (root ``alembic.ini``) does the same by hand.

Several processes may start at once against one database: PostgreSQL serialises them with an advisory lock,
SQLite with a lock file next to the database. A database made before migrations existed (the table made by
``create_all``, no ``alembic_version``) is stamped with the first revision, then upgraded.
"""

from __future__ import annotations

import contextlib
import fcntl
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

HERE = Path(__file__).resolve().parent
FIRST = "0001"
LOCK_KEY = 0x456D6F43  # "EmoC": pg_advisory_xact_lock key of the migration


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.attributes["connection"] = connection
    return config


@contextlib.contextmanager
def _file_lock(engine: Engine):
    database = engine.url.database if engine.url.get_backend_name() == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate-lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def upgrade(engine: Engine) -> None:
    """Bring the store's schema to the newest revision."""
    with _file_lock(engine), engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
        config = alembic_config(connection)
        tables = set(inspect(connection).get_table_names())
        if "jobs" in tables and "alembic_version" not in tables:
            command.stamp(config, FIRST)
        command.upgrade(config, "head")
