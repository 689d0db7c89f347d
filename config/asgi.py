"""ASGI entry point: HTTP through Django, WebSockets through Channels.

WebSocket handshakes are checked against the allowed origins; the message size cap
is enforced by daphne (--websocket-max-message-size) and again by the consumers.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from config.gctune import tune_collector  # noqa: E402
from frontend.admission import Admission  # noqa: E402
from realtime.routing import websocket_urlpatterns  # noqa: E402
from realtime.security import OriginCheck  # noqa: E402
from realtime.wire import DaphneWire  # noqa: E402

application = ProtocolTypeRouter(
    {
        # Slots and bounded queues per kind of request, 503 when full; /livez, /readyz.
        "http": Admission(django_asgi_app),
        "websocket": DaphneWire(OriginCheck(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))),
    }
)

# Last, with everything imported: see config/gctune.py.
tune_collector()
