"""Settings of the identity service (environment prefix ``CITY_``)."""

from typing import Final, Self
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from city_shared.encoding import b64url_decode
from city_shared.production import MISSING, PUBLISHED, Finding, published
from city_shared.settings import ServiceSettings

#: DEVELOPMENT ONLY, NOT SECRET: the key-encryption key used while CITY_KEY_ENCRYPTION_KEY is unset.
DEV_KEY_ENCRYPTION_KEY: Final = b"city-platform-DEV-ONLY-kek-00000"
#: DEVELOPMENT ONLY, NOT SECRET: the default of CITY_CSRF_SECRET (the login form's CSRF tokens).
DEV_CSRF_SECRET: Final = "city-platform-DEV-ONLY-login-csrf-secret"  # noqa: S105


class IdentitySettings(ServiceSettings):
    """Identity's settings; it serves the JWKS the others verify against on port 8001."""

    service_name: str = "identity"
    http_port: int = 8001
    # accounts: login throttling and e-mail verification
    login_max_failures: int = Field(default=5, ge=1)
    login_lockout_seconds: int = Field(default=15 * 60, ge=1)
    email_verification_ttl_seconds: int = Field(default=24 * 3600, ge=60)
    email_verification_url: str = "http://localhost:3000/verify-email"
    # OAuth2 / OpenID Connect issuer (slices keys, clients, oauth)
    key_encryption_key: SecretStr | None = None
    """base64url of 32 random bytes; encrypts the signing keys at rest (JWE ``dir`` +
    ``A256GCM``). Unset: a published development key is used and a warning is logged
    (production refuses to start)."""
    csrf_secret: SecretStr = Field(default=SecretStr(DEV_CSRF_SECRET), min_length=32)
    """At least 32 characters; signs the login form's CSRF tokens. Independent of the
    key-encryption key, so neither gives away the other."""
    signing_key_bits: int = Field(default=3072, ge=2048, le=8192)
    access_token_ttl_seconds: int = Field(default=600, ge=60, le=3600)
    refresh_token_ttl_seconds: int = Field(default=24 * 3600, ge=300)
    authorization_code_ttl_seconds: int = Field(default=60, ge=10, le=600)
    key_publish_margin_seconds: int = Field(default=300, ge=0)
    jwks_max_age_seconds: int = Field(default=300, ge=0, le=3600)
    sandbox_eid_enabled: bool = False
    """Offer the sandbox eID login (level ``substantial`` without real proofing): local demo
    only, refused unless the issuer is a loopback address."""

    @field_validator("key_encryption_key")
    @classmethod
    def _kek_is_32_bytes(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        raw = value.get_secret_value()
        try:
            decoded = b64url_decode(raw)
        except ValueError:
            raise ValueError("key_encryption_key must be base64url") from None
        if len(decoded) != 32:
            raise ValueError("key_encryption_key must encode exactly 32 bytes")
        return value

    @model_validator(mode="after")
    def _sandbox_only_on_loopback(self) -> Self:
        host = urlsplit(self.auth_issuer).hostname
        if self.sandbox_eid_enabled and host not in {"127.0.0.1", "localhost", "::1"}:
            raise ValueError("sandbox_eid_enabled is for a local demo: the issuer must be loopback")
        return self

    @property
    def key_encryption_key_bytes(self) -> bytes | None:
        """The configured key-encryption key (32 bytes), or None while it is unset."""
        if self.key_encryption_key is None:
            return None
        return b64url_decode(self.key_encryption_key.get_secret_value())

    def development_settings(self) -> list[Finding]:
        """Adds the key-encryption key, the CSRF secret and the sandbox eID."""
        findings = super().development_settings()
        kek = self.key_encryption_key_bytes
        if kek is None:
            findings.append(Finding(self.variable("key_encryption_key"), MISSING))
        elif kek == DEV_KEY_ENCRYPTION_KEY:
            findings.append(Finding(self.variable("key_encryption_key"), PUBLISHED))
        if published(self.csrf_secret, DEV_CSRF_SECRET):
            findings.append(Finding(self.variable("csrf_secret"), PUBLISHED))
        if self.sandbox_eid_enabled:
            findings.append(Finding(
                self.variable("sandbox_eid_enabled"),
                "enables the sandbox eID (anyone logs in at level 'substantial' with an e-mail "
                "address alone)"))
        return findings
