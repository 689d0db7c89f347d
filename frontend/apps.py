from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FrontendConfig(AppConfig):
    name = "frontend"
    verbose_name = _("Pages")

    def ready(self) -> None:
        from frontend import checks  # noqa: F401 - registers the system checks
