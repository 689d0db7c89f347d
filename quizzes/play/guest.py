"""Guests' papers: which ones a visitor's session keeps, how many a visitor may start,
and handing them to the account the visitor signs up or signs in with.

A guest (an anonymous visitor) plays practice papers, the daily quiz, the timed
challenge and the literacy self-test of blueprints open to players and meant for
everyone (no audience). A guest's paper has no user; only the session that started
it may open or answer it (quizzes.papers.selectors.paper_of_guest). The writes are the
guest start services (quizzes.papers.drawing.guest_paper_start,
quizzes.play.daily.guest_daily_start, quizzes.play.challenge.guest_challenge_start,
quizzes.play.adaptive.guest_adaptive_start)
and quizzes.play.claim.guest_papers_claim; this module only reads and writes the session
and counts starts in the cache.

Abuse guard: every paper a guest starts is database rows, so new guest papers are
counted per session and per client IP in the cache, per clock hour, and refused over
settings.GUEST_STARTS_PER_HOUR (GuestLimitReached; nothing is written then). Going
back to an unfinished paper is not a start and is never refused.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.utils.translation import gettext as _

from accounts.counters import address_key, count
from accounts.selectors import device_may_play_as_guest
from frontend.clientip import client_ip
from quizzes.play.claim import guest_papers_claim

SESSION_KEY = "quizzes_guest_papers"
MAX_GUEST_PAPERS = 30  # the newest ones are kept
WINDOW_SECONDS = 3600


class GuestLimitReachedError(Exception):
    """This session or client IP started too many guest papers within the hour."""


def guest_paper_ids(session) -> list[int]:
    """The ids of the guest papers this session started, oldest first."""
    ids = session.get(SESSION_KEY) or []
    return [i for i in ids if isinstance(i, int)]


def guest_paper_remember(session, paper_id: int) -> None:
    ids = [i for i in guest_paper_ids(session) if i != paper_id] + [paper_id]
    session[SESSION_KEY] = ids[-MAX_GUEST_PAPERS:]


def guest_start_guard(request) -> Callable[[], None]:
    """A guard for one guest start: the start services call it just before they would
    write a new paper. It counts the start for the session and the client IP (hashed:
    no address or session key is kept in the cache) and raises GuestLimitReachedError
    when either is over the hourly limit."""

    def guard() -> None:
        window = int(time.time() // WINDOW_SECONDS)
        if request.session.session_key is None:
            request.session.save()  # a key to count by; the paper's id goes in it anyway
        who = [f"session:{request.session.session_key}"]
        # The one reading of the address (frontend.clientip), IPv6 by its /64.
        address = address_key(client_ip(request))
        if address:  # an unreadable address is not one counter shared by everyone
            who.append(f"ip:{address}")
        limit = settings.GUEST_STARTS_PER_HOUR
        over = False
        for name in who:
            digest = hashlib.sha256(name.encode()).hexdigest()[:32]
            over = (
                count(f"quizzes:guest-starts:{digest}:{window}", window=WINDOW_SECONDS) > limit
                or over
            )
        if over:
            raise GuestLimitReachedError

    return guard


def paper_start_for(request, *, account: Callable, guest: Callable):
    """Start (or go back to) a paper for whoever sent the request: `account(user)` for
    a signed-in player; `guest(session_paper_ids, guard)` for a guest, whose session
    then keeps the paper. The start services' errors (and GuestLimitReachedError)
    pass through; PermissionDenied for a guest on a device of a child who may not play
    (accounts.selectors.device_may_play_as_guest)."""
    if request.user.is_authenticated:
        return account(request.user)
    if not device_may_play_as_guest(cookies=request.COOKIES):
        # The pages refuse first (accounts.decorators.guests_checked); this keeps a
        # guest start that forgot the decorator from writing anything.
        raise PermissionDenied(_("A guardian must agree before you can play."))
    paper = guest(guest_paper_ids(request.session), guest_start_guard(request))
    guest_paper_remember(request.session, paper.pk)
    return paper


@receiver(user_logged_in, dispatch_uid="quizzes.guest.claim_on_login")
def claim_on_login(sender, request, user, **kwargs) -> None:
    """On sign-in (allauth signs a new account in after sign-up, or after its phone
    number is verified) the session's guest papers go to the account: one service
    call, no logic here. What could not be claimed (a child needing consent, a daily
    quiz the account already has for that day) stays in the session."""
    session = getattr(request, "session", None)
    if session is None:
        return
    ids = guest_paper_ids(session)
    if not ids:
        return
    claimed = set(guest_papers_claim(session_paper_ids=ids, user=user))
    if claimed:
        session[SESSION_KEY] = [i for i in ids if i not in claimed]
