"""The names a live round shows of its players, by accounts.display's rule (one place
for the public display of people): a signed-in child without the guardian's consent
to public display gets a generated name, stable for the round; adults and consented
children their nickname in the round.

Guests (no account) typed their nickname themselves and are not known to be children:
they are shown by it (the nickname filter applies; a device whose account is a child
awaiting consent cannot play as a guest). Roster players without an account are shown
by the name their school put on the roster for the leaderboard.

The public (every player, the projector screen) sees `public`; the host sees
`for_viewer(host)`: the same, except the host's own school's children by nickname."""

from __future__ import annotations

from collections.abc import Iterable

from accounts.display import public_names
from accounts.models import User

from ..models import LivePlayer, LiveRound

# (player id, user id or None, nickname in the round), in joining order
Row = tuple[int, int | None, str]


def scope(live: LiveRound) -> str:
    return f"live:{live.pk}"


def for_viewer(live: LiveRound, rows: Iterable[Row], viewer: User | None = None) -> dict[int, str]:
    """{player id: the name `viewer` (None: the public) sees}, in one query."""
    rows = list(rows)
    users = {user: nickname for _pk, user, nickname in rows if user is not None}
    shown = public_names(
        [user for _pk, user, _nickname in rows if user is not None],
        scope=scope(live),
        nicknames=users,
        viewer=viewer,
        taken=[nickname for _pk, user, nickname in rows if user is None],
    )
    return {pk: shown[user] if user is not None else nickname for pk, user, nickname in rows}


def public(live: LiveRound, rows: Iterable[Row]) -> dict[int, str]:
    return for_viewer(live, rows, None)


def for_host(live: LiveRound, rows: Iterable[Row]) -> dict[int, str]:
    """What the round's host sees (the console, player_joined and player_replaced to the
    host): the public names, and the nicknames of the host's own school's children.
    The host is read only when a signed-in player is among the rows."""
    rows = list(rows)
    if all(user is None for _pk, user, _nickname in rows):
        return {pk: nickname for pk, _user, nickname in rows}
    return for_viewer(live, rows, live.host)


def row(player: LivePlayer) -> Row:
    return (player.pk, player.user_id, player.nickname)
