"""Encryption of private signing keys at rest: compact JWE, ``dir`` + ``A256GCM`` (joserfc).

The key-encryption key (KEK) comes from ``CITY_KEY_ENCRYPTION_KEY``. Without it a development KEK
that is published in this file is used, and :func:`cipher_from_settings` says so, so the
caller can log a warning: keys encrypted under it are as good as plain text.
"""

from __future__ import annotations

import hashlib
import json
from typing import Final

from joserfc import jwe
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

from identity_service.settings import DEV_KEY_ENCRYPTION_KEY, IdentitySettings

__all__ = ["DEV_KEY_ENCRYPTION_KEY", "KeyDecryptionFailed", "PrivateKeyCipher",
           "cipher_from_settings"]

_ALGORITHMS: Final = ["dir", "A256GCM"]


class KeyDecryptionFailed(Exception):
    """A stored private key cannot be decrypted: wrong KEK (see the JWE ``kid``) or tampering."""


class PrivateKeyCipher:
    """Encrypts and decrypts private JWKs under one KEK.

    The JWE header names the KEK by ``kid`` (a fingerprint, never the key), so a key encrypted
    under another KEK is recognised as such instead of failing obscurely.
    """

    def __init__(self, kek: bytes) -> None:
        if len(kek) != 32:
            raise ValueError("the key-encryption key must be 32 bytes")
        self._key = OctKey.import_key(kek)
        self.kid = "kek-" + hashlib.sha256(b"kek-id:" + kek).hexdigest()[:16]

    def encrypt(self, private_jwk: dict[str, str]) -> str:
        """The compact JWE of ``private_jwk`` (a JSON object)."""
        header = {"alg": "dir", "enc": "A256GCM", "kid": self.kid, "cty": "jwk+json"}
        plaintext = json.dumps(private_jwk, separators=(",", ":")).encode()
        return jwe.encrypt_compact(header, plaintext, self._key, algorithms=_ALGORITHMS)

    def decrypt(self, token: str) -> dict[str, str]:
        """The private JWK in ``token``. :raises KeyDecryptionFailed: see the class."""
        try:
            obj = jwe.decrypt_compact(token, self._key, algorithms=_ALGORITHMS)
        except (JoseError, ValueError) as exc:
            raise KeyDecryptionFailed(
                f"cannot decrypt a signing key with KEK {self.kid}: {type(exc).__name__}"
            ) from None
        kid = obj.headers().get("kid")
        if kid != self.kid:
            raise KeyDecryptionFailed(f"signing key was encrypted under KEK {kid}")
        assert obj.plaintext is not None
        data = json.loads(obj.plaintext)
        if not isinstance(data, dict):
            raise KeyDecryptionFailed("decrypted signing key is not a JSON object")
        return {str(k): str(v) for k, v in data.items()}


def cipher_from_settings(settings: IdentitySettings) -> tuple[PrivateKeyCipher, bool]:
    """The cipher for the configured KEK and whether the development KEK had to be used."""
    kek = settings.key_encryption_key_bytes
    if kek is None:
        return PrivateKeyCipher(DEV_KEY_ENCRYPTION_KEY), True
    return PrivateKeyCipher(kek), False
