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


# --- docs/deploy.md's nginx and daphne, as this machine's Debian packages take them ------


def test_the_documented_nginx_config_loads_in_debians_nginx(tmp_path):
    """nginx -t on docs/deploy.md's configuration (ports and paths changed only): Debian
    12's nginx 1.22 rejected the `http2 on;` the page used to give."""
    import os

    import pytest

    from tests.support import nginx

    if not nginx.nginx_available():
        if os.environ.get("CI", "").lower() == "true" or os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail("nginx must be installed here (CI): apt-get install nginx-light")
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    site = nginx.Site(tmp_path, [8001, 8002], 18080, 18443, tmp_path / "s", tmp_path / "m")
    nginx.make_certificate(site)

    def test(text: str) -> subprocess.CompletedProcess:
        (tmp_path / "sciarena.conf").write_text(nginx.site_config(site, text))
        (tmp_path / "nginx.conf").write_text(nginx.main_config(site, tmp_path / "sciarena.conf"))
        return subprocess.run(
            [nginx.NGINX, "-t", "-c", str(tmp_path / "nginx.conf")],
            capture_output=True,
            text=True,
        )

    documented = test(nginx.doc_config())
    assert documented.returncode == 0, documented.stderr
    version = subprocess.run([nginx.NGINX, "-v"], capture_output=True, text=True).stderr
    if "nginx/1.22" in version:  # the version of the report
        old = nginx.doc_config().replace(
            "    listen 443 ssl http2;\n    listen [::]:443 ssl http2;\n",
            "    listen 443 ssl http2;\n    listen [::]:443 ssl http2;\n    http2 on;\n",
        )
        assert test(old).returncode != 0


def test_the_documented_daphne_unit_binds_to_loopback_with_proxy_headers():
    import shlex

    text = (Path(__file__).resolve().parent.parent / "docs" / "deploy.md").read_text()
    unit = text[text.index("Description=SciArena daphne on port %i") :]
    line = unit[unit.index("ExecStart=") : unit.index("Restart=")]
    argv = shlex.split(line.replace("\\\n", " "))
    assert "--proxy-headers" in argv
    assert argv[argv.index("-b") + 1] == "127.0.0.1"
