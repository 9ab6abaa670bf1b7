"""The job store's contract on SQLite (the embedded default) and on PostgreSQL (the deployment's), with the
schema made by the Alembic migrations. PostgreSQL runs in a temporary cluster started by the fixture (``initdb`` +
``pg_ctl`` of Debian's ``postgresql`` package, as the ``postgres`` user when the tests run as root); without those
binaries the PostgreSQL cases skip with the reason. The API job tests (tests/test_api_jobs.py) also run once
against PostgreSQL, in a subprocess."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from servers import free_port
from sqlalchemy import inspect, text

from callback.jobs.models import CANCELLED, QUEUED, RUNNING, SUCCEEDED, Job, utcnow
from callback.jobs.store import JobStore

ROOT = Path(__file__).resolve().parents[1]


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name) or sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return (found[-1] if isinstance(found, list) else found) or None


@pytest.fixture(scope="module")
def pg_server():
    """A throw-away PostgreSQL cluster on 127.0.0.1 (trust auth, fsync off); yields a URL maker by database."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not installed (Debian: apt-get install -y postgresql)")
    pytest.importorskip("psycopg", reason="psycopg (PostgreSQL driver) not installed")
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: run the cluster as the postgres user
        if shutil.which("runuser") is None or subprocess.run(["id", "postgres"], capture_output=True).returncode:
            pytest.skip("running as root without a 'postgres' user to own the test cluster")
        as_user = ["runuser", "-u", "postgres", "--"]
    folder = Path(tempfile.mkdtemp(prefix="emoclassify-pg-"))
    if as_user:
        shutil.chown(folder, "postgres", "postgres")
    port = free_port()
    data = folder / "data"
    subprocess.run([*as_user, initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "-N"],
                   check=True, capture_output=True)  # fmt: skip
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
    subprocess.run([*as_user, pg_ctl, "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "-t", "60",
                    "start"], check=True, capture_output=True)  # fmt: skip
    created: list[str] = []

    def database(name: str) -> str:
        import psycopg

        if name not in created and name != "postgres":
            with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            created.append(name)
        return f"postgresql+psycopg://postgres@127.0.0.1:{port}/{name}"

    try:
        yield database
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    return request.getfixturevalue("pg_server")(f"store_{request.node.name.split('[')[0][-40:]}".lower())


@pytest.fixture
def store(store_url):
    store = JobStore(store_url)
    yield store
    store.engine.dispose()


def job(job_id: str, owner: str = "alice", status: str = QUEUED, **values) -> Job:
    return Job(id=job_id, owner=owner, status=status, filename="a.mp4", input_name="in.mp4", options={"fps": 2},
               base_url="", worker="host:1", webhooks=[], **values)  # fmt: skip


def test_schema_is_at_the_newest_revision_and_opening_again_changes_nothing(store, store_url):
    with store.engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0002"
        columns = {c["name"] for c in inspect(connection).get_columns("jobs")}
    assert {"attempts", "heartbeat_at", "cancel_requested", "worker"} <= columns
    store.add(job("a"))
    again = JobStore(store_url)
    assert again.get("a").attempts == 0
    again.engine.dispose()


def test_stores_opening_at_once_migrate_once(store_url):
    errors: list[BaseException] = []

    def open_store():
        try:
            JobStore(store_url).engine.dispose()
        except BaseException as exc:  # collected: the assertion below shows it
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_get_is_scoped_to_the_owner_and_rows_round_trip(store):
    store.add(job("a", media={"kind": "video"}))
    assert store.get("a").options == {"fps": 2} and store.get("a").media == {"kind": "video"}
    assert store.get("a", "alice") is not None and store.get("a", "bob") is None and store.get("zz") is None
    assert store.get("a").created_at is not None


def test_transitions_are_atomic(store):
    store.add(job("a"))
    assert store.update("a", only_if=[QUEUED], status=RUNNING, attempts=Job.attempts + 1)
    assert not store.update("a", only_if=[QUEUED], status=CANCELLED)  # lost the race
    assert store.update("a", only_if=[RUNNING], cancel_requested=True)
    row = store.get("a")
    assert (row.status, row.attempts, row.cancel_requested) == (RUNNING, 1, True)
    assert not store.update("missing", status=RUNNING)


def test_paging_counting_and_expiry(store):
    now = utcnow()
    for index in range(5):
        store.add(job(f"j{index}", created_at=now + timedelta(seconds=index)))
    store.add(job("other", owner="bob"))
    store.update("j0", status=SUCCEEDED, finished_at=now - timedelta(days=9))
    store.update("j1", status=RUNNING)
    rows, total = store.page("alice", limit=2, offset=0)
    assert total == 5 and [r.id for r in rows] == ["j4", "j3"]
    rows, total = store.page("alice", limit=10, offset=0, status=RUNNING)
    assert (total, [r.id for r in rows]) == (1, ["j1"])
    assert store.count_active("alice") == 4 and store.count_active("bob") == 1
    assert {r.id for r in store.unfinished()} == {"j1", "j2", "j3", "j4", "other"}
    assert [r.id for r in store.finished_before(now - timedelta(days=7))] == ["j0"]
    store.delete("j0")
    assert store.get("j0") is None


def test_webhook_attempts_append(store):
    store.add(job("a"))
    store.append_webhook("a", {"status": 500})
    store.append_webhook("a", {"status": 200})
    assert store.get("a").webhooks == [{"status": 500}, {"status": 200}]
    store.ping()


def test_a_database_made_before_migrations_is_adopted(tmp_path):
    import sqlalchemy as sa

    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    engine = sa.create_engine(url)
    old = sa.MetaData()
    sa.Table("jobs", old, *(c._copy() for c in Job.__table__.columns if c.name not in ("attempts", "heartbeat_at")))
    old.create_all(engine)
    with engine.begin() as connection:
        connection.execute(sa.insert(old.tables["jobs"]).values(
            id="old", owner="alice", status=QUEUED, progress=0.0, filename="a.mp4", input_name="in.mp4", size=0,
            options={}, base_url="", webhooks=[], cancel_requested=False, worker="", created_at=utcnow()))  # fmt: skip
    store = JobStore(url)
    assert store.get("old").attempts == 0 and store.get("old").heartbeat_at is None


def test_the_api_job_tests_pass_on_postgresql(pg_server, tmp_path):
    """The whole API job suite with the store on PostgreSQL: one database per data folder (tests/pg_per_data_dir)."""
    server = pg_server("postgres").rpartition("/")[0]
    env = os.environ | {"EMOCLASSIFY_TEST_PG": server, "OMP_NUM_THREADS": "1"}
    env.pop("EMOCLASSIFY_DATABASE_URL", None)
    result = subprocess.run([sys.executable, "-m", "pytest", "tests/test_api_jobs.py", "-q", "-x", "-p",
                             "tests.pg_per_data_dir", "-p", "no:cacheprovider", "--basetemp", str(tmp_path / "run")],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:]
    assert " passed" in result.stdout and not list((tmp_path / "run").rglob("*.sqlite3"))  # the store was PostgreSQL
