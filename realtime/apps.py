from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RealtimeConfig(AppConfig):
    name = "realtime"
    verbose_name = _("Live rounds")

    def ready(self) -> None:
        from frontend import health

        from . import health as realtime_health
        from .personal_data import register_realtime

        register_realtime()

        health.register("relay", realtime_health.check_relay)
        health.register("wire", realtime_health.check_wire)
