"""Content-Security-Policy on every response (settings.CONTENT_SECURITY_POLICY).

Pages load scripts and styles from the site only: no inline script, event-handler
attribute or style attribute runs, so markup injected past the sanitiser is inert.
Data for scripts travels in `json_script` blocks (type application/json, not run).
tests/test_csp.py walks the templates and the pages for anything the policy would
block, and the browser tests fail on any CSP violation in Chromium's console.

One addition per request: the page's own WebSocket origin in connect-src. CSP 3 lets
'self' match ws:/wss: on the same host, but WebKit before iOS 15.4 (WeChat's in-app
browser on older iPhones) does not, and a live round there would never connect.
"""

from __future__ import annotations

from dataclasses import replace

from csp.middleware import CSPMiddleware as LibraryCSPMiddleware
from django.core.exceptions import DisallowedHost


class CSPMiddleware(LibraryCSPMiddleware):
    def get_policy_parts(self, request, response, report_only: bool = False):
        parts = super().get_policy_parts(request, response, report_only)
        try:
            host = request.get_host()  # only a host in ALLOWED_HOSTS
        except DisallowedHost:
            return parts
        socket = f"{'wss' if request.is_secure() else 'ws'}://{host}"
        update = dict(parts.update or {})
        update["connect-src"] = [*update.get("connect-src", ()), socket]
        return replace(parts, update=update)
