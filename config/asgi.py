"""ASGI entry point: HTTP through the admission layer to Django on a fixed pool of
threads (frontend/admission.py, frontend/threaded.py), WebSockets through Channels.

WebSocket handshakes are checked against the allowed origins; the message size cap
is enforced by daphne (--websocket-max-message-size) and again by the consumers.
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup(set_prefix=False)

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from config.gctune import tune_collector  # noqa: E402
from frontend.admission import Admission, lanes_from_settings  # noqa: E402
from frontend.threaded import ThreadedDjango  # noqa: E402
from realtime.routing import websocket_urlpatterns  # noqa: E402
from realtime.security import OriginCheck  # noqa: E402
from realtime.wire import DaphneWire  # noqa: E402

# Slots and bounded queues per kind of request, 503 when full, /livez and /readyz; a
# thread for every slot, so an admitted request never waits for one.
lanes = lanes_from_settings()
pages = ThreadedDjango(threads=sum(lane.slots for lane in lanes.values()))

application = ProtocolTypeRouter(
    {
        "http": Admission(pages, lanes),
        "websocket": DaphneWire(OriginCheck(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))),
    }
)

# Last, with everything imported: see config/gctune.py.
tune_collector()
