"""The three ways frames reach a daphne socket (settings.WS_WRITE_PATH, realtime.wire)
give clients the same frames, and /healthz says which one each socket took."""

import asyncio
import json
import os
import urllib.request

import pytest
import websockets

from tests.support.daphne import daphne

EXPECTED = {"direct": "on", "prepared": "on (prepared)", "asgi": "off: WS_WRITE_PATH=asgi"}


@pytest.mark.parametrize("path", ["direct", "prepared", "asgi"])
def test_every_write_path_delivers_the_frames_in_order_and_healthz_names_it(path, tmp_path):
    env = {"WS_WRITE_PATH": path}
    if not os.environ.get("DATABASE_URL"):
        env["SQLITE_PATH"] = str(tmp_path / "db.sqlite3")
    with daphne(env=env) as base:
        url = base.replace("http", "ws") + "/ws/live/000000/"

        async def scenario():
            async with websockets.connect(url, origin="http://127.0.0.1") as ws:
                # Messages a socket may not send before it says who it is: each answered
                # by the consumer through the write path, without the database.
                for n in range(8):
                    await ws.send(json.dumps({"type": "snapshot", "n": n}))
                for n in range(8):
                    await ws.send(json.dumps({"type": "ping", "t": n}))
                frames = [json.loads(await ws.recv()) for _ in range(16)]
            return frames

        frames = asyncio.run(asyncio.wait_for(scenario(), 20))
        assert frames[:8] == [{"type": "error", "code": "forbidden", "detail": "snapshot"}] * 8
        assert [f["type"] for f in frames[8:]] == ["pong"] * 8
        assert [f["t"] for f in frames[8:]] == list(range(8))  # in order
        with urllib.request.urlopen(base + "/healthz", timeout=5) as response:
            wire = json.loads(response.read())["checks"]["wire"]
        assert wire == {"ok": True, "backend": {EXPECTED[path]: 1}, "ms": wire["ms"]}
