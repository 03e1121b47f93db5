"""Webhook signatures of the sandbox provider (the scheme Stripe uses).

Header ``Sandbox-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>``.
A sender may put several ``v1`` entries (one per active secret). The receiver accepts the body
if any ``v1`` matches any of its active secrets (constant-time comparison) and ``t`` is within
the tolerance of its clock, in either direction. The signature covers the raw bytes, so the
body is verified before it is parsed.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence
from typing import Final

from city_shared.errors import DomainError

__all__ = [
    "SIGNATURE_HEADER",
    "SignatureHeaderMalformed",
    "SignatureMismatch",
    "TimestampOutOfTolerance",
    "sign",
    "signature_header",
    "verify",
]

SIGNATURE_HEADER: Final = "Sandbox-Signature"
_MAX_HEADER: Final = 2048
_MAX_SIGNATURES: Final = 8
_TIMESTAMP: Final = re.compile(r"^[0-9]{1,12}$")
_HEX_SHA256: Final = re.compile(r"^[0-9a-f]{64}$")


class SignatureHeaderMalformed(DomainError):
    """400: the signature header is missing or not of the form ``t=...,v1=...``."""

    status = 400
    code = "signature_header_malformed"
    title = "Malformed signature header"


class SignatureMismatch(DomainError):
    """401: no signature matches the body under any active secret."""

    status = 401
    code = "signature_mismatch"
    title = "Signature does not match"
    default_headers = {"WWW-Authenticate": 'Signature realm="sandbox-webhooks"'}


class TimestampOutOfTolerance(DomainError):
    """401: the signed timestamp is too far from now (an old, replayed or pre-dated body)."""

    status = 401
    code = "timestamp_out_of_tolerance"
    title = "Signature timestamp outside the tolerance"
    default_headers = {"WWW-Authenticate": 'Signature realm="sandbox-webhooks"'}


def sign(body: bytes, secret: str, timestamp: int) -> str:
    """The hex HMAC-SHA256 of ``"<timestamp>.<body>"`` under ``secret``."""
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_header(body: bytes, secrets: Sequence[str], timestamp: int) -> str:
    """The header value signing ``body`` at ``timestamp`` with each of ``secrets``."""
    parts = [f"t={timestamp}", *(f"v1={sign(body, secret, timestamp)}" for secret in secrets)]
    return ",".join(parts)


def _parse(header: str | None) -> tuple[int, list[str]]:
    if not header or len(header) > _MAX_HEADER or not header.isascii():
        raise SignatureHeaderMalformed(f"The {SIGNATURE_HEADER} header is missing or too long.")
    timestamps: list[str] = []
    signatures: list[str] = []
    for part in header.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            raise SignatureHeaderMalformed("Each part of the header must be name=value.")
        if name == "t":
            timestamps.append(value)
        elif name == "v1":
            signatures.append(value)
    if len(timestamps) != 1 or not _TIMESTAMP.fullmatch(timestamps[0]):
        raise SignatureHeaderMalformed("The header needs exactly one timestamp t=<unix seconds>.")
    if not signatures or len(signatures) > _MAX_SIGNATURES:
        raise SignatureHeaderMalformed("The header needs one to eight v1 signatures.")
    if not all(_HEX_SHA256.fullmatch(sig) for sig in signatures):
        raise SignatureHeaderMalformed("A v1 signature must be 64 lower-case hex digits.")
    return int(timestamps[0]), signatures


def verify(
    header: str | None, body: bytes, secrets: Sequence[str], *, tolerance: int, now: int
) -> int:
    """Check ``header`` against the raw ``body``; returns the signed timestamp.

    Every candidate is compared in constant time, and all pairs are compared even after a
    match, so the time taken does not tell which secret or which entry matched.

    :raises SignatureHeaderMalformed: the header is missing or malformed (400).
    :raises SignatureMismatch: no ``v1`` matches under any of ``secrets`` (401).
    :raises TimestampOutOfTolerance: ``|now - t| > tolerance`` (401).
    """
    timestamp, signatures = _parse(header)
    matched = False
    for secret in secrets:
        expected = sign(body, secret, timestamp).encode("ascii")
        for candidate in signatures:
            matched |= hmac.compare_digest(expected, candidate.encode("ascii"))
    if not matched:
        raise SignatureMismatch("The signature does not match the body.")
    if abs(now - timestamp) > tolerance:
        raise TimestampOutOfTolerance(
            f"The signature must be at most {tolerance} seconds old.",
            extra={"tolerance_seconds": tolerance},
        )
    return timestamp
