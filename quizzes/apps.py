from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QuizzesConfig(AppConfig):
    name = "quizzes"
    verbose_name = _("Question bank and quizzes")

    def ready(self) -> None:
        from quizzes.personal_data import register_quizzes
        from quizzes.play import guest  # noqa: F401 - connects the sign-in receiver

        register_quizzes()
