"""nginx as docs/deploy.md configures it, for tests and the deployment check.

The configuration is read from the ```nginx block of docs/deploy.md, section 8, and
only what a machine decides is changed: the daphne ports, the listening ports
(127.0.0.1, high ports), the certificate, the static and media directories and the
log file. Each change must match exactly as often as expected, so a documentation
edit that moves one of them fails here instead of being tested on something else.
What is left (the headers nginx sets, the WebSocket upgrade, TLS, the log format) is
the documented text itself.

Used by tests/hostile/test_spoofed_forwarded_for.py and .ci/deploy-check.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import os
import re
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from tests.support.processes import stop

ROOT = Path(__file__).resolve().parents[2]
DEPLOY_DOC = ROOT / "docs" / "deploy.md"
SERVER_NAME = "sciarena.example.org"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def doc_config(doc: Path = DEPLOY_DOC) -> str:
    """The one ```nginx block of docs/deploy.md's section 8."""
    text = doc.read_text()
    section = text[text.index("\n## 8. nginx") :]
    section = section[: section.index("\n## 9.")]
    blocks = re.findall(r"```nginx\n(.*?)```", section, flags=re.S)
    if len(blocks) != 1:
        raise AssertionError(f"docs/deploy.md section 8 has {len(blocks)} nginx blocks, not 1")
    return blocks[0]


def _sub(text: str, pattern: str, replacement: str, count: int) -> str:
    new, found = re.subn(pattern, replacement, text, flags=re.M)
    if found != count:
        raise AssertionError(
            f"docs/deploy.md's nginx config: {pattern!r} found {found} times, expected {count}"
        )
    return new


@dataclass
class Site:
    """Where this machine's copy of the documented set-up lives."""

    workdir: Path
    upstreams: list[int]
    http_port: int
    https_port: int
    static_root: Path
    media_root: Path
    cert: Path = field(init=False)
    key: Path = field(init=False)

    def __post_init__(self) -> None:
        self.cert = self.workdir / "fullchain.pem"
        self.key = self.workdir / "privkey.pem"

    @property
    def host(self) -> str:
        """The Host a browser sends on this port ($http_host keeps the port)."""
        return f"{SERVER_NAME}:{self.https_port}"

    @property
    def origin(self) -> str:
        return f"https://{self.host}"


def site_config(site: Site, text: str | None = None) -> str:
    """docs/deploy.md's nginx config with this machine's ports and paths."""
    text = doc_config() if text is None else text
    servers = "".join(f"    server 127.0.0.1:{port};\n" for port in site.upstreams)
    text = _sub(text, r"^    server 127\.0\.0\.1:800\d;\n", "", 4)
    text = _sub(text, r"^(upstream sciarena \{\n.*\n)", r"\1" + servers, 1)
    text = _sub(text, r"^    listen 80;$", f"    listen 127.0.0.1:{site.http_port};", 1)
    text = _sub(text, r"^    listen \[::\]:80;\n", "", 1)
    text = _sub(
        text,
        r"^    listen 443 ssl http2;$",
        f"    listen 127.0.0.1:{site.https_port} ssl http2;",
        1,
    )
    text = _sub(text, r"^    listen \[::\]:443 ssl http2;\n", "", 1)
    text = _sub(text, r"/etc/ssl/sciarena/fullchain\.pem", str(site.cert), 1)
    text = _sub(text, r"/etc/ssl/sciarena/privkey\.pem", str(site.key), 1)
    text = _sub(text, r"/srv/sciarena/static/", f"{site.static_root}/", 1)
    text = _sub(text, r"/srv/sciarena/media/", f"{site.media_root}/", 1)
    return _sub(text, r"/var/log/nginx/sciarena\.access\.log", str(site.workdir / "access.log"), 1)


def main_config(site: Site, site_conf: Path) -> str:
    """A whole nginx.conf around the site (what Debian's /etc/nginx/nginx.conf gives)."""
    work = site.workdir
    user = "user root root;\n" if os.geteuid() == 0 else ""
    temps = "\n".join(
        f"    {name}_temp_path {work / name};"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""{user}worker_processes 1;
pid {work / "nginx.pid"};
error_log {work / "error.log"} warn;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
{temps}
    access_log off;
    include {site_conf};
}}
"""


def make_certificate(site: Site) -> None:
    """A self-signed certificate for the server name (openssl)."""
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", f"/CN={SERVER_NAME}", "-addext", f"subjectAltName=DNS:{SERVER_NAME}",
            "-keyout", str(site.key), "-out", str(site.cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip


def nginx_available() -> bool:
    return Path(NGINX).exists()


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)


@contextlib.contextmanager
def nginx(site: Site, text: str | None = None) -> Iterator[subprocess.Popen]:
    """Run nginx (in the foreground, as a child) with the documented config for `site`;
    `nginx -t` must accept it first. Stopped on the way out."""
    site.workdir.mkdir(parents=True, exist_ok=True)
    for sub in (site.static_root, site.media_root):
        sub.mkdir(parents=True, exist_ok=True)
    if not site.cert.exists():
        make_certificate(site)
    site_conf = site.workdir / "sciarena.conf"
    site_conf.write_text(site_config(site, text))
    conf = site.workdir / "nginx.conf"
    conf.write_text(main_config(site, site_conf))
    tested = subprocess.run([NGINX, "-t", "-c", str(conf)], capture_output=True, text=True)
    if tested.returncode != 0:
        raise AssertionError(f"nginx -t refuses the documented config:\n{tested.stderr}")
    proc = subprocess.Popen(
        [NGINX, "-c", str(conf), "-g", "daemon off;"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=_die_with_parent,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            if proc.poll() is not None:
                log = (site.workdir / "error.log").read_text(errors="replace")
                raise RuntimeError(f"nginx exited with {proc.returncode}:\n{log}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", site.https_port), timeout=1),
            ):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("nginx did not listen in 10 s")
            time.sleep(0.05)
        yield proc
    finally:
        stop(proc)


# --- a client that talks to nginx as a browser on another machine would --------------------


def tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # our own self-signed certificate
    return context


class Visitor:
    """One browser: its own cookies, the site's Host (with the port) and Origin, over
    HTTPS to nginx. `headers` go on every request (a spoofed X-Forwarded-For…)."""

    def __init__(self, site: Site, headers: dict[str, str] | None = None) -> None:
        self.site = site
        self.headers = dict(headers or {})
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, data: dict | None = None, headers=None):
        conn = http.client.HTTPSConnection(
            "127.0.0.1", self.site.https_port, context=tls_context(), timeout=30
        )
        sent = {
            "Host": self.site.host,
            "User-Agent": "deploy-check",
            **self.headers,
            **(headers or {}),
        }
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if data is not None:
            body = urlencode(data)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
            # As a browser sends them with a form: CSRF compares them with the request's
            # own origin, which is right only if nginx passed the Host with its port.
            sent["Origin"] = self.site.origin
            sent["Referer"] = self.site.origin + path
            if "csrftoken" in self.cookies:
                sent["X-CSRFToken"] = self.cookies["csrftoken"]
        try:
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            content = response.read()
        finally:
            conn.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if value and "expires=Thu, 01 Jan 1970" not in header:
                self.cookies[name.strip()] = value
            else:
                self.cookies.pop(name.strip(), None)
        return response.status, response.headers, content

    def get(self, path: str, **kw):
        return self.request("GET", path, **kw)

    def post(self, path: str, data: dict, **kw):
        if "csrftoken" not in self.cookies:
            self.get("/")
        return self.request("POST", path, data=data, **kw)


async def play_round(site: Site, pin: str, cookie: str, rights: list, count: int) -> dict:
    """A host and `count` players over WSS through nginx, the round played to its
    end: the first player answers each question with `rights[i](question frame)`, the
    others answer nothing. Returns the acks and points each player got."""
    import websockets

    context = tls_context()
    url = f"wss://{site.host}/ws/live/{pin}/"

    async def connect(extra: dict | None = None):
        return await websockets.connect(
            url,
            ssl=context,
            host="127.0.0.1",
            port=site.https_port,
            server_hostname=SERVER_NAME,
            origin=site.origin,
            additional_headers=extra,
            open_timeout=10,
            proxy=None,  # straight to nginx, whatever the environment's proxy says
        )

    async def expect(ws, *types: str) -> dict:
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if frame["type"] in types:
                return frame

    host = await connect({"Cookie": cookie})
    await host.send(json.dumps({"type": "host"}))
    welcome = await expect(host, "welcome", "error")
    assert welcome.get("role") == "host", welcome
    sockets = []
    for n in range(count):
        ws = await connect()
        await ws.send(json.dumps({"type": "join", "nickname": f"玩家{n + 1}"}))
        joined = await expect(ws, "welcome", "error")
        assert joined["type"] == "welcome", joined
        sockets.append(ws)
    acks = [0] * count
    points = [0] * count
    for index, right in enumerate(rights):
        await host.send(json.dumps({"type": "command", "name": "start" if index == 0 else "next"}))
        for n, ws in enumerate(sockets):
            opened = await expect(ws, "question_opened")
            choice = right(opened["question"]) if n == 0 else None
            if choice is None:
                continue  # the others do not answer this one
            await ws.send(
                json.dumps(
                    {
                        "type": "answer",
                        "answer_id": secrets.token_hex(8),
                        "question": opened["question"]["index"],
                        "choice": choice,
                    }
                )
            )
            ack = await expect(ws, "ack", "error")
            assert ack["type"] == "ack", ack
            acks[n] += 1
        for name in ("close", "reveal"):
            await host.send(json.dumps({"type": "command", "name": name}))
        for n, ws in enumerate(sockets):
            revealed = await expect(ws, "revealed")
            points[n] = revealed.get("you", {}).get("points", points[n])
    await host.send(json.dumps({"type": "command", "name": "finish"}))
    for ws in sockets:
        await expect(ws, "finished")
    for ws in [host, *sockets]:
        await ws.close()
    return {"acks": acks, "points": points}
