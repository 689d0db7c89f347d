"""Reads about accounts."""

from __future__ import annotations

from .models import GuardianConsent, Profile, User


def consent_state(*, user: User) -> GuardianConsent | None:
    """The newest consent record for this account, or None."""
    return user.guardian_consents.order_by("-created_at", "-id").first()


def user_can_play(*, user: User) -> bool:
    """May this account take quizzes or join rounds?

    Anyone signed in and active may, except a child who may be under 14 (by birth
    year) and whose guardian has not granted consent, or has withdrawn it.
    """
    if not user.is_authenticated or not user.is_active:
        return False
    profile = Profile.objects.filter(user=user).only("birth_year").first()
    if profile is None or not profile.needs_guardian_consent:
        return True
    latest = consent_state(user=user)
    return latest is not None and latest.action == GuardianConsent.Action.GRANT


def user_may_show_publicly(*, user: User) -> bool:
    """May the name and school of this account appear on public pages?

    Children need a separate consent for that (PIPL art. 25); adults agree by
    taking part.
    """
    profile = Profile.objects.filter(user=user).only("birth_year").first()
    if profile is None or not profile.needs_guardian_consent:
        return True
    latest = consent_state(user=user)
    return (
        latest is not None
        and latest.action == GuardianConsent.Action.GRANT
        and latest.allow_public_display
    )
