"""Signed ticket payloads: what the QR code carries, and how a gate checks it offline.

A payload is a compact JWS (``alg`` ``EdDSA``, Ed25519, header ``kid`` = the RFC 7638 thumbprint
of the key) over a small JSON object, kept short so the QR code stays easy to scan::

    {"tid": "<ticket id>", "c": "<code>", "tn": "<tenant>", "d": ["museum", "pools"],
     "nbf": <unix seconds>, "exp": <unix seconds>}

The service signs with the first key of ``ticket_signing_keys`` and publishes every key's
public half (``GET /tickets/keys``), so tickets signed before a rotation still verify.
:func:`verify` needs nothing but that public JWKS: a gate can run it without the service.
It checks the signature only; whether the ticket admits now (``nbf``/``exp``, visits, void)
is the check-in's business, because the database knows more than the payload.
"""

from __future__ import annotations

import json
import uuid
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from joserfc import jws
from joserfc.errors import JoseError, SecurityWarning
from joserfc.jwk import KeySet, OKPKey
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from city_shared.encoding import b64url_decode

__all__ = [
    "ALGORITHM",
    "InvalidPayload",
    "TicketClaims",
    "TicketSigner",
    "public_jwks",
    "verify",
]

ALGORITHM: Final = "EdDSA"
_MAX_PAYLOAD_CHARS: Final = 2048


class InvalidPayload(Exception):
    """The payload is not a ticket signed by one of the published keys (or is malformed)."""


class TicketClaims(BaseModel):
    """What a signed payload states about a ticket."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    tid: uuid.UUID
    c: str = Field(min_length=1, max_length=32)
    tn: str = Field(min_length=1, max_length=63)
    d: list[str] = Field(default_factory=list)
    nbf: int
    exp: int


@contextmanager
def _eddsa_allowed() -> Iterator[None]:
    # RFC 9864 deprecates the polymorphic "EdDSA" name in favour of "Ed25519"; gates and the
    # platform's other verifiers still speak "EdDSA", the signature bytes are identical.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=SecurityWarning)
        yield


def _private_key(seed: str) -> OKPKey:
    try:
        raw = b64url_decode(seed)
        return OKPKey.import_key(Ed25519PrivateKey.from_private_bytes(raw))
    except ValueError as exc:
        raise ValueError("a ticket signing key is not a base64url 32-byte Ed25519 seed") from exc


@dataclass(frozen=True)
class _Key:
    kid: str
    key: OKPKey


class TicketSigner:
    """Signs ticket payloads with the first of ``seeds`` and publishes all of them.

    :raises ValueError: a seed is not a base64url 32-byte Ed25519 seed, or none is given.
    """

    def __init__(self, seeds: Sequence[SecretStr | str]) -> None:
        if not seeds:
            raise ValueError("at least one ticket signing key is needed")
        keys = []
        for seed in seeds:
            value = seed.get_secret_value() if isinstance(seed, SecretStr) else seed
            key = _private_key(value)
            keys.append(_Key(key.thumbprint(), key))
        self._keys: tuple[_Key, ...] = tuple(keys)

    @property
    def kid(self) -> str:
        """The thumbprint of the key that signs new payloads."""
        return self._keys[0].kid

    def sign(self, claims: TicketClaims, *, key_index: int = 0) -> str:
        """The compact JWS of ``claims`` (``key_index`` > 0 only to test rotation)."""
        key = self._keys[key_index]
        body = json.dumps(claims.model_dump(mode="json"), separators=(",", ":"),
                          ensure_ascii=False).encode()
        with _eddsa_allowed():
            return jws.serialize_compact({"alg": ALGORITHM, "kid": key.kid}, body, key.key,
                                         algorithms=[ALGORITHM])

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """The public keys as a JWKS (no private parts)."""
        return public_jwks(k.key for k in self._keys)


def public_jwks(keys: Any) -> dict[str, list[dict[str, str]]]:
    """A JWKS of the public halves of ``keys`` (iterable of :class:`OKPKey`)."""
    out: list[dict[str, str]] = []
    for key in keys:
        public = {str(k): str(v) for k, v in key.as_dict(private=False).items()}
        public.update(kid=key.thumbprint(), alg=ALGORITHM, use="sig")
        out.append(public)
    return {"keys": out}


def claims_for(ticket_id: uuid.UUID, code: str, tenant: str, departments: Sequence[str],
               valid_from: datetime, valid_until: datetime) -> TicketClaims:
    """The claims of a ticket (``nbf``/``exp`` in whole seconds)."""
    return TicketClaims(tid=ticket_id, c=code, tn=tenant, d=list(departments),
                        nbf=int(valid_from.timestamp()), exp=int(valid_until.timestamp()))


def verify(payload: str, jwks: dict[str, Any]) -> TicketClaims:
    """The claims of ``payload`` if its signature verifies with a key of the public ``jwks``.

    Runs offline (a gate holds the JWKS of ``GET /tickets/keys``). Accepts only ``EdDSA``
    with an Ed25519 key named by ``kid``; does not check ``nbf``/``exp``.

    :raises InvalidPayload: malformed, unknown ``kid``, wrong algorithm, bad signature or
        claims that are not a ticket's. The reason is deliberately not told apart.
    """
    if not isinstance(payload, str) or not payload or len(payload) > _MAX_PAYLOAD_CHARS:
        raise InvalidPayload("not a ticket payload")
    try:
        key_set = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
        with _eddsa_allowed():
            header = jws.extract_compact(payload.encode("ascii")).protected
            if header.get("alg") != ALGORITHM or not isinstance(header.get("kid"), str):
                raise InvalidPayload("not a ticket payload")
            key = key_set.get_by_kid(header["kid"])
            if not isinstance(key, OKPKey) or key.curve_name != "Ed25519":
                raise InvalidPayload("not a ticket payload")
            obj = jws.deserialize_compact(payload, key, algorithms=[ALGORITHM])
        return TicketClaims.model_validate_json(obj.payload)
    except InvalidPayload:
        raise
    except (JoseError, ValueError, KeyError, TypeError, UnicodeError, ValidationError) as exc:
        raise InvalidPayload("not a ticket payload") from exc
