"""Reads about accounts."""

from __future__ import annotations

from dataclasses import dataclass

from .display import shown_publicly
from .models import ConsentRequest, GuardianConsent, Profile, User


def consent_state(*, user: User) -> GuardianConsent | None:
    """The newest consent record for this account, or None."""
    return user.guardian_consents.order_by("-created_at", "-id").first()


def consent_request_latest(*, user: User) -> ConsentRequest | None:
    """The newest consent link sent for this account, or None."""
    return user.consent_requests.order_by("-created_at", "-id").first()


def profile_for(*, user: User) -> Profile | None:
    """The profile with the places it names, or None (a bare superuser has none)."""
    return (
        Profile.objects.select_related("district", "region", "school", "unit")
        .filter(user=user)
        .first()
    )


def user_can_play(*, user: User) -> bool:
    """May this account take quizzes or join rounds?

    Anyone signed in and active may, except a child who may be under 14 (by birth
    year) and whose guardian has not granted consent, or has withdrawn it.
    """
    if not user.is_authenticated or not user.is_active:
        return False
    try:
        # The user's own profile object: loaded once a request, shared with the page's
        # other reads of it (elder mode, the header), not queried again here.
        profile = user.profile
    except Profile.DoesNotExist:
        return True
    if not profile.needs_guardian_consent:
        return True
    latest = consent_state(user=user)
    return latest is not None and latest.action == GuardianConsent.Action.GRANT


def device_may_play_as_guest(*, cookies) -> bool:
    """May someone play as a guest on this device? The one check of every guest entry
    point (accounts.decorators.guests_checked for pages, the live-round joins for
    sockets). `cookies` are the request's (or the WebSocket scope's).

    Not while an account that marked the device (accounts.devices: a child's account
    signed in, signed out or was refused there) may not play: a child whose guardian
    has not consented, or has withdrawn, or whose account was deleted. An unmarked
    device costs no query."""
    from .devices import marked_accounts

    ids = marked_accounts(cookies)
    if not ids:
        return True
    accounts = User.objects.filter(pk__in=ids)
    return all(user_can_play(user=account) for account in accounts)


def user_may_show_publicly(*, user: User) -> bool:
    """May the name and school of this account appear on public pages?

    Children need a separate consent for that (PIPL art. 25); adults agree by
    taking part. The rule lives in accounts.display (public_names), for lists.
    """
    return shown_publicly([user.pk])[user.pk]


@dataclass(frozen=True)
class ConsentOverview:
    """What the account page and the blocked page say about guardian consent."""

    needs_consent: bool
    # "not_needed", "pending" (never granted), "granted" or "withdrawn".
    status: str
    latest: GuardianConsent | None
    latest_request: ConsentRequest | None

    @property
    def blocked(self) -> bool:
        return self.status in {"pending", "withdrawn"}

    @property
    def guardian_contact(self) -> str:
        """Where a new link would go: the newest request, else the newest record."""
        for record in (self.latest_request, self.latest):
            if record is not None:
                return record.guardian_contact
        return ""

    @property
    def relationship(self) -> str:
        for record in (self.latest_request, self.latest):
            if record is not None:
                return record.relationship
        return ""


def consent_overview(*, user: User) -> ConsentOverview:
    profile = Profile.objects.filter(user=user).only("birth_year").first()
    needs = profile is not None and profile.needs_guardian_consent
    if not needs:
        return ConsentOverview(
            needs_consent=False, status="not_needed", latest=None, latest_request=None
        )
    latest = consent_state(user=user)
    if latest is None:
        status = "pending"
    elif latest.action == GuardianConsent.Action.GRANT:
        status = "granted"
    else:
        status = "withdrawn"
    return ConsentOverview(
        needs_consent=True,
        status=status,
        latest=latest,
        latest_request=consent_request_latest(user=user),
    )
