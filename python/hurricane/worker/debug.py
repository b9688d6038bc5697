"""Debuggers attached at worker start: debugpy and PyCharm's pydevd.

Both are optional extras; a missing module, a port in use or an IDE that is
not listening is logged and the worker serves on. The messages are those of
django-hurricane 1.6.2.
"""

from . import log


def setup(cfg):
    if cfg.debugger_port is not None:
        _debugpy(cfg.debugger_port)
    if cfg.pycharm_host:
        _pycharm(cfg.pycharm_host, cfg.pycharm_port)


def _debugpy(port):
    try:
        import debugpy
    except ImportError:
        log.warn(
            "Ignoring '--debugger' flag because module 'debugpy' was not found. "
            "Make sure to install 'hurricane-server' with the 'debug' option, "
            "e.g. 'pip install hurricane-server[debug]'."
        )
        return
    try:
        debugpy.listen(("0.0.0.0", port))
    except Exception as exc:
        log.warn("Could not listen for debug clients at port %d" % port, port=port, error=str(exc))
        return
    log.info("Listening for debug clients at port %d" % port, port=port)


def _pycharm(host, port):
    if not port:
        log.warn(
            "No '--pycharm-port' was specified. The '--pycharm-host' option can "
            "only be used in combination with the '--pycharm-port' option. "
        )
        return
    try:
        import pydevd_pycharm
    except ImportError:
        log.warn(
            "Ignoring '--pycharm_host' option because module 'pydevd_pycharm' was not found. "
            "Make sure to install 'hurricane-server' with the 'pycharm' option, "
            "e.g. 'pip install hurricane-server[pycharm]'."
        )
        return
    try:
        pydevd_pycharm.settrace(host, port=port, stdoutToServer=True, stderrToServer=True, suspend=False)
    except Exception as exc:
        log.warn("Could not connect to %s: %s" % (host, port), host=host, port=port, error=str(exc))
        return
    log.info("Connected to debug server at %s:%s" % (host, port), host=host, port=port)
