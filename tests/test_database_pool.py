"""PostgreSQL connections under ASGI come from psycopg's pool (config/settings.py)."""

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import connection

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@database_sync_to_async
def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


@pytest.mark.asyncio
async def test_database_calls_from_consumers_reuse_pooled_connections():
    # Each call closes its connection when it ends (CONN_MAX_AGE is 0 under a pool):
    # without the pool, every call would be a new PostgreSQL backend.
    size = settings.DATABASES["default"]["OPTIONS"]["pool"]["max_size"]
    pids = [await backend_pid() for _ in range(2 * size + 1)]
    assert connection.pool is not None
    # The pool hands its idle connections out in turn: never more backends than it
    # holds (earlier tests may have filled it), where unpooled every call is a new one.
    assert len(set(pids)) <= size, pids
