from allauth.core.exceptions import RateLimited
from django.conf import settings
from django.shortcuts import render
from django.utils import translation
from django.utils.cache import patch_vary_headers


class DefaultLanguageMiddleware:
    """Chinese unless the visitor chose otherwise.

    Django's LocaleMiddleware would follow the browser's Accept-Language, which sends
    many Beijing visitors (and every headless browser) to English. Here only an
    explicit choice, stored in the language cookie by /i18n/setlang/, counts.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.supported = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        language = chosen if chosen in self.supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        # The language (and elder mode) come from cookies: a shared cache must not
        # hand one visitor's page to another.
        patch_vary_headers(response, ("Cookie",))
        return response


class RateLimitedMiddleware:
    """allauth's RateLimited, raised inside a flow, as a 429 page instead of a 500.

    allauth raises it where a limit is met deep in a flow rather than in a form:
    the phone-verification code at sign-up and sign-in (verify_phone, one code per
    number per 30 s), a change of number, and accounts.adapter when the daily text
    caps (accounts.sms) refuse a message. The page says only "try later": the same
    whether or not the number or address has an account.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, RateLimited):
            return None
        return render(request, "429.html", {"sent_nothing": True}, status=429)
