"""A real daphne process, started the way `make run` and docs/deploy.md start it."""

import asyncio
import json
import os

import pytest
import websockets

from tests.support.daphne import daphne


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    env = {"WS_MAX_MESSAGE_BYTES": "4096"}
    if not os.environ.get("DATABASE_URL"):
        env["SQLITE_PATH"] = str(tmp_path_factory.mktemp("daphne") / "db.sqlite3")
    with daphne(env=env) as base:
        yield base


def test_daphne_serves_healthz_with_every_check_green(server):
    import urllib.request

    with urllib.request.urlopen(server + "/healthz", timeout=5) as response:
        body = json.loads(response.read())
    assert body["status"] == "ok", body


def test_a_websocket_message_over_the_cap_is_closed_by_daphne_with_1009(server):
    url = server.replace("http", "ws") + "/ws/clock/"

    async def scenario():
        async with websockets.connect(url, origin="http://127.0.0.1", max_size=None) as ws:
            await ws.send(json.dumps({"type": "ping", "t": 1}))
            assert json.loads(await ws.recv())["type"] == "pong"
            await ws.send(json.dumps({"type": "ping", "pad": "x" * 8000}))
            # autobahn refuses it before our consumer sees it, with the documented
            # close code (config.serve turns failByDrop off: a close, not a drop).
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), timeout=5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009

    asyncio.run(scenario())


def test_a_message_just_under_the_cap_is_answered(server):
    url = server.replace("http", "ws") + "/ws/clock/"

    async def scenario():
        async with websockets.connect(url, origin="http://127.0.0.1") as ws:
            await ws.send(json.dumps({"type": "ping", "t": 2, "pad": "x" * 3000}))
            return json.loads(await asyncio.wait_for(ws.recv(), timeout=5))

    assert asyncio.run(scenario())["t"] == 2
