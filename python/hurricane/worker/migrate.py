"""``--check-migrations-apply``: apply migrations under a PostgreSQL advisory
lock, so replicas starting at once never migrate concurrently.

Run as ``python -m hurricane.worker.migrate`` with the project's settings.
On other databases the lock is skipped (SQLite has one writer anyway).
"""

import sys

# An arbitrary, fixed 64-bit key: "hurrican" in ASCII.
LOCK_KEY = 0x6875727269636E61


def main():
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from .checks import pending_migrations

    locked = connection.vendor == "postgresql"
    if locked:
        with connection.cursor() as cursor:
            print("waiting for the migration lock", file=sys.stderr, flush=True)
            cursor.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY - (1 << 64) if LOCK_KEY >= 1 << 63 else LOCK_KEY])
    try:
        pending = pending_migrations(close=False)["pending"]  # closing would drop the lock
        if pending:
            print("applying %d migrations" % pending, file=sys.stderr, flush=True)
            call_command("migrate", interactive=False)
        else:
            print("no pending migrations", file=sys.stderr, flush=True)
    finally:
        if locked:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock_all()")


if __name__ == "__main__":
    main()
