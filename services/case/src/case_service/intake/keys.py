"""The destinations' keys: RSA key pairs whose public half is published as a JWK (encryption:
``use enc``, ``alg RSA-OAEP-256``; signing the event log: ``use sig``, ``alg PS512``) and whose
private half is kept encrypted at rest under the key-encryption key (KEK), and the one way
payloads are decrypted (compact JWE, ``RSA-OAEP-256`` + ``A256GCM``, nothing else).

The KEK comes from ``CaseSettings.intake_key_encryption_key`` (base64url of 32 bytes); while that
setting does not exist or is unset, a development KEK published in this file is used.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Final

from joserfc import jwe
from joserfc.errors import JoseError
from joserfc.jwe import JWERegistry
from joserfc.jwk import OctKey, RSAKey

from case_service.settings import DEV_INTAKE_KEY_ENCRYPTION_KEY, CaseSettings
from city_shared.encoding import b64url_decode

__all__ = ["ALG", "DEV_INTAKE_KEK", "ENC", "SIGNING_ALG", "DecryptionFailed", "KeyCipher", "NewKey",
           "StoredKeyUnreadable", "cipher_from_settings", "decrypt_payload", "new_key"]

ALG: Final = "RSA-OAEP-256"
ENC: Final = "A256GCM"
SIGNING_ALG: Final = "PS512"
_PAYLOAD_ALGORITHMS: Final = [ALG, ENC]
_KEK_ALGORITHMS: Final = ["dir", "A256GCM"]
#: DEVELOPMENT ONLY, NOT SECRET: the KEK while ``CITY_INTAKE_KEY_ENCRYPTION_KEY`` is unset.
DEV_INTAKE_KEK: Final = b64url_decode(DEV_INTAKE_KEY_ENCRYPTION_KEY)


class StoredKeyUnreadable(RuntimeError):
    """A destination's stored private key cannot be decrypted: another KEK is configured than
    the one it was stored under (an operator's fault, not the sender's)."""


class DecryptionFailed(Exception):
    """A payload could not be decrypted: another key, another algorithm, tampering. The
    message names the kind of failure only."""


@dataclass(frozen=True)
class NewKey:
    """A fresh key pair: ``kid``, the public JWK to publish, the private JWK to encrypt."""

    kid: str
    public_jwk: dict[str, Any]
    private_jwk: dict[str, Any]


def new_key(bits: int = 4096, *, use: str = "enc") -> NewKey:
    """A new RSA key, for encryption (``use enc``, ``alg RSA-OAEP-256``) or for signing the
    event log (``use sig``, ``alg PS512``); ``kid`` is its RFC 7638 thumbprint."""
    alg = ALG if use == "enc" else SIGNING_ALG
    key = RSAKey.generate_key(bits, parameters={"use": use, "alg": alg})
    kid = key.thumbprint()
    # No ``key_ops`` beside ``use`` (RFC 7517 4.3: not both); joserfc would also refuse
    # ``wrapKey`` for RSA-OAEP, which it checks as ``encrypt``.
    public = {**key.as_dict(private=False), "kid": kid}
    private = {**key.as_dict(private=True), "kid": kid}
    return NewKey(kid=kid, public_jwk=dict(public), private_jwk=dict(private))


class KeyCipher:
    """Encrypts and decrypts private JWKs under one KEK (compact JWE ``dir`` + ``A256GCM``;
    the header names the KEK by a fingerprint, never the key)."""

    def __init__(self, kek: bytes) -> None:
        if len(kek) != 32:
            raise ValueError("the key-encryption key must be 32 bytes")
        self._key = OctKey.import_key(kek)
        self.kid = "kek-" + hashlib.sha256(b"kek-id:" + kek).hexdigest()[:16]

    def encrypt(self, private_jwk: dict[str, Any]) -> str:
        header = {"alg": "dir", "enc": "A256GCM", "kid": self.kid, "cty": "jwk+json"}
        plaintext = json.dumps(private_jwk, separators=(",", ":")).encode()
        return jwe.encrypt_compact(header, plaintext, self._key, algorithms=_KEK_ALGORITHMS)

    def private_key(self, token: str) -> RSAKey:
        """The private key in ``token``. :raises StoredKeyUnreadable: other KEK, tampering."""
        try:
            obj = jwe.decrypt_compact(token, self._key, algorithms=_KEK_ALGORITHMS)
            assert obj.plaintext is not None
            return RSAKey.import_key(json.loads(obj.plaintext))
        except (JoseError, ValueError) as exc:
            raise StoredKeyUnreadable(f"stored key not readable with KEK {self.kid}: "
                                   f"{type(exc).__name__}") from None


def cipher_from_settings(settings: CaseSettings) -> KeyCipher:
    """The cipher of the configured KEK (``intake_key_encryption_key``; development: the
    published :data:`DEV_INTAKE_KEK`)."""
    return KeyCipher(b64url_decode(settings.intake_key_encryption_key.get_secret_value()))


def decrypt_payload(token: str, key: RSAKey, kid: str, *, max_bytes: int) -> bytes:
    """The plaintext of the compact JWE ``token`` addressed to ``key``, at most ``max_bytes``.

    Only ``alg RSA-OAEP-256`` with ``enc A256GCM`` and no compression are accepted, and the
    header's ``kid``, if any, must be the destination's.

    :raises DecryptionFailed: anything else, a wrong key or a tampered ciphertext.
    """
    # joserfc refuses ciphertexts over 64 KiB by default; attachments may be larger.
    registry = JWERegistry(algorithms=_PAYLOAD_ALGORITHMS)
    registry.max_ciphertext_length = max(registry.max_ciphertext_length, max_bytes)
    try:
        obj = jwe.decrypt_compact(token, key, registry=registry)
    except (JoseError, ValueError, TypeError) as exc:
        raise DecryptionFailed(type(exc).__name__) from None
    header = obj.headers()
    if header.get("alg") != ALG or header.get("enc") != ENC or "zip" in header:
        raise DecryptionFailed("algorithm")
    if header.get("kid", kid) != kid:
        raise DecryptionFailed("kid")
    if obj.plaintext is None:
        raise DecryptionFailed("empty")
    return obj.plaintext
