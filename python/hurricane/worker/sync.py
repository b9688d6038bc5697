"""Sync views: Django's synchronous (WSGI) handler, called in-process.

The response is iterated on the view's thread chunk by chunk, so a sync
``StreamingHttpResponse`` or ``FileResponse`` streams with bounded memory,
which Django's ASGI handler would not do (it consumes sync iterators whole).
"""

import sys
import tempfile
import traceback

from . import log, protocol, routes
from .stream import BodyInput, Disconnected

FILE_BLOCK = 256 * 1024
_ASYNC_CACHE_LIMIT = 4096

_pack_start = protocol.encode_response_start
_body_frame = protocol.response_body


class FileWrapper:
    """wsgi.file_wrapper: reads files in large blocks, whatever Django asks."""

    def __init__(self, filelike, block_size=FILE_BLOCK):
        self.filelike = filelike
        self.block_size = max(block_size, FILE_BLOCK)

    def __iter__(self):
        read = self.filelike.read
        size = self.block_size
        while True:
            data = read(size)
            if not data:
                return
            yield data

    def close(self):
        close = getattr(self.filelike, "close", None)
        if close is not None:
            close()


class SyncApp:
    def __init__(self, max_buffer):
        from django.http import HttpResponse
        from django.urls import get_resolver
        from asgiref.sync import iscoroutinefunction

        self.handler = routes.wsgi_handler_class()()
        self.plain_response = HttpResponse
        self.resolver = get_resolver
        self.iscoroutinefunction = iscoroutinefunction
        self.max_buffer = max_buffer
        self.async_cache = {}
        self.header_keys = {}

    def view_is_async(self, path):
        """Whether the view for this path is async, cached per path."""
        cached = self.async_cache.get(path)
        if cached is not None:
            return cached
        try:
            func = self.resolver().resolve(path.decode("utf-8", "replace")).func
            result = bool(self.iscoroutinefunction(func))
        except Exception:  # Resolver404 and anything a custom resolver raises
            result = False
        if len(self.async_cache) >= _ASYNC_CACHE_LIMIT:
            self.async_cache.clear()
        self.async_cache[path] = result
        return result

    def environ(self, st):
        req = st.req
        env = {
            "REQUEST_METHOD": req.method,
            "SCRIPT_NAME": req.root_path.decode("latin-1"),
            "PATH_INFO": req.path.decode("latin-1"),
            "QUERY_STRING": req.query_string.decode("latin-1"),
            "SERVER_PROTOCOL": "HTTP/" + req.http_version,
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": req.scheme,
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            "wsgi.file_wrapper": FileWrapper,
        }
        if req.server:
            env["SERVER_NAME"], port = req.server
            env["SERVER_PORT"] = str(port)
        else:
            env["SERVER_NAME"], env["SERVER_PORT"] = "localhost", "80"
        if req.client:
            env["REMOTE_ADDR"], port = req.client
            env["REMOTE_PORT"] = str(port)
        keys = self.header_keys
        for name, value in req.headers:
            key = keys.get(name)
            if key is None:
                key = _environ_key(name)
                if len(keys) < 1024:
                    keys[name] = key
            if not key:
                continue
            value = value.decode("latin-1")
            if key in env:
                env[key] += "," + value
            else:
                env[key] = value
        if st.more:
            if "CONTENT_LENGTH" in env:
                env["wsgi.input"] = BodyInput(st, req.body)
            else:
                env["wsgi.input"] = self._spool(st, env)
        else:
            env["wsgi.input"] = BodyInput(st, req.body)
            if "CONTENT_LENGTH" not in env and req.body:
                env["CONTENT_LENGTH"] = str(len(req.body))
        return env

    def _spool(self, st, env):
        """A body of unknown length (chunked): Django's WSGI request needs
        CONTENT_LENGTH, so spool it first (in memory up to --max-buffer-size,
        then on disk) and pass the length on."""
        spool = tempfile.SpooledTemporaryFile(max_size=self.max_buffer)
        reader = BodyInput(st, st.req.body)
        size = 0
        while True:
            chunk = reader.read(FILE_BLOCK)
            if not chunk:
                break
            spool.write(chunk)
            size += len(chunk)
        spool.seek(0)
        env["CONTENT_LENGTH"] = str(size)
        return spool

    def run(self, st, batched):
        """Serve one request. batched: the leader may defer small responses
        to its next batched write."""
        lane = st.lane
        started = []

        def start_response(status, headers, exc_info=None):
            started[:] = [status, headers]

        env = self.environ(st)
        try:
            response = self.handler(env, start_response)
        except Exception:
            log.error("request failed in the worker", traceback=traceback.format_exc())
            _send(lane, _pack_start(st.sid, 500, [(b"content-type", b"text/plain; charset=utf-8")], b"Internal Server Error"), batched)
            return
        try:
            status = int(started[0][:3])
            headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in started[1]]
            route = env.get(routes.ROUTE_KEY)
            if type(response) is self.plain_response or (
                isinstance(response, self.plain_response) and not response.streaming
            ):
                _send(lane, _pack_start(st.sid, status, headers, response.content, False, route), batched)
                return
            self._stream(st, status, headers, response, route, batched)
        except Disconnected:
            pass
        except Exception:
            log.error("response failed in the worker", traceback=traceback.format_exc())
            lane.send_now(protocol.frame(protocol.RESPONSE_ABORT, st.sid, b"response failed"))
        finally:
            try:
                response.close()
            except Exception:
                log.error("closing the response failed", traceback=traceback.format_exc())

    def _stream(self, st, status, headers, response, route, batched):
        """Send a streaming response chunk by chunk. On the leader (batched)
        the start goes out with the first chunk's write, as WSGI servers
        send headers with the first non-empty chunk, and the end with the
        batch: one write per response whose chunks are ready at once."""
        lane = st.lane
        _send(lane, _pack_start(st.sid, status, headers, b"", True, route), batched)
        sid = st.sid
        for chunk in response:
            if not chunk:
                continue
            if isinstance(chunk, str):
                chunk = chunk.encode()
            st.take_credit(len(chunk))
            lane.send_body(sid, chunk, True, wait=True)
        if not st.disconnected:
            _send(lane, _body_frame(sid, b"", False), batched)


def _send(lane, data, batched):
    if batched:
        lane.defer(data)
    else:
        lane.send_now(data)


def _environ_key(name):
    """The WSGI environ key for a lower-case header name, or "" to drop it.

    Names with underscores are dropped, as Django's runserver does, so a
    client cannot spoof a header a proxy sets with dashes.
    """
    text = name.decode("latin-1")
    if "_" in text:
        return ""
    key = text.upper().replace("-", "_")
    if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        return key
    return "HTTP_" + key
