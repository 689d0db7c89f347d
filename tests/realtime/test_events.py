"""The publish path (realtime.events): after commit, and a command is not undone or
failed by a channel layer that is away."""

import pytest

from realtime.events import dumps
from realtime.live import commands
from realtime.models import LiveRound
from tests.support.live import make_round

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("districts_loaded")]


def test_a_command_succeeds_and_is_stored_while_the_channel_layer_is_away(monkeypatch, caplog):
    live = make_round(types=["single"])

    class AwayLayer:
        async def group_send(self, group, message):
            raise ConnectionError("Connection refused")

    monkeypatch.setattr("realtime.events.get_channel_layer", lambda: AwayLayer())
    commands.round_command(live=live, actor=live.host, name="start")
    assert LiveRound.objects.get(pk=live.pk).status == "question_open"
    assert "ConnectionError" in caplog.text or "Connection refused" in caplog.text


def test_a_frame_is_never_written_with_nan_or_infinity():
    with pytest.raises(ValueError):
        dumps({"t": float("nan")})
    assert dumps({"t": 1.5, "n": "名"}) == '{"t":1.5,"n":"名"}'
