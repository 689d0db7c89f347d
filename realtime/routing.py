from django.urls import path

from . import consumers
from .pk_consumer import PkConsumer

websocket_urlpatterns = [
    path("ws/clock/", consumers.ClockConsumer.as_asgi()),
    path("ws/live/<str:pin>/", consumers.RoundConsumer.as_asgi()),
    path("ws/pk/", PkConsumer.as_asgi()),
]
