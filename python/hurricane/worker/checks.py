"""Health checks run for the probes and for ``hurricane check``.

They run on one thread of their own, so a slow check never holds up the
control lane's other answers (ping, statistics); Go bounds each with
``--check-timeout``.
"""

import traceback


def run_checks(tags=None, deploy=False, databases=None, fail_level="ERROR"):
    """Django's system checks, as ``manage.py check`` runs them.

    No registered check with one of the tags means nothing runs: that passes.
    """
    from django.core import checks

    level = getattr(checks, fail_level.upper(), checks.ERROR)
    messages = checks.run_checks(
        tags=tags or None,
        include_deployment_checks=deploy,
        databases=databases,
    )
    out = []
    failed = False
    silenced = 0
    for m in messages:
        if m.is_silenced():
            silenced += 1
            continue
        serious = m.level >= level
        failed = failed or serious
        out.append({
            "level": m.level,
            "level_tag": _level_tag(m.level),
            "id": m.id or "",
            "msg": m.msg,
            "obj": str(m.obj) if m.obj is not None else "?",
            "hint": m.hint,
            "text": str(m),
            "serious": serious,
        })
    return {"messages": out, "failed": failed, "silenced": silenced}


def _level_tag(level):
    from django.core import checks

    for name in ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"):
        if level >= getattr(checks, name):
            return name
    return "DEBUG"


def check_databases(aliases=None):
    """``SELECT 1`` on every configured database (or the given aliases).

    A broken connection (say, the server restarted) is closed and tried once
    more, so a database that is back is reported healthy at once.
    """
    from django.db import connections

    errors = {}
    for alias in aliases or list(connections):
        conn = connections[alias]
        for attempt in (1, 2):
            try:
                with conn.cursor() as cursor:
                    cursor.execute("SELECT 1")
                    cursor.fetchone()
                errors.pop(alias, None)
                break
            except Exception as exc:
                errors[alias] = "%s: %s" % (type(exc).__name__, str(exc).strip())
                try:
                    conn.close()
                except Exception:
                    pass
    return {"errors": errors}


def probe(worker, tag, databases=False, aliases=None):
    """What a liveness or readiness probe needs from one worker, in one
    answer: the tagged checks (deployment checks included), optionally
    SELECT 1 on the databases, and the worker's statistics."""
    result = {"checks": run_checks(tags=[tag], deploy=True)}
    if databases:
        result["db_errors"] = check_databases(aliases)["errors"]
    result["stats"] = worker.stats()
    return result


def pending_migrations(close=True):
    """The number of unapplied migrations over every database."""
    from django.db import connections
    from django.db.migrations.executor import MigrationExecutor

    total = 0
    for alias in connections:
        conn = connections[alias]
        conn.prepare_database()
        executor = MigrationExecutor(conn)
        total += len(executor.migration_plan(executor.loader.graph.leaf_nodes()))
        if close:
            conn.close()
    return {"pending": total}


def describe_exception(exc):
    """An error answer: kind "database" when the database is unreachable."""
    from django.db import InterfaceError, OperationalError

    kind = "database" if isinstance(exc, (OperationalError, InterfaceError)) else "error"
    return {"error": "%s: %s" % (type(exc).__name__, exc), "kind": kind, "traceback": traceback.format_exc()}
