"""Django's pages on a fixed pool of threads inside each daphne process: the process
model for HTTP (docs/deploy.md, "How a process serves pages"). WebSockets never come
here; they stay with Channels on daphne's event loop.

Django's own ASGI handler gives every request a new thread (asgiref's
ThreadSensitiveContext, one per request) and, because the site's middleware is
synchronous, crosses between that thread and the event loop three times per request
(the middleware chain in the thread, the URL resolution back on the loop, the view in
the thread again). Profiled under daphne, about a third of a light request's CPU went
to those hand-offs, and the thread being new each time meant a new SQLite connection
per request too (docs/benchmarks.md, "Pages under load").

Here a request crosses once: its body is read on the loop, then the whole of Django
(middleware, view, template) runs in one call of Django's WSGI handler on one of a
fixed number of long-lived threads, as a threaded WSGI server would run it, and the
response goes back to daphne. The threads keep their database connections (SQLite
with CONN_MAX_AGE; PostgreSQL's pool hands connections back as before). The pool is
as large as the admission layer's slots (frontend/admission.py), which decide how many
requests run at once, so a request never waits for a thread. asgiref's `sync_to_async`
runs the call, which tells the thread which event loop it came from: `async_to_sync`
inside a view (the live-round host pages publishing to the channel layer, /healthz's
round trip) still runs on daphne's loop, where the relay and the in-memory channel
layer live.
"""

from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler

from frontend.admission import Receive, Scope, Send


class RequestAbortedError(Exception):
    """The client went away before its request body arrived."""


def wsgi_environ(scope: Scope, body: Any) -> dict[str, Any]:
    """The WSGI environ of an ASGI HTTP request, with the same META Django's ASGI
    request builds (django.core.handlers.asgi.ASGIRequest): headers with an underscore
    in their name dropped (no spoofing HTTP_X_FORWARDED… through x_forwarded…), repeated
    headers joined with commas, the client's address from daphne (which took it from
    X-Forwarded-For with --proxy-headers)."""
    # WSGI carries the path as latin-1 code points of its UTF-8 bytes.
    path = scope["path"].encode("utf-8").decode("latin-1")
    root = scope.get("root_path", "").encode("utf-8").decode("latin-1")
    if root and path.startswith(root):
        path = path[len(root) :]
    server = scope.get("server") or ("unknown", 0)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"].upper(),
        "SCRIPT_NAME": root,
        "PATH_INFO": path,
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": server[0],
        "SERVER_PORT": str(server[1]),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": body,
        "wsgi.errors": _Errors(),
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if scope.get("client"):
        environ["REMOTE_ADDR"] = scope["client"][0]
        environ["REMOTE_HOST"] = scope["client"][0]
        environ["REMOTE_PORT"] = str(scope["client"][1])
    headers: dict[str, list[str]] = {}
    for raw_name, raw_value in scope.get("headers", ()):
        name = raw_name.decode("latin-1").lower()
        if "_" in name:
            continue
        if name == "content-length":
            key = "CONTENT_LENGTH"
        elif name == "content-type":
            key = "CONTENT_TYPE"
        else:
            key = "HTTP_" + name.upper().replace("-", "_")
        headers.setdefault(key, []).append(raw_value.decode("latin-1"))
    environ.update({key: ",".join(values) for key, values in headers.items()})
    return environ


class _Errors:
    """wsgi.errors: Django logs through `logging`, not here; anything written is dropped."""

    def write(self, text: str) -> None:
        pass

    def flush(self) -> None:
        pass


class ThreadedDjango:
    """An ASGI application for HTTP: Django's WSGI handler on `threads` long-lived threads."""

    def __init__(self, threads: int) -> None:
        self.handler = WSGIHandler()
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="django-http")
        self._call = sync_to_async(self._respond, thread_sensitive=False, executor=self.pool)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            raise ValueError(f"ThreadedDjango serves HTTP only, not {scope['type']!r}")
        try:
            body = await _read_body(receive)
        except RequestAbortedError:
            return
        status, headers, content = await self._call(wsgi_environ(scope, body))
        if scope["method"] == "HEAD":
            content = b""
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    def _respond(self, environ: dict[str, Any]) -> tuple[int, list, bytes]:
        """Django's whole request in this thread: the status, the headers and the body.
        Closing the response (request_finished) hands the database connection back."""
        started: list = []

        def start_response(status: str, headers: list, exc_info: Any = None) -> None:
            started[:] = [status, headers]

        try:
            result = self.handler(environ, start_response)
            try:
                content = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        finally:
            environ["wsgi.input"].close()
        status, header_list = started
        headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in header_list]
        if not any(name == b"content-length" for name, _ in headers):
            headers.append((b"content-length", str(len(content)).encode()))
        return int(status.split(" ", 1)[0]), headers, content


async def _read_body(receive: Receive) -> Any:
    """The request body, in memory up to FILE_UPLOAD_MAX_MEMORY_SIZE, on disk beyond,
    as Django's ASGI handler keeps it."""
    body = tempfile.SpooledTemporaryFile(  # noqa: SIM115 - closed after the response
        max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE, mode="w+b"
    )
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            body.close()
            raise RequestAbortedError
        body.write(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body.seek(0)
    return body
