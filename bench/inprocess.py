"""Calls per second of Django's own WSGI handler, no server: the ceiling
for any server in front of the same Django (bench/run's in-process limit).

Usage: python inprocess.py [--post BYTES] PATH SECONDS, run in the project's
directory with DJANGO_SETTINGS_MODULE set. Builds Django's WSGI application
(what the project's wsgi.py hands gunicorn and granian), checks that PATH
(which may carry a query string) answers 200, then calls it in a loop on one
thread for SECONDS and prints the calls per second. A GET, or with --post a
POST of BYTES bytes ("x", application/octet-stream, as bench/run uploads).
"""
import io
import os
import sys
import time

CHECK_EVERY = 100  # calls between two looks at the clock


def environ(path, body):
    path, _, query = path.partition("?")
    return {
        "REQUEST_METHOD": "POST" if body else "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "CONTENT_TYPE": "application/octet-stream" if body else "",
        "CONTENT_LENGTH": str(len(body)) if body else "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }


def call(application, path, body):
    """One request, as a server does it: call, read the body, close."""
    status = []
    response = application(environ(path, body), lambda s, headers, exc_info=None: status.append(s))
    try:
        data = b"".join(response)
    finally:
        response.close()
    return status[0], data


def main(path, seconds, body=b""):
    sys.path.insert(0, os.getcwd())  # the project, as manage.py would have it
    from django.core.wsgi import get_wsgi_application

    application = get_wsgi_application()
    status, data = call(application, path, body)
    if not status.startswith("200"):
        sys.exit(f"{'POST' if body else 'GET'} {path} answered {status}: {data[:200]!r}")
    calls, start = 0, time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(CHECK_EVERY):
            call(application, path, body)
        calls += CHECK_EVERY
        now = time.perf_counter()
        if now >= deadline:
            break
    print(f"{calls / (now - start):.2f}")


if __name__ == "__main__":
    args = sys.argv[1:]
    body = b""
    if args[:1] == ["--post"] and len(args) > 1:
        body = b"x" * int(args[1])
        args = args[2:]
    if len(args) != 2:
        sys.exit(__doc__)
    main(args[0], float(args[1]), body)
