"""accounts.counters: the counters every limit counts with (docs/security.md)."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from accounts.counters import address_key, count, uncount


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("::ffff:203.0.113.7", "203.0.113.7"),  # IPv4 over an IPv6 socket is the IPv4 address
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2::ffff", "2001:db8:1:2::/64"),
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ("", None),
        (None, None),
        ("unix-socket", None),
    ],
)
def test_an_address_counts_whole_in_ipv4_and_by_its_64_in_ipv6(address, key):
    assert address_key(address) == key


def test_a_count_goes_up_one_at_a_time_and_gives_back_on_uncount():
    cache.delete("t:count")
    assert [count("t:count", window=60) for _ in range(3)] == [1, 2, 3]
    uncount("t:count")
    assert count("t:count", window=60) == 3


def test_a_count_starts_again_when_its_window_has_ended(monkeypatch):
    cache.delete("t:gone")
    count("t:gone", window=60)
    # The window ends between add() and incr(): the key is gone when incr runs.
    monkeypatch.setattr(cache, "add", lambda key, *a, **k: cache.delete(key) and False)
    assert count("t:gone", window=60) == 1
    uncount("t:never")  # nothing to give back: no error
