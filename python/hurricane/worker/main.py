"""Worker startup: import Django, connect to Go, serve until told to stop."""

import json
import os
import signal
import sys
import threading
import traceback

from . import log, protocol
from .config import Config

MIN_PYTHON = (3, 10)


class Worker:
    def __init__(self, cfg):
        self.cfg = cfg
        self.data = None
        self.async_app = None

    def stats(self):
        if self.data is None:
            return {"pending": 0, "active": 0, "threads": 0}
        return self.data.stats()

    def spill(self):
        if self.data is not None:
            self.data.spill()

    def lifespan(self, phase):
        if self.async_app is None:
            return None
        return self.async_app.call(self.async_app.lifespan(phase), timeout=30)


def _restore_glibc_tunables():
    """Go started this process with a glibc tunable of its own (see
    worker/region.go): glibc has read it, so processes a view starts get the
    user's GLIBC_TUNABLES back."""
    user = os.environ.pop("HURRICANE_WORKER_GLIBC_TUNABLES", None)
    if user is None:
        return
    if user:
        os.environ["GLIBC_TUNABLES"] = user
    else:
        os.environ.pop("GLIBC_TUNABLES", None)


def main():
    _restore_glibc_tunables()
    cfg = Config.from_env()
    if cfg.log_fd >= 0:
        log.setup(cfg.log_fd, cfg.log_level)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Go owns signals and shutdown
    # The control lane waits at most this long for the GIL while views run,
    # so probes answer within milliseconds. It only costs when threads
    # contend, and then latency matters more.
    sys.setswitchinterval(0.001)
    for i, entry in enumerate(cfg.pythonpath):
        sys.path.insert(1 + i, entry)
    if sys.version_info < MIN_PYTHON:
        _fatal(
            "python %d.%d is too old for hurricane" % sys.version_info[:2],
            "use Python %d.%d or newer: pass --python or set HURRICANE_PYTHON" % MIN_PYTHON,
        )
    _setup_django()
    _check_shadowing()
    if cfg.mode in ("serve", "consume"):
        from . import debug

        debug.setup(cfg)

    from .data import DataLane, connect
    from .control import ControlLane

    worker = Worker(cfg)
    control_sock = connect(cfg.socket)
    _handshake(control_sock, cfg, "control")
    ControlLane(control_sock, worker).start()
    if cfg.mode == "snapshot":
        threading.Event().wait()  # the control lane answers, then exits the process
    if cfg.mode == "consume":
        _consume(cfg, worker)

    from .sync import SyncApp
    from .asgi import AsyncApp

    sync_app = SyncApp(cfg.max_buffer)
    async_app = AsyncApp(cfg.async_limit)
    worker.async_app = async_app
    err = worker.lifespan("startup")
    if err:
        _fatal(err, "fix the application's lifespan startup handler")
    data_sock = connect(cfg.socket)
    from .region import BodyRegion

    region = BodyRegion.from_config(cfg.body_region)
    worker.data = DataLane(data_sock, sync_app, async_app, cfg.threads, region)
    _handshake(data_sock, cfg, "data")
    worker.data.run()
    os._exit(0)


def _consume(cfg, worker):
    """Run the AMQP handler on the messages Go consumes, until Go goes away."""
    from .consume import ConsumeLane, HandlerError, load_handler, new_handler
    from .data import connect

    try:
        cls = load_handler(cfg.handler)
    except HandlerError as exc:
        _fatal(exc.message, exc.hint)
    try:
        handler = new_handler(cls, cfg.amqp)
    except Exception as exc:
        _fatal_exc("handler %r could not be created" % cfg.handler, exc)
    data_sock = connect(cfg.socket)
    worker.data = ConsumeLane(data_sock, handler, cfg.threads)
    _handshake(data_sock, cfg, "data")
    worker.data.run()
    os._exit(0)


def _setup_django():
    try:
        import django
    except ImportError:
        _fatal(
            "django is not installed for %s" % sys.executable,
            "install Django into this interpreter (pip install Django), or point --python / HURRICANE_PYTHON at the project's virtualenv",
        )
    module = os.environ.get("DJANGO_SETTINGS_MODULE", "")
    try:
        django.setup()
    except ModuleNotFoundError as exc:
        if exc.name and module and (module == exc.name or module.startswith(exc.name + ".")):
            _fatal(
                "settings module %r could not be imported: %s" % (module, exc),
                "check --settings / DJANGO_SETTINGS_MODULE, run hurricane in the project directory, or add its location with --pythonpath",
            )
        _fatal_exc("django setup failed while importing %r" % module, exc)
    except Exception as exc:
        _fatal_exc("django setup failed with settings %r" % module, exc)


def _check_shadowing():
    import hurricane

    try:
        from importlib.metadata import distribution

        distribution("django-hurricane")
    except Exception:
        return
    log.warn(
        "django-hurricane is installed in this environment; it shares the import name 'hurricane'",
        hint="pip uninstall django-hurricane",
        package=os.path.dirname(hurricane.__file__),
    )


def _handshake(sock, cfg, lane):
    import django
    import hurricane

    hello = {
        "protocol": protocol.VERSION,
        "pid": os.getpid(),
        "slot": cfg.slot,
        "token": cfg.token,
        "lane": lane,
        "python": "%d.%d.%d" % sys.version_info[:3],
        "django": django.get_version(),
        "package": os.path.dirname(hurricane.__file__),
        "threads": cfg.threads,
        "async_limit": cfg.async_limit,
    }
    sock.sendall(protocol.json_frame(protocol.HELLO, 0, hello))
    # Read exactly the welcome frame: what follows belongs to the lane.
    length, ftype, _flags, _sid = protocol.HEADER.unpack(_recv_exact(sock, protocol.HEADER_SIZE))
    payload = _recv_exact(sock, length)
    answer = json.loads(payload) if ftype == protocol.WELCOME else {"error": "unexpected frame %d" % ftype}
    if answer.get("error"):
        _fatal("handshake refused: %s" % answer["error"], "use the hurricane binary that embeds this worker")


def _recv_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        data = sock.recv(n - len(buf))
        if not data:
            os._exit(0)  # Go went away during the handshake
        buf += data
    return bytes(buf)


def _fatal(msg, hint):
    log.fatal(msg, hint)
    os._exit(3)


def _fatal_exc(msg, exc):
    log.fatal(
        "%s: %s: %s" % (msg, type(exc).__name__, exc),
        "fix the error in the project's code or settings (the traceback is logged at debug level)",
        traceback=traceback.format_exc(),
    )
    os._exit(3)
