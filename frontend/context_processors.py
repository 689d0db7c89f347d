from django.conf import settings


def elder_mode_active(request) -> bool:
    """Elder mode for this request. A choice made on this device (the cookie, "1" or
    "0") wins; without one, a signed-in user's profile decides, so the setting follows
    them to a new phone."""
    cookie = request.COOKIES.get(settings.ELDER_MODE_COOKIE_NAME)
    if cookie in {"1", "0"}:
        return cookie == "1"
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        profile = getattr(user, "profile", None)
        return bool(profile and profile.elder_mode)
    return False


def ui(request):
    """Display preferences for every page: elder mode persists in a cookie, and on
    the profile for signed-in users so it follows them to another device."""
    return {"elder_mode": elder_mode_active(request)}
