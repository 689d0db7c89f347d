"""`python -m config.serve [daphne options]`: daphne with SciArena's WebSocket caps.

The one place that turns settings into daphne's command line, so `make run`,
docs/deploy.md and the tests that start real daphne processes cannot drift apart.
Any daphne option may follow (-b, -p, --proxy-headers, …).

It also makes daphne close a socket with a close code when a client breaks the
WebSocket rules (docs/protocol.md, "Connection"): 1009 for a message over the cap, 1007
for a text frame that is not UTF-8. autobahn, under daphne, fails such a connection by
dropping the TCP connection unless its factory has `failByDrop=False`, and daphne offers
no option for it: `Server` (daphne's `CommandLineInterface.server_class`, its seam for
another server class) sets it on daphne's WebSocket factory once daphne has configured
that factory, through `ready_callable`, which daphne calls just before the reactor runs.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

# autobahn's protocol options daphne leaves at their defaults and SciArena changes.
PROTOCOL_OPTIONS: dict[str, Any] = {
    # A protocol violation (a message over the cap, invalid UTF-8 in a text frame, an
    # unmasked frame…) closes with its code (1009, 1007, 1002) and a closing handshake,
    # the peer given closeHandshakeTimeout (1 s) to answer, instead of a dropped TCP
    # connection the client cannot tell from a network failure.
    "failByDrop": False,
}


def daphne_argv(extra: list[str]) -> list[str]:
    from django.conf import settings

    cap = str(settings.WS_MAX_MESSAGE_BYTES)
    return [
        "--websocket-max-message-size",
        cap,
        "--websocket-max-frame-size",
        cap,
        *extra,
        "config.asgi:application",
    ]


def configure_websocket_factory(server: Any) -> bool:
    """Apply PROTOCOL_OPTIONS to a running daphne server's WebSocket factory. False (and
    a warning in the log) when the factory is not where daphne 4 keeps it: the server
    then runs with autobahn's defaults rather than not at all."""
    factory = getattr(server, "ws_factory", None)
    set_options = getattr(factory, "setProtocolOptions", None)
    if set_options is None:
        logger.warning(
            "daphne's server has no ws_factory with setProtocolOptions: %s not set, so"
            " a client that breaks the WebSocket rules is dropped without a close code",
            ", ".join(PROTOCOL_OPTIONS),
        )
        return False
    try:
        set_options(**PROTOCOL_OPTIONS)
    except TypeError as problem:  # an autobahn that no longer knows an option
        logger.warning("autobahn refused %s: %s", PROTOCOL_OPTIONS, problem)
        return False
    return True


def server_class() -> type:
    """daphne's Server, applying PROTOCOL_OPTIONS once its factory exists."""
    from daphne.server import Server as DaphneServer

    class Server(DaphneServer):
        def __init__(self, *args: Any, ready_callable: Callable[[], Any] | None = None, **kw):
            super().__init__(*args, ready_callable=self._ready, **kw)
            self._then = ready_callable

        def _ready(self) -> None:
            # Called by Server.run after it built and configured ws_factory, before
            # the reactor runs: no connection exists yet.
            configure_websocket_factory(self)
            if self._then is not None:
                self._then()

    return Server


def command_line_interface():
    """daphne's CommandLineInterface serving with `server_class()`."""
    from daphne.cli import CommandLineInterface

    cli = CommandLineInterface()
    cli.server_class = server_class()
    return cli


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    command_line_interface().run(daphne_argv(sys.argv[1:]))


if __name__ == "__main__":
    main()
