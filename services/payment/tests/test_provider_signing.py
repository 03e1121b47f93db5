"""Unit: the sandbox webhook signature scheme (no I/O)."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from payment_service.providers.signing import (
    SignatureHeaderMalformed,
    SignatureMismatch,
    TimestampOutOfTolerance,
    sign,
    signature_header,
    verify,
)

BODY = b'{"id":"evt_1","type":"payment.succeeded"}'
SECRETS = ["secret-number-one-0001", "secret-number-two-0002"]
NOW = 1_790_000_000


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    expected = hmac.new(b"k" * 16, b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert sign(BODY, "k" * 16, 1700000000) == expected
    assert signature_header(BODY, ["k" * 16], 1700000000) == f"t=1700000000,v1={expected}"


@pytest.mark.parametrize("signer", SECRETS)
def test_any_active_secret_verifies(signer: str) -> None:
    header = signature_header(BODY, [signer], NOW)
    assert verify(header, BODY, SECRETS, tolerance=300, now=NOW + 300) == NOW


def test_one_matching_entry_among_several_is_enough() -> None:
    header = signature_header(BODY, ["unknown-secret-00000", SECRETS[1]], NOW)
    assert verify(header, BODY, SECRETS, tolerance=300, now=NOW) == NOW


@pytest.mark.parametrize("body", [BODY + b" ", b"", BODY.replace(b"succeeded", b"failed")])
def test_another_body_does_not_verify(body: bytes) -> None:
    header = signature_header(BODY, SECRETS[:1], NOW)
    with pytest.raises(SignatureMismatch):
        verify(header, body, SECRETS, tolerance=300, now=NOW)


def test_a_retired_secret_does_not_verify() -> None:
    header = signature_header(BODY, ["retired-secret-0000000"], NOW)
    with pytest.raises(SignatureMismatch):
        verify(header, BODY, SECRETS, tolerance=300, now=NOW)


@pytest.mark.parametrize("now", [NOW + 301, NOW - 301, NOW + 10**6])
def test_outside_the_window_is_rejected_even_when_signed(now: int) -> None:
    header = signature_header(BODY, SECRETS[:1], NOW)
    with pytest.raises(TimestampOutOfTolerance):
        verify(header, BODY, SECRETS, tolerance=300, now=now)


def test_the_timestamp_is_covered_by_the_signature() -> None:
    header = signature_header(BODY, SECRETS[:1], NOW - 3600)
    moved = header.replace(f"t={NOW - 3600}", f"t={NOW}")
    with pytest.raises(SignatureMismatch):
        verify(moved, BODY, SECRETS, tolerance=300, now=NOW)


@pytest.mark.parametrize("header", [
    None, "", "t=1", "v1=" + "a" * 64, "t=,v1=" + "a" * 64, "t=-1,v1=" + "a" * 64,
    "t=1,v1=" + "A" * 64, "t=1,v1=" + "a" * 63, "t=1,v1", "t=1 v1=" + "a" * 64,
    "t=" + "9" * 13 + ",v1=" + "a" * 64, "x" * 3000,
])
def test_malformed_headers_are_rejected(header: str | None) -> None:
    with pytest.raises(SignatureHeaderMalformed):
        verify(header, BODY, SECRETS, tolerance=300, now=NOW)
