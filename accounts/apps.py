from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from . import devices  # noqa: F401 - connects the sign-in and sign-out receivers
        from .personal_data import register_accounts

        register_accounts()
