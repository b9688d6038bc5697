"""What Go tells a worker at start, through its environment."""

import json
import os
from dataclasses import dataclass, field


@dataclass
class Config:
    socket: str
    slot: int
    token: str
    mode: str  # "serve", "snapshot" or "consume"
    threads: int  # in consume mode: messages at once (the prefetch)
    async_limit: int
    max_buffer: int
    log_fd: int
    log_level: str  # the least level Go logs: debug, info, warn, error
    pythonpath: list
    # Debuggers (--debugger, --pycharm-host/--pycharm-port); None when off.
    debugger_port: int | None = None
    pycharm_host: str = ""
    pycharm_port: int | None = None
    # Consume mode: the handler's dotted path and the broker settings
    # (queue, exchange, host, port, vhost, username, password; null when unset).
    handler: str = ""
    amqp: dict = field(default_factory=dict)
    # The shared body region Go mapped: "fd:slots:slot size", "" for none.
    body_region: str = ""

    @classmethod
    def from_env(cls, env=os.environ):
        return cls(
            socket=env["HURRICANE_WORKER_SOCKET"],
            slot=int(env.get("HURRICANE_WORKER_SLOT", "0")),
            token=env.get("HURRICANE_WORKER_TOKEN", ""),
            mode=env.get("HURRICANE_WORKER_MODE", "serve"),
            threads=int(env.get("HURRICANE_WORKER_THREADS", "8")),
            async_limit=int(env.get("HURRICANE_WORKER_ASYNC_LIMIT", "1000")),
            max_buffer=int(env.get("HURRICANE_WORKER_MAX_BUFFER", str(100 << 20))),
            log_fd=int(env.get("HURRICANE_WORKER_LOG_FD", "-1")),
            log_level=env.get("HURRICANE_WORKER_LOG_LEVEL", "debug"),
            pythonpath=[p for p in env.get("HURRICANE_WORKER_PYTHONPATH", "").split(os.pathsep) if p],
            debugger_port=_port(env.get("HURRICANE_WORKER_DEBUGGER_PORT")),
            pycharm_host=env.get("HURRICANE_WORKER_PYCHARM_HOST", ""),
            pycharm_port=_port(env.get("HURRICANE_WORKER_PYCHARM_PORT")),
            handler=env.get("HURRICANE_WORKER_HANDLER", ""),
            amqp=json.loads(env.get("HURRICANE_WORKER_AMQP") or "{}"),
            body_region=env.get("HURRICANE_WORKER_BODY_REGION", ""),
        )


def _port(value):
    return int(value) if value else None
