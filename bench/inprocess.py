"""Calls per second of Django's own WSGI handler, no server: the ceiling
for any server in front of the same Django (bench/run's in-process limit).

Usage: python inprocess.py PATH SECONDS, run in the project's directory with
DJANGO_SETTINGS_MODULE set. Builds Django's WSGI application (what the
project's wsgi.py hands gunicorn and granian), checks that GET PATH answers 200, then calls it
in a loop on one thread for SECONDS and prints the calls per second.
"""
import io
import os
import sys
import time

CHECK_EVERY = 100  # calls between two looks at the clock


def environ(path):
    return {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }


def call(application, path):
    """One request, as a server does it: call, read the body, close."""
    status = []
    body = application(environ(path), lambda s, headers, exc_info=None: status.append(s))
    try:
        data = b"".join(body)
    finally:
        body.close()
    return status[0], data


def main(path, seconds):
    sys.path.insert(0, os.getcwd())  # the project, as manage.py would have it
    from django.core.wsgi import get_wsgi_application

    application = get_wsgi_application()
    status, data = call(application, path)
    if not status.startswith("200"):
        sys.exit(f"GET {path} answered {status}: {data[:200]!r}")
    calls, start = 0, time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(CHECK_EVERY):
            call(application, path)
        calls += CHECK_EVERY
        now = time.perf_counter()
        if now >= deadline:
            break
    print(f"{calls / (now - start):.2f}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], float(sys.argv[2]))
