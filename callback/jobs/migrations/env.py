"""Alembic environment: the connection given by :func:`callback.jobs.migrations.upgrade`, or (``alembic`` CLI)
the store URL of the API settings (``EMOCLASSIFY_DATABASE_URL`` / ``EMOCLASSIFY_DATA_DIR``)."""

from alembic import context

from callback.jobs.models import Base


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=connection.dialect.name == "sqlite")  # fmt: skip
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    from callback.config import load_config
    from callback.jobs.store import make_engine

    url = context.config.get_main_option("sqlalchemy.url") or load_config().store_url
    with make_engine(url).begin() as new_connection:
        _run(new_connection)
