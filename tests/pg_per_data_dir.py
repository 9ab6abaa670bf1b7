"""A pytest plugin for running API tests on PostgreSQL (``-p tests.pg_per_data_dir`` with
``EMOCLASSIFY_TEST_PG=postgresql+psycopg://user@host:port``): each data folder gets its own database, created on
first use, as each gets its own SQLite file by default, so tests that expect a fresh store still get one."""

from __future__ import annotations

import hashlib
import os

from callback.config import ApiConfig

SERVER = os.environ.get("EMOCLASSIFY_TEST_PG", "")
_made: set[str] = set()


def _store_url(config: ApiConfig) -> str:
    import psycopg

    name = "d" + hashlib.sha1(str(config.data_dir.resolve()).encode()).hexdigest()[:20]
    if name not in _made:
        with psycopg.connect(f"{SERVER.replace('+psycopg', '')}/postgres", autocommit=True) as connection:
            if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                connection.execute(f'CREATE DATABASE "{name}"')
        _made.add(name)
    return f"{SERVER}/{name}"


if SERVER:
    ApiConfig.store_url = property(_store_url)
