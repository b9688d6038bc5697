"""The worker's event loops: uvloop when it is installed (pip install
hurricane-server[uvloop]), asyncio's otherwise."""

import asyncio


def new_loop():
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()
