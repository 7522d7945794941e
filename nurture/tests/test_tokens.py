"""Tokens for public email links: a round trip, and forged or cross-kind tokens refused."""

from __future__ import annotations

import pytest

from nurture import tokens


def test_round_trip_and_refusals():
    t = tokens.make("click", 7, url="https://ex.com/pricing")
    assert tokens.read("click", t) == (7, "https://ex.com/pricing")
    assert tokens.read("open", tokens.make("open", 9)) == (9, None)
    with pytest.raises(tokens.BadToken):
        tokens.read("unsubscribe", t)
    with pytest.raises(tokens.BadToken):
        tokens.read("click", t[:-2] + ("A" if t[-2] != "A" else "B") + t[-1])
    with pytest.raises(tokens.BadToken):
        tokens.read("open", "garbage")
    assert tokens.link("open", 3).endswith(".gif")
