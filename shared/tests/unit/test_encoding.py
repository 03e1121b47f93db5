"""Unpadded base64url: round-trips, accepts padding, refuses other alphabets."""

from __future__ import annotations

import pytest

from city_shared.encoding import b64url_decode, b64url_encode


@pytest.mark.parametrize("data", [b"", b"a", b"ab", b"abc", bytes(range(256)), b"\xfb\xff"])
def test_round_trip_without_padding(data: bytes) -> None:
    text = b64url_encode(data)
    assert "=" not in text
    assert "+" not in text
    assert "/" not in text
    assert b64url_decode(text) == data


def test_padding_is_accepted() -> None:
    assert b64url_decode("YQ==") == b"a"


@pytest.mark.parametrize("text", ["+/8", "a b", "YQ\n", "ü", "A", "AAAAA"])
def test_other_alphabets_and_impossible_lengths_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="base64url"):
        b64url_decode(text)
