"""Health checks run for the probes and for ``hurricane check``.

They run on one thread of their own, so a slow check never holds up the
control lane's other answers (ping, statistics); Go bounds each with
``--check-timeout``.
"""

import queue
import threading
import traceback


class UnknownTag(Exception):
    """A check tag no registered check has (a likely typo)."""


def run_checks(tags=None, deploy=False, databases=None, fail_level="ERROR", validate_tags=False):
    """Django's system checks, as ``manage.py check`` runs them.

    No registered check with one of the tags means nothing runs: that passes.
    """
    from django.core import checks
    from django.core.checks.registry import registry

    level = getattr(checks, fail_level.upper(), checks.ERROR)
    if validate_tags and tags:
        unknown = [t for t in tags if t not in registry.tags_available(deploy)]
        if unknown:
            raise UnknownTag("There is no system check with the %r tag." % unknown[0])
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


class DatabaseChecker:
    """Runs ``SELECT 1`` on a long-lived thread of its own, with a deadline.

    A database that accepts connections but never answers must read as
    "database error", not as a hung worker: the caller gets an answer when
    the deadline passes, and while a check is still stuck the next one
    reports that at once instead of queueing behind it. The thread keeps its
    connections open between checks (they are closed when one fails).
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = queue.SimpleQueue()
        self.pending = None  # (done Event, result dict) of the running check
        self.thread = None

    def _run(self):
        while True:
            aliases, done, result = self.requests.get()
            try:
                result["errors"] = _select_one(aliases)
            except Exception as exc:  # settings that do not even name a database
                result["errors"] = {"default": "%s: %s" % (type(exc).__name__, exc)}
            finally:
                done.set()

    def check(self, aliases=None, timeout=None):
        timeout = timeout or 5.0
        with self.lock:
            if self.pending is not None and not self.pending[0].is_set():
                return {"errors": {a: "the previous check is still waiting for the database" for a in _aliases(aliases)}}
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="hurricane-db-check", daemon=True)
                self.thread.start()
            done, result = threading.Event(), {}
            self.pending = (done, result)
            self.requests.put((aliases, done, result))
        if not done.wait(timeout):
            return {"errors": {a: "no answer within %.1fs" % timeout for a in _aliases(aliases)}}
        return {"errors": result.get("errors", {})}


def _aliases(aliases):
    from django.db import connections

    return [
        a for a in (aliases or list(connections))
        if connections.settings[a].get("ENGINE") != "django.db.backends.dummy"
    ]


def _select_one(aliases):
    """SELECT 1 on every configured database (or the given aliases).

    A broken connection (say, the server restarted) is closed and tried once
    more, so a database that is back reads as healthy at once.
    """
    from django.db import connections

    errors = {}
    for alias in _aliases(aliases):
        conn = connections[alias]
        for _attempt in (1, 2):
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
    return errors


_databases = DatabaseChecker()


def check_databases(aliases=None, timeout=None):
    return _databases.check(aliases, timeout)


def probe(worker, tag, databases=False, aliases=None, timeout=None):
    """What a liveness or readiness probe needs from one worker, in one
    answer: the tagged checks (deployment checks included), optionally
    SELECT 1 on the databases, and the worker's statistics."""
    result = {"checks": run_checks(tags=[tag], deploy=True)}
    if databases:
        result["db_errors"] = check_databases(aliases, timeout)["errors"]
    result["stats"] = worker.stats()
    return result


def pending_migrations(close=True):
    """The number of unapplied migrations over every database."""
    from django.db import connections
    from django.db.migrations.executor import MigrationExecutor

    total = 0
    for alias in _aliases(None):
        conn = connections[alias]
        conn.prepare_database()
        executor = MigrationExecutor(conn)
        total += len(executor.migration_plan(executor.loader.graph.leaf_nodes()))
        if close:
            conn.close()
    return {"pending": total}


def find_static(path):
    """Where Django's staticfiles finders find a static file (DEBUG=True, as
    runserver serves them), or None."""
    from django.contrib.staticfiles import finders

    found = finders.find(path)
    if isinstance(found, (list, tuple)):
        found = found[0] if found else None
    return {"path": str(found) if found else None}


def describe_exception(exc):
    """An error answer: kind "database" when the database is unreachable."""
    from django.db import InterfaceError, OperationalError

    kind = "database" if isinstance(exc, (OperationalError, InterfaceError)) else "error"
    return {"error": "%s: %s" % (type(exc).__name__, exc), "kind": kind, "traceback": traceback.format_exc()}
