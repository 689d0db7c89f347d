from django.urls import path

from . import consumers

websocket_urlpatterns = [
    path("ws/clock/", consumers.ClockConsumer.as_asgi()),
    path("ws/live/<str:pin>/", consumers.RoundConsumer.as_asgi()),
]
