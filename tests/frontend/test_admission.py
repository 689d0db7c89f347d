"""The admission layer (frontend/admission.py): slots and bounded queues per kind of
request, an immediate 503 with Retry-After beyond them, probes that never wait, and
a database that cannot serve a request answered as 503, not 500."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import IntegrityError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.test import Client
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from frontend.admission import Admission, Lane, lane_of
from frontend.threaded import ThreadedDjango


class Held:
    """An inner application whose requests are held until released: stands in for
    Django busy on a request, so a test decides exactly how many are in flight."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.release = asyncio.Event()

    async def __call__(self, scope, receive, send) -> None:
        self.started.append(scope["path"])
        if scope["path"].startswith("/slow") or (b"x-hold", b"1") in scope["headers"]:
            await self.release.wait()
        if scope["path"] == "/boom":
            raise RuntimeError("the view failed")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"done"})


def lanes(slots=1, queue=1, wait_s=0.2, login_slots=1) -> dict[str, Lane]:
    return {
        "pages": Lane("pages", slots=slots, queue=queue, wait_s=wait_s),
        "answers": Lane("answers", slots=slots, queue=queue, wait_s=wait_s),
        "logins": Lane("logins", slots=login_slots, queue=0, wait_s=0.0, retry_after_s=5),
        "probes": Lane("probes", slots=2, queue=0, wait_s=0.0),
    }


async def call(app, path, method="GET", headers=()):
    """One request through `app`: (status, headers as a dict, body, seconds taken)."""
    sent: list[dict] = []
    bodies = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive():
        if bodies:
            return bodies.pop()
        await asyncio.Event().wait()  # the client stays connected

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "path": path, "method": method, "headers": list(headers)}
    started = time.monotonic()
    await app(scope, receive, send)
    took = time.monotonic() - started
    head = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return head["status"], dict(head["headers"]), body, took


@pytest.mark.asyncio
async def test_livez_and_readyz_answer_without_the_application():
    inner = Held()
    app = Admission(inner, lanes())
    status, _, body, _ = await call(app, "/livez")
    assert (status, json.loads(body)) == (200, {"status": "alive"})
    status, _, body, _ = await call(app, "/readyz")
    assert status == 200 and json.loads(body)["status"] == "ready"
    assert inner.started == []  # neither reached Django


@pytest.mark.asyncio
async def test_beyond_the_slots_and_the_queue_a_request_is_shed_at_once_with_retry_after():
    inner = Held()
    app = Admission(inner, lanes(slots=1, queue=1, wait_s=5.0))
    holding = asyncio.create_task(call(app, "/slow/1"))
    queued = asyncio.create_task(call(app, "/slow/2"))
    await asyncio.sleep(0.05)
    assert inner.started == ["/slow/1"]  # one slot: the second waits in the queue

    status, headers, body, took = await call(app, "/page")
    assert status == 503 and took < 0.1, "a full queue must refuse at once, not wait"
    assert headers[b"retry-after"] == b"1"
    assert "请" in body.decode()  # the busy page in the default language, Chinese

    status, headers, body, _ = await call(app, "/x", headers=[(b"accept", b"application/json")])
    assert status == 503 and json.loads(body) == {"error": "busy", "retry_after": 1}

    # The process says so to a load balancer, and stays alive.
    status, _, body, _ = await call(app, "/readyz")
    assert status == 503 and json.loads(body)["status"] == "busy"
    assert (await call(app, "/livez"))[0] == 200

    inner.release.set()
    assert [(await t)[0] for t in (holding, queued)] == [200, 200]
    assert app.lanes["pages"].report() | {"served": 2, "shed": 2} == app.lanes["pages"].report()


@pytest.mark.asyncio
async def test_a_queued_request_waits_no_longer_than_its_lane_allows():
    inner = Held()
    app = Admission(inner, lanes(slots=1, queue=4, wait_s=0.2))
    holding = asyncio.create_task(call(app, "/slow"))
    await asyncio.sleep(0.02)
    status, _, _, took = await call(app, "/page")
    assert status == 503 and 0.15 < took < 1.0
    inner.release.set()
    assert (await holding)[0] == 200
    # The slot came back: the next request is served.
    assert (await call(app, "/page"))[0] == 200


@pytest.mark.asyncio
async def test_a_request_that_would_wait_too_long_is_refused_at_once():
    """Not after waiting its lane's limit: the wait is foreseen from the requests ahead
    and the recent time a request takes."""
    inner = Held()
    app = Admission(inner, lanes(slots=1, queue=10, wait_s=0.5))
    lane = app.lanes["pages"]
    lane.service_s = 0.3  # requests have been taking 0.3 s
    holding = asyncio.create_task(call(app, "/slow/1"))
    queued = asyncio.create_task(call(app, "/slow/2"))  # would wait 0.3 s: queued
    await asyncio.sleep(0.02)
    assert lane.waiting == 1
    status, _, _, took = await call(app, "/page")  # would wait 0.6 s: refused now
    assert status == 503 and took < 0.05
    inner.release.set()
    assert [(await t)[0] for t in (holding, queued)] == [200, 200]


@pytest.mark.asyncio
async def test_a_slot_comes_back_when_the_view_fails():
    app = Admission(Held(), lanes(slots=1, queue=0))
    with pytest.raises(RuntimeError):
        await call(app, "/boom")
    assert app.lanes["pages"].in_flight == 0
    assert (await call(app, "/page"))[0] == 200


@pytest.mark.asyncio
async def test_a_burst_of_sign_ins_never_takes_the_slots_answers_need():
    inner = Held()
    app = Admission(inner, lanes(slots=1, queue=0, login_slots=1))
    signing_in = asyncio.create_task(
        call(app, "/accounts/login/", method="POST", headers=[(b"x-hold", b"1")])
    )
    await asyncio.sleep(0.02)
    # The login lane is full: another sign-in is refused, with a longer Retry-After...
    app_login = await call(app, "/accounts/login/", method="POST")
    assert app_login[0] == 503 and app_login[1][b"retry-after"] == b"5"
    # ...while an answer goes straight through its own lane.
    status, _, _, took = await call(app, "/papers/1/answers/", method="POST")
    assert status == 200 and took < 0.1
    inner.release.set()
    await signing_in


@pytest.mark.asyncio
async def test_a_rush_of_page_loads_never_holds_up_the_answers_of_those_playing():
    inner = Held()
    app = Admission(inner, lanes(slots=1, queue=0))
    loading = asyncio.create_task(call(app, "/slow/page"))
    await asyncio.sleep(0.02)
    assert (await call(app, "/accounts/login/"))[0] == 503  # the page lane is full...
    status, _, _, took = await call(app, "/papers/1/answers/", method="POST")
    assert status == 200 and took < 0.1  # ...and an answer goes through its own
    inner.release.set()
    await loading


def test_lanes_by_kind_of_request():
    assert lane_of({"path": "/accounts/login/", "method": "POST"}) == "logins"
    assert lane_of({"path": "/accounts/signup/", "method": "POST"}) == "logins"
    assert lane_of({"path": "/accounts/login/", "method": "GET"}) == "pages"
    assert lane_of({"path": "/papers/3/answers/", "method": "POST"}) == "answers"
    assert lane_of({"path": "/practice/daily/paper/3/submit/", "method": "POST"}) == "answers"
    assert lane_of({"path": "/practice/tests/paper/3/answer/", "method": "POST"}) == "answers"
    assert lane_of({"path": "/papers/3/", "method": "GET"}) == "pages"
    assert lane_of({"path": "/papers/3/submit/", "method": "GET"}) == "pages"
    assert lane_of({"path": "/healthz", "method": "GET"}) == "probes"


@pytest.mark.asyncio
async def test_the_site_application_answers_livez_without_django():
    """config.asgi wires the layer in front of Django: /livez is answered even with
    every page slot taken."""
    from config.asgi import application

    status, _, body, _ = await call(application, "/livez")
    assert (status, json.loads(body)) == (200, {"status": "alive"})


FAILURE: list[Exception] = []


def failing_view(request):
    raise FAILURE[0]


urlpatterns = [path("fail/", failing_view)]
handler500 = "frontend.views.server_error"  # as config/urls.py


@pytest.mark.urls(__name__)
@pytest.mark.parametrize(
    "failure", [OperationalError("couldn't get a connection after 10.00 sec"), IntegrityError()]
)
def test_a_database_without_room_is_a_503_and_a_bug_stays_a_500(monkeypatch, failure):
    monkeypatch.setattr(__name__ + ".FAILURE", [failure])
    response = Client(raise_request_exception=False).get("/fail/")
    if isinstance(failure, OperationalError):
        assert response.status_code == 503
        assert response["Retry-After"] == "1"
        assert "请" in response.content.decode()
    else:
        assert response.status_code == 500


def test_config_urls_sends_server_errors_to_the_503_aware_handler():
    from config import urls

    assert urls.handler500 == handler500


MEETING = threading.Barrier(2)


def meeting_view(request):
    """Returns only once two requests are inside a view at the same time."""
    MEETING.wait(timeout=5)
    return HttpResponse(str(threading.get_ident()))


def thread_view(request):
    return HttpResponse(str(threading.get_ident()))


@csrf_exempt
def echo_view(request, word):
    """What Django made of the request: the fields the site relies on."""
    return JsonResponse(
        {
            "path": request.path,
            "word": word,
            "query": request.GET.get("q"),
            "method": request.method,
            "posted": request.POST.get("name"),
            "cookie": request.COOKIES.get("b"),
            "address": request.META.get("REMOTE_ADDR"),
            "secure": request.is_secure(),
            "host": request.get_host(),
            "spoofed": request.META.get("HTTP_X_FORWARDED_FOR"),
        }
    )


def publish_view(request):
    """A sync view that sends on the channel layer, as the live-round host pages do."""
    layer = get_channel_layer()
    async_to_sync(layer.send)(request.GET["channel"], {"type": "from.view"})
    return HttpResponse("sent")


def head_view(request):
    response = HttpResponse("body")
    response.set_cookie("a", "1")
    response.set_cookie("b", "2")
    return response


urlpatterns += [
    path("meet/", meeting_view),
    path("thread/", thread_view),
    path("echo/<str:word>/", echo_view),
    path("publish/", publish_view),
    path("cookies/", head_view),
]
HOST = [(b"host", b"testserver")]


def site_app(slots: int = 2) -> Admission:
    """The site's HTTP stack as config/asgi.py builds it, with `slots` page slots."""
    return Admission(ThreadedDjango(threads=2 * slots + 3), lanes(slots=slots, queue=4, wait_s=5))


@pytest.mark.urls(__name__)
@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_page_requests_run_in_parallel_on_long_lived_threads():
    """Requests run at once, each on a thread of the pool (the issue's guess, every
    sync view of a process on one thread, does not hold for pages), and the threads
    live on: the next requests reuse them (their connections with them)."""
    MEETING.reset()
    app = site_app(slots=2)
    first, second = await asyncio.gather(
        call(app, "/meet/", headers=HOST), call(app, "/meet/", headers=HOST)
    )
    assert first[0] == second[0] == 200, (first, second)
    assert first[2] != second[2]  # two threads at once
    later = {(await call(app, "/thread/", headers=HOST))[2] for _ in range(20)}
    pool = {first[2], second[2]}
    assert len(later | pool) <= 5  # the pool's threads, not a new one per request


@pytest.mark.urls(__name__)
@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_django_sees_the_request_as_daphne_passed_it():
    app = site_app()
    body = b"name=%E5%BC%A0%E4%B8%89"
    sent: list[dict] = []
    bodies = [
        {"type": "http.request", "body": body[:5], "more_body": True},
        {"type": "http.request", "body": body[5:], "more_body": False},
    ]

    async def receive():
        return bodies.pop(0)

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/echo/科学/",
        "query_string": b"q=%E5%8C%97%E4%BA%AC",
        "scheme": "https",
        "client": ("203.0.113.9", 50000),
        "server": ("127.0.0.1", 8001),
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"content-length", str(len(body)).encode()),
            (b"cookie", b"a=1; b=2"),
            (b"x_forwarded_for", b"198.51.100.7"),  # underscore: dropped, never trusted
        ],
    }
    await app(scope, receive, send)
    status = sent[0]["status"]
    got = json.loads(sent[1]["body"])
    assert status == 200, got
    assert got == {
        "path": "/echo/科学/",
        "word": "科学",
        "query": "北京",
        "method": "POST",
        "posted": "张三",
        "cookie": "2",
        "address": "203.0.113.9",
        "secure": True,
        "host": "testserver",
        "spoofed": None,
    }
    headers = dict(sent[0]["headers"])
    assert int(headers[b"content-length"]) == len(sent[1]["body"])


@pytest.mark.urls(__name__)
@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_head_has_no_body_and_every_cookie_is_kept():
    app = site_app()
    status, _, body, _ = await call(app, "/cookies/", method="HEAD", headers=HOST)
    assert (status, body) == (200, b"")
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    await app(
        {"type": "http", "method": "GET", "path": "/cookies/", "headers": HOST}, receive, send
    )
    cookies = [v for k, v in sent[0]["headers"] if k == b"set-cookie"]
    assert len(cookies) == 2


@pytest.mark.urls(__name__)
@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_view_publishing_on_the_channel_layer_reaches_the_servers_loop():
    """async_to_sync in a view runs on the loop the request came from: the in-memory
    channel layer and the relay live there, so a host page's publish reaches them."""
    layer = get_channel_layer()
    channel = await layer.new_channel()
    app = site_app()
    query = f"channel={channel}".encode()
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/publish/",
        "query_string": query,
        "headers": HOST,
    }
    await app(scope, receive, send)
    assert sent[0]["status"] == 200
    message = await asyncio.wait_for(layer.receive(channel), timeout=2)
    assert message == {"type": "from.view"}
