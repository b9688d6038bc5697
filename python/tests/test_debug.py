"""Debuggers at worker start: debugpy and PyCharm, with 1.6.2's messages."""

import json
import os
import pathlib
import select
import socket
import subprocess
import sys
import textwrap
import types

import pytest

from hurricane.worker import debug
from hurricane.worker.config import Config

# debugpy.listen starts tracing and an adapter process: not in the test
# process. The child logs to stdout and keeps serving until stdin closes.
CHILD = textwrap.dedent("""
    import sys
    from hurricane.worker import debug, log
    from hurricane.worker.config import Config

    log.setup(1)
    debug.setup(Config.from_env({"HURRICANE_WORKER_SOCKET": "unused", "HURRICANE_WORKER_DEBUGGER_PORT": sys.argv[1]}))
    log.info("serving")
    sys.stdin.read()
""")


def config(**env):
    return Config.from_env({"HURRICANE_WORKER_SOCKET": "unused", **env})


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def child():
    """Start the child with a debugger port; returns its log records up to "serving"."""
    procs = []

    def start(port):
        env = dict(os.environ, PYTHONPATH=str(pathlib.Path(__file__).resolve().parents[1]))
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(port)],
            env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            bufsize=0,  # unbuffered, so select sees every line not yet read
        )
        procs.append(proc)
        records = []
        while not records or records[-1]["msg"] != "serving":
            ready, _, _ = select.select([proc.stdout], [], [], 30)
            assert ready, "the child did not start serving: %r" % records
            line = proc.stdout.readline()
            assert line, "the child exited: %r" % records
            records.append(json.loads(line))
        return records

    yield start
    for proc in procs:
        proc.stdin.close()
        proc.wait(10)
        proc.stdout.close()


def test_config_reads_the_debugger_environment():
    cfg = config(
        HURRICANE_WORKER_DEBUGGER_PORT="5679",
        HURRICANE_WORKER_PYCHARM_HOST="ide.local",
        HURRICANE_WORKER_PYCHARM_PORT="",
    )
    assert (cfg.debugger_port, cfg.pycharm_host, cfg.pycharm_port) == (5679, "ide.local", None)
    cfg = config()
    assert (cfg.debugger_port, cfg.pycharm_host, cfg.pycharm_port) == (None, "", None)


def test_debugpy_listens_for_clients(child):
    port = free_port()
    records = child(port)
    assert [r["msg"] for r in records] == ["Listening for debug clients at port %d" % port, "serving"]
    socket.create_connection(("127.0.0.1", port), timeout=5).close()


def test_debugger_port_in_use_is_a_warning(child):
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        records = child(port)
    assert records[0]["level"] == "warn"
    assert records[0]["msg"] == "Could not listen for debug clients at port %d" % port
    assert records[0]["port"] == port and records[0]["error"]
    assert records[-1]["msg"] == "serving"


def test_missing_debugpy_is_a_warning(monkeypatch, log_records):
    monkeypatch.setitem(sys.modules, "debugpy", None)
    debug.setup(config(HURRICANE_WORKER_DEBUGGER_PORT="5678"))
    assert [(r["level"], r["msg"]) for r in log_records()] == [(
        "warn",
        "Ignoring '--debugger' flag because module 'debugpy' was not found. "
        "Make sure to install 'hurricane-server' with the 'debug' option, "
        "e.g. 'pip install hurricane-server[debug]'.",
    )]


def test_pycharm_host_without_port_is_a_warning(log_records):
    debug.setup(config(HURRICANE_WORKER_PYCHARM_HOST="localhost"))
    assert [(r["level"], r["msg"]) for r in log_records()] == [(
        "warn",
        "No '--pycharm-port' was specified. The '--pycharm-host' option can "
        "only be used in combination with the '--pycharm-port' option. ",
    )]


def test_missing_pydevd_pycharm_is_a_warning(monkeypatch, log_records):
    monkeypatch.setitem(sys.modules, "pydevd_pycharm", None)
    debug.setup(config(HURRICANE_WORKER_PYCHARM_HOST="localhost", HURRICANE_WORKER_PYCHARM_PORT="5678"))
    assert [(r["level"], r["msg"]) for r in log_records()] == [(
        "warn",
        "Ignoring '--pycharm_host' option because module 'pydevd_pycharm' was not found. "
        "Make sure to install 'hurricane-server' with the 'pycharm' option, "
        "e.g. 'pip install hurricane-server[pycharm]'.",
    )]


def test_pycharm_not_listening_is_a_warning(monkeypatch, log_records):
    # pydevd-pycharm is not in the test environment: a stand-in that fails
    # the way settrace does when no IDE listens.
    calls = []

    def settrace(host, **kwargs):
        calls.append((host, kwargs))
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setitem(sys.modules, "pydevd_pycharm", types.SimpleNamespace(settrace=settrace))
    debug.setup(config(HURRICANE_WORKER_PYCHARM_HOST="localhost", HURRICANE_WORKER_PYCHARM_PORT="5678"))
    assert calls == [("localhost", {"port": 5678, "stdoutToServer": True, "stderrToServer": True, "suspend": False})]
    (record,) = log_records()
    assert (record["level"], record["msg"]) == ("warn", "Could not connect to localhost: 5678")
    assert "Connection refused" in record["error"]
