"""Content-Security-Policy: every response carries it, and nothing the site renders
needs what it forbids (inline scripts, event-handler attributes, style attributes and
elements, javascript: URLs, anything from another origin).

Two walks, so neither a page nor a template escapes: every template file of the
project, read as text; and every page reachable by links from the site's entry points
for an anonymous visitor and for each kind of demo user, rendered. The browser tests
(tests/e2e/conftest.py) fail on any CSP violation Chromium reports.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parent.parent
DATA_TYPES = {"application/json", "application/ld+json"}


def policy(response) -> dict[str, list[str]]:
    header = response.headers["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


class InlineFinder(HTMLParser):
    """What a page has that script-src/style-src 'self' (and no 'unsafe-inline')
    would block, or that loads from elsewhere."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._script: str | None = None
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name, value in attrs.items():
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=…> (event handler)")
            if name == "style":
                self.found.append(f"<{tag} style=…> (style attribute)")
            if name in ("href", "src", "action", "formaction") and value:
                if value.strip().lower().startswith("javascript:"):
                    self.found.append(f"<{tag} {name}=javascript:…>")
                parts = urlsplit(value)
                elsewhere = parts.scheme in ("http", "https") or value.startswith("//")
                if elsewhere and tag in ("script", "img", "link", "iframe", "form", "source"):
                    self.found.append(f"<{tag} {name}={value}> (another origin)")
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag == "style":
            self.found.append("<style> element")
        if tag == "script":
            kind = (attrs.get("type") or "").lower()
            self._script = None if (attrs.get("src") or kind in DATA_TYPES) else ""
        if tag in ("iframe", "object", "embed"):
            self.found.append(f"<{tag}>")

    def handle_data(self, data):
        if self._script is not None:
            self._script += data

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            if self._script.strip():
                self.found.append(f"inline <script>: {self._script.strip()[:60]!r}")
            self._script = None


def blocked(html: str) -> list[str]:
    finder = InlineFinder()
    finder.feed(html)
    return finder.found


# --- every template file --------------------------------------------------------------

TEMPLATE_PATTERNS = {
    "inline <script>": re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/(ld\+)?json)[^>]*>"),
    "event handler": re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I),
    "style attribute": re.compile(r"<[a-z][^>]*\sstyle\s*=", re.I),
    "<style> element": re.compile(r"<style[\s>]", re.I),
    "javascript: URL": re.compile(r"(href|src|action)\s*=\s*[\"']?\s*javascript:", re.I),
}


def project_templates() -> list[Path]:
    found = []
    for base in ROOT.iterdir():
        if base.name.startswith(".") or base.name in ("tests", "bench", "staticfiles"):
            continue
        if base.is_dir():
            found += [p for p in base.glob("**/templates/**/*.html") if ".venv" not in p.parts]
    return sorted(found)


def test_there_are_templates_to_scan():
    assert len(project_templates()) > 50


@pytest.mark.parametrize("template", project_templates(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_template_holds_what_the_policy_blocks(template):
    text = template.read_text()
    problems = [
        f"{what} at line {text[: m.start()].count(chr(10)) + 1}"
        for what, pattern in TEMPLATE_PATTERNS.items()
        for m in pattern.finditer(text)
    ]
    assert not problems, problems


def test_the_scanners_catch_each_kind_of_inline_code():
    samples = [
        "<script>alert(1)</script>",
        '<a href="#" onclick="go()">x</a>',
        '<p style="color: red">x</p>',
        "<style>p{}</style>",
        '<a href="javascript:go()">x</a>',
        '<script src="https://cdn.example/x.js"></script>',
    ]
    for sample in samples:
        assert blocked(sample), sample
    for sample in samples[:5]:
        assert any(p.search(sample) for p in TEMPLATE_PATTERNS.values()), sample
    harmless = (
        '<script type="application/json" id="d">{"a": 1}</script><script src="/s.js"></script>'
    )
    assert not blocked(harmless)
    assert not any(p.search(harmless) for p in TEMPLATE_PATTERNS.values())


# --- every page the walk reaches --------------------------------------------------------

ENTRY_POINTS = ["/", "/accounts/login/", "/accounts/signup/", "/admin/", "/nowhere-404/"]
SKIP = ("/accounts/logout/", "/static/", "/media/", "/i18n/", "/admin/logout/")
PAGES_PER_VISITOR = 60


def walk(client: Client) -> dict[str, object]:
    """GET the entry points and the site's own links from them, breadth first."""
    seen: dict[str, object] = {}
    queue = list(ENTRY_POINTS)
    while queue and len(seen) < PAGES_PER_VISITOR:
        url = urldefrag(queue.pop(0))[0]
        if url in seen or not url.startswith("/") or url.startswith(SKIP):
            continue
        response = client.get(url)
        seen[url] = response
        if response.status_code in (301, 302) and response.headers["Location"].startswith("/"):
            queue.append(response.headers["Location"])
        if "text/html" in response.headers.get("Content-Type", ""):
            finder = InlineFinder()
            finder.feed(response.content.decode())
            queue += [link for link in finder.links if link.startswith("/")]
    return seen


@pytest.mark.parametrize(
    "username", [None, "demo_admin", "demo_organizer", "demo_teacher", "demo_student_rdfz"]
)
def test_every_page_carries_the_policy_and_needs_nothing_it_forbids(seeded_demo, username):
    from accounts.models import User

    client = Client(raise_request_exception=False)
    if username:
        client.force_login(User.objects.get(username=username))
    pages = walk(client)
    assert len(pages) >= 5
    for url, response in pages.items():
        assert "Content-Security-Policy" in response.headers, (url, response.status_code)
        directives = policy(response)
        assert directives["script-src"] == ["'self'"], url
        assert directives["style-src"] == ["'self'"], url
        assert directives["object-src"] == ["'none'"] and directives["base-uri"] == ["'none'"]
        if "text/html" in response.headers.get("Content-Type", ""):
            assert not blocked(response.content.decode()), (url, blocked(response.content.decode()))


def test_the_policy_names_the_pages_own_websocket_origin(client, settings):
    settings.ALLOWED_HOSTS = ["sciarena.example.org"]
    plain = client.get("/", HTTP_HOST="sciarena.example.org:8443")
    assert "ws://sciarena.example.org:8443" in policy(plain)["connect-src"]
    secure = client.get("/", HTTP_HOST="sciarena.example.org", secure=True)
    assert policy(secure)["connect-src"] == ["'self'", "wss://sciarena.example.org"]


def test_a_request_for_an_unknown_host_still_gets_the_policy(client, settings):
    settings.ALLOWED_HOSTS = ["sciarena.example.org"]
    response = client.get("/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert policy(response)["connect-src"] == ["'self'"]
