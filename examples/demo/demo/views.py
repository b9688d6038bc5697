"""Demo views exercising the request/response features a Django server has to get right."""
import asyncio
import hashlib
import os
import sys
import tempfile
import time

from django.http import (
    FileResponse,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseNotModified,
    HttpResponseRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .models import Item

READ_CHUNK = 65536
UPLOAD_CHUNK = 1 << 20
MIB = 1 << 20
KIB = 1 << 10


class _BadParam(ValueError):
    pass


def _int_param(request, name, default):
    raw = request.GET.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _BadParam(f"{name} must be an integer") from None
    if value < 0:
        raise _BadParam(f"{name} must be >= 0")
    return value


def _params(request, **defaults):
    """Parse non-negative integer query parameters; returns (values, error_response)."""
    try:
        return {k: _int_param(request, k, v) for k, v in defaults.items()}, None
    except _BadParam as exc:
        return None, HttpResponseBadRequest(str(exc), content_type="text/plain")


INDEX_HTML = """<!doctype html>
<html>
<head><meta charset="utf-8"><title>Hurricane demo</title></head>
<body>
<h1>Hurricane demo</h1>
<ul>
  <li><a href="/hello">/hello</a> &ndash; sync plain text</li>
  <li><a href="/ahello">/ahello</a> &ndash; async plain text</li>
  <li><a href="/items">/items</a> &ndash; JSON of 20 rows read from the database</li>
  <li><a href="/echo?a=1&amp;a=2">/echo</a> &ndash; echo request details (any method)</li>
  <li><a href="/aecho?a=1">/aecho</a> &ndash; async echo</li>
  <li>/upload &ndash; POST a raw body, streamed to disk and hashed</li>
  <li>/upload-form &ndash; POST multipart/form-data, files hashed</li>
  <li><a href="/sleep?ms=400">/sleep?ms=400</a> &ndash; sync sleep</li>
  <li><a href="/asleep?ms=400">/asleep?ms=400</a> &ndash; async sleep</li>
  <li><a href="/stream?chunks=5&amp;delay_ms=300">/stream</a> &ndash; sync streaming response</li>
  <li><a href="/astream?chunks=5&amp;delay_ms=300">/astream</a> &ndash; async streaming response</li>
  <li><a href="/download?mb=16">/download?mb=16</a> &ndash; large streamed download</li>
  <li><a href="/file?kb=3072">/file?kb=3072</a> &ndash; FileResponse</li>
  <li><a href="/error">/error</a> &ndash; unhandled exception (500)</li>
  <li><a href="/redirect">/redirect</a> &ndash; 302 to /hello</li>
  <li><a href="/cookies">/cookies</a> &ndash; sets three cookies</li>
  <li><a href="/nocontent">/nocontent</a> &ndash; 204</li>
  <li><a href="/notmodified">/notmodified</a> &ndash; 304</li>
  <li><a href="/print">/print</a> &ndash; writes to stdout and stderr</li>
  <li><a href="/admin/">/admin/</a> &ndash; Django admin</li>
</ul>
</body>
</html>
"""


def index(request):
    return HttpResponse(INDEX_HTML, content_type="text/html; charset=utf-8")


def hello(request):
    return HttpResponse("Hello world!", content_type="text/plain")


async def ahello(request):
    return HttpResponse("Hello world!", content_type="text/plain")


ITEM_FIELDS = ("id", "name", "description", "price_cents", "created")


def items(request):
    params, error = _params(request, limit=20)
    if error:
        return error
    rows = list(Item.objects.values(*ITEM_FIELDS)[: params["limit"]])
    return JsonResponse({"count": len(rows), "items": rows})


def _echo_payload(request):
    digest = hashlib.sha256()
    body_len = 0
    while True:
        chunk = request.read(READ_CHUNK)
        if not chunk:
            break
        body_len += len(chunk)
        digest.update(chunk)

    headers = []
    for key, value in request.META.items():
        if key.startswith("HTTP_") or key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            headers.append([key, str(value)])
    headers.sort()

    return {
        "method": request.method,
        "path": request.path,
        "path_info": request.path_info,
        "full_path": request.get_full_path(),
        "query": {k: v for k, v in request.GET.lists()},
        "headers": headers,
        "remote_addr": request.META.get("REMOTE_ADDR"),
        "server_name": request.META.get("SERVER_NAME"),
        "server_port": request.META.get("SERVER_PORT"),
        "scheme": request.scheme,
        "is_secure": request.is_secure(),
        "body_len": body_len,
        "body_sha256": digest.hexdigest(),
    }


@csrf_exempt
def echo(request, rest=None):
    return JsonResponse(_echo_payload(request))


async def aecho(request, rest=None):
    # Django's ASGI handler has already buffered the body (in a spooled
    # temporary file), so request.read() does not block on the network here.
    return JsonResponse(_echo_payload(request))


# Set the flag directly rather than using @csrf_exempt: on Django 4.2 that
# decorator wraps the view in a sync function, which breaks async views.
aecho.csrf_exempt = True


@csrf_exempt
@require_POST
def upload(request):
    digest = hashlib.sha256()
    size = 0
    with tempfile.NamedTemporaryFile(prefix="demo-upload-", delete=True) as tmp:
        while True:
            chunk = request.read(UPLOAD_CHUNK)
            if not chunk:
                break
            tmp.write(chunk)
            digest.update(chunk)
            size += len(chunk)
        tmp.flush()
    return JsonResponse({"size": size, "sha256": digest.hexdigest()})


@csrf_exempt
@require_POST
def upload_form(request):
    files = {}
    for field, uploaded in request.FILES.items():
        digest = hashlib.sha256()
        size = 0
        for chunk in uploaded.chunks():
            digest.update(chunk)
            size += len(chunk)
        files[field] = {"name": uploaded.name, "size": size, "sha256": digest.hexdigest()}
    fields = {name: value for name, value in request.POST.items()}
    return JsonResponse({"files": files, "fields": fields})


def sleep(request):
    params, error = _params(request, ms=400)
    if error:
        return error
    ms = params["ms"]
    time.sleep(ms / 1000)
    return HttpResponse(f"slept {ms}", content_type="text/plain")


async def asleep(request):
    params, error = _params(request, ms=400)
    if error:
        return error
    ms = params["ms"]
    await asyncio.sleep(ms / 1000)
    return HttpResponse(f"slept {ms}", content_type="text/plain")


def stream(request):
    params, error = _params(request, chunks=5, delay_ms=300)
    if error:
        return error
    chunks, delay = params["chunks"], params["delay_ms"] / 1000

    def generate():
        for i in range(chunks):
            if i:
                time.sleep(delay)
            yield f"chunk {i}\n".encode()

    return StreamingHttpResponse(generate(), content_type="text/plain")


async def astream(request):
    params, error = _params(request, chunks=5, delay_ms=300)
    if error:
        return error
    chunks, delay = params["chunks"], params["delay_ms"] / 1000

    async def generate():
        for i in range(chunks):
            if i:
                await asyncio.sleep(delay)
            yield f"chunk {i}\n".encode()

    return StreamingHttpResponse(generate(), content_type="text/plain")


_MIB_BLOCK = b"x" * MIB


def _download_block(i):
    """MiB i of /download: "x" for the first, then a letter from "a" to "w"
    by position, so a block out of place shows."""
    return _MIB_BLOCK if i == 0 else bytes([ord("a") + (i - 1) % 23]) * MIB


def download(request):
    params, error = _params(request, mb=1024)
    if error:
        return error
    mb = params["mb"]

    def generate():
        for i in range(mb):
            yield _download_block(i)

    response = StreamingHttpResponse(generate(), content_type="application/octet-stream")
    response["Content-Length"] = str(mb * MIB)
    return response


_PATTERN_BLOCK = bytes(range(256)) * (MIB // 256)  # 1 MiB, a multiple of 256


def _ensure_demo_file(kb):
    path = os.path.join(tempfile.gettempdir(), f"demo-file-{kb}.bin")
    if os.path.exists(path) and os.path.getsize(path) == kb * KIB:
        return path
    fd, tmp_path = tempfile.mkstemp(prefix=f".demo-file-{kb}-", suffix=".tmp", dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, "wb") as fh:
            remaining = kb * KIB
            while remaining:
                n = min(remaining, len(_PATTERN_BLOCK))
                fh.write(_PATTERN_BLOCK[:n])
                remaining -= n
        os.replace(tmp_path, path)
    except BaseException:
        try:
            os.unlink(tmp_path)
        except OSError:
            pass
        raise
    return path


def file(request):
    params, error = _params(request, kb=3072)
    if error:
        return error
    path = _ensure_demo_file(params["kb"])
    return FileResponse(open(path, "rb"), content_type="application/octet-stream")


def error(request):
    raise RuntimeError("boom: secret-traceback-marker")


def redirect(request):
    return HttpResponseRedirect("/hello")


def cookies(request):
    response = HttpResponse("cookies", content_type="text/plain")
    response.set_cookie("a", "1")
    response.set_cookie("b", "2")
    response.set_cookie("c", "3")
    return response


def nocontent(request):
    return HttpResponse(status=204)


def notmodified(request):
    return HttpResponseNotModified()


def print_view(request):
    print("hello from stdout", flush=True)
    print("hello from stderr", file=sys.stderr, flush=True)
    return HttpResponse("printed", content_type="text/plain")
