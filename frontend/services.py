"""Writes the front end makes: display preferences."""

from __future__ import annotations

from accounts.models import Profile


def elder_mode_set(*, user, enabled: bool) -> bool:
    """Store the elder-mode choice on the user's profile so it follows them to other
    devices. Returns False when there is nothing to store it on (anonymous visitors,
    accounts without a profile such as a bare superuser): the cookie still holds it."""
    if user is None or not user.is_authenticated:
        return False
    try:
        profile = user.profile
    except Profile.DoesNotExist:
        return False
    if profile.elder_mode != enabled:
        profile.elder_mode = enabled
        profile.save(update_fields=["elder_mode"])
    return True
