"""Analysis jobs: the store (SQLAlchemy), the runners that execute them, their execution and webhook delivery."""
