from django.conf import settings


def ui(request):
    """Display preferences for every page: elder mode persists in a cookie, and on
    the profile for signed-in users so it follows them to another device."""
    elder = request.COOKIES.get(settings.ELDER_MODE_COOKIE_NAME) == "1"
    user = getattr(request, "user", None)
    if not elder and user is not None and user.is_authenticated:
        profile = getattr(user, "profile", None)
        elder = bool(profile and profile.elder_mode)
    return {"elder_mode": elder}
