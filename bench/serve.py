"""`python -m bench.serve [daphne options]`: daphne serving the bench's application
(bench/asgi.py: the site plus the bench-only WebSocket routes), with the same options
as `python -m config.serve`. Only bench/live_round.py starts it."""

from __future__ import annotations

import os
import sys

APPLICATION = "bench.asgi:application"


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from config.serve import command_line_interface, daphne_argv

    argv = daphne_argv(sys.argv[1:])
    if argv[-1] != "config.asgi:application":  # config.serve names the application last
        raise RuntimeError(f"config.serve's command line changed: {argv}")
    argv[-1] = APPLICATION
    command_line_interface().run(argv)  # the same server as config.serve (close codes)


if __name__ == "__main__":
    main()
