from django.urls import path

from . import consumers
from .pk_consumer import PkConsumer

websocket_urlpatterns = [
    path("ws/clock/", consumers.ClockConsumer.as_asgi()),
    path("ws/live/<str:pin>/", consumers.RoundConsumer.as_asgi()),
    path("ws/pk/", PkConsumer.as_asgi()),
]

from django.conf import settings  # noqa: E402

if settings.BENCH_ROUTES:  # bench/live_round.py's baselines and profiler (realtime/bench.py)
    from . import bench

    websocket_urlpatterns += bench.websocket_urlpatterns
