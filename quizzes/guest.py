"""Guests' practice papers: which ones a visitor's session keeps, and handing them to
the account the visitor signs up or signs in with.

A guest's paper has no user; only the session that started it may open or submit it
(quizzes.selectors.paper_of_guest). The writes are quizzes.papers.guest_paper_start
and guest_papers_claim; this module only reads and writes the session.
"""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from . import papers

SESSION_KEY = "quizzes_guest_papers"
MAX_GUEST_PAPERS = 20  # the newest ones are kept


def guest_paper_ids(session) -> list[int]:
    """The ids of the guest papers this session started, oldest first."""
    ids = session.get(SESSION_KEY) or []
    return [i for i in ids if isinstance(i, int)]


def guest_paper_remember(session, paper_id: int) -> None:
    ids = [i for i in guest_paper_ids(session) if i != paper_id] + [paper_id]
    session[SESSION_KEY] = ids[-MAX_GUEST_PAPERS:]


@receiver(user_logged_in, dispatch_uid="quizzes.guest.claim_on_login")
def claim_on_login(sender, request, user, **kwargs) -> None:
    """On sign-in (allauth signs a new account in after sign-up, or after its phone
    number is verified) the session's guest papers go to the account: one service
    call, no logic here. What a child needing consent could not claim stays in the
    session."""
    session = getattr(request, "session", None)
    if session is None:
        return
    ids = guest_paper_ids(session)
    if not ids:
        return
    claimed = set(papers.guest_papers_claim(session_paper_ids=ids, user=user))
    if claimed:
        session[SESSION_KEY] = [i for i in ids if i not in claimed]
