"""config.serve: daphne's WebSocket factory gets `failByDrop=False`, so a client that
breaks the WebSocket rules gets a close code (1009, 1007) instead of a dropped TCP
connection; tests/realtime/test_hostile_frames.py sees those codes over a real
`python -m config.serve`. Here: the seam itself, and its guard when daphne changes.

daphne.server installs Twisted's reactor on import, and realtime.wire takes a loaded
daphne.server to mean "under daphne": the test that runs daphne's Server does it in a
subprocess of its own.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
from pathlib import Path

from config import serve

ROOT = Path(serve.__file__).resolve().parents[1]


class Factory:
    def __init__(self) -> None:
        self.options: dict = {}

    def setProtocolOptions(self, **options) -> None:  # noqa: N802 (autobahn's name)
        self.options.update(options)


class Server:
    def __init__(self, factory=None) -> None:
        if factory is not None:
            self.ws_factory = factory


def test_the_factory_is_told_to_close_with_a_code_instead_of_dropping(caplog):
    factory = Factory()
    with caplog.at_level(logging.WARNING, logger="config.serve"):
        assert serve.configure_websocket_factory(Server(factory)) is True
    assert factory.options == {"failByDrop": False}
    assert caplog.records == []


def test_a_daphne_without_the_factory_serves_on_and_says_so_once(caplog):
    with caplog.at_level(logging.WARNING, logger="config.serve"):
        assert serve.configure_websocket_factory(Server()) is False
    assert len(caplog.records) == 1
    assert "failByDrop" in caplog.records[0].getMessage()


def test_an_autobahn_that_refuses_the_option_serves_on_and_says_so_once(caplog):
    class Refusing(Factory):
        def setProtocolOptions(self, **options) -> None:  # noqa: N802
            raise TypeError("unexpected keyword argument 'failByDrop'")

    with caplog.at_level(logging.WARNING, logger="config.serve"):
        assert serve.configure_websocket_factory(Server(Refusing())) is False
    assert len(caplog.records) == 1


RUN_DAPHNE = textwrap.dedent(
    """
    import json, os
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from daphne.server import Server as DaphneServer
    from twisted.internet import reactor
    from config.serve import command_line_interface

    cli = command_line_interface()
    seen = {}

    def ready():  # what the command line would have passed, chained after ours
        seen["failByDrop"] = server.ws_factory.failByDrop
        seen["maxMessagePayloadSize"] = server.ws_factory.maxMessagePayloadSize
        reactor.callLater(0, reactor.stop)

    async def application(scope, receive, send):
        pass

    server = cli.server_class(
        application=application,
        endpoints=["tcp:port=0:interface=127.0.0.1"],
        websocket_max_message_size=4096,
        ready_callable=ready,
        signal_handlers=False,
    )
    seen["subclass"] = isinstance(server, DaphneServer)
    server.run()
    print(json.dumps(seen))
    """
)


def test_daphne_runs_with_the_factory_configured_and_its_own_settings_kept():
    done = subprocess.run(
        [sys.executable, "-c", RUN_DAPHNE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen == {"subclass": True, "failByDrop": False, "maxMessagePayloadSize": 4096}
