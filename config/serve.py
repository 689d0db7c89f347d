"""`python -m config.serve [daphne options]`: daphne with SciArena's WebSocket caps.

The one place that turns settings into daphne's command line, so `make run`,
docs/deploy.md and the tests that start real daphne processes cannot drift apart.
Any daphne option may follow (-b, -p, --proxy-headers, …).
"""

from __future__ import annotations

import os
import sys


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


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from daphne.cli import CommandLineInterface

    CommandLineInterface().run(daphne_argv(sys.argv[1:]))


if __name__ == "__main__":
    main()
