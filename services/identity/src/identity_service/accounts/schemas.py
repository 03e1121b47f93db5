"""HTTP models of the self-service API: ``CitizenCreate`` / ``AccountUpdate`` / ``AccountRead``,
verified attributes, password change, e-mail verification and the data export.

E-mail addresses are normalised on input (:func:`normalise_email`); secrets are bounded here
and judged by the password policy in the service, which knows the e-mail address.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from city_shared.auth import AcrLevel
from city_shared.text import PlainText, Secret
from identity_service.accounts.emails import MAX_EMAIL_LENGTH, normalise_email
from identity_service.accounts.models import Account

__all__ = [
    "AccountExport",
    "AccountRead",
    "AccountUpdate",
    "AttributeRead",
    "CitizenCreate",
    "Email",
    "EmailVerificationCreate",
    "Locale",
    "PasswordChange",
    "PersonalData",
    "VerifiedAttributeRead",
    "VerifiedAttributesRead",
]

Email = Annotated[
    str,
    Field(max_length=MAX_EMAIL_LENGTH, examples=["erika.mustermann@example.org"]),
    AfterValidator(normalise_email),
]
Locale = Literal["de", "en"]
VerificationToken = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{20,128}$")]

_PERSON = {"given_name": "Erika", "family_name": "Mustermann"}


class CitizenCreate(BaseModel):
    """A citizen's registration. The password must have 10 to 1024 characters and must not
    contain the e-mail address."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"email": "erika.mustermann@example.org",
                          "password": "korrekt-Pferd-Batterie-Heftklammer",
                          **_PERSON, "locale": "de"}]
        },
    )

    email: Email
    password: Secret
    given_name: PlainText | None = None
    family_name: PlainText | None = None
    locale: Locale = "de"


class AccountUpdate(BaseModel):
    """Profile changes; omitted fields stay. A new e-mail address must be verified again."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"family_name": "Musterfrau", "locale": "en"}]},
    )

    email: Email | None = None
    given_name: PlainText | None = None
    family_name: PlainText | None = None
    locale: Locale | None = None

    @model_validator(mode="after")
    def _no_removal_of_required_fields(self) -> AccountUpdate:
        for name in ("email", "locale"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be removed, only changed")
        return self


class PasswordChange(BaseModel):
    """The current password (proof) and the new one (checked against the policy)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"current_password": "korrekt-Pferd-Batterie-Heftklammer",
                          "new_password": "Ein-neues-langes-Passwort-2026"}]
        },
    )

    current_password: Secret
    new_password: Secret


class EmailVerificationCreate(BaseModel):
    """The token from the verification link."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"token": "q3Zk0m3yQfGm7lOq0xFh1Zt7R3l0bm9uZS1sb25nLXRva2Vu"}]
        },
    )

    token: VerificationToken


class RegistrationAccepted(BaseModel):
    """The answer to a registration, the same whether or not the address already had an
    account (so it reveals none): a verification link goes to a new address."""

    tenant: str
    email: str = Field(description="The address as it will be used (normalised).")


class AccountRead(BaseModel):
    """An account as its owner sees it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{
                "id": "1f0c8c7e-3a52-5b7e-9b7a-2d4f1e0c9a11", "tenant": "musterstadt",
                "kind": "citizen", "email": "erika.mustermann@example.org",
                "email_verified": True, **_PERSON, "locale": "de", "status": "active",
                "admin": None, "roles": {}, "created_at": "2026-11-26T10:00:00Z",
            }]
        }
    )

    id: uuid.UUID
    tenant: str
    kind: str
    email: str | None
    email_verified: bool
    given_name: str | None
    family_name: str | None
    locale: str
    status: str
    admin: str | None
    roles: dict[str, list[str]]
    created_at: datetime

    @classmethod
    def of(cls, account: Account) -> AccountRead:
        """The view of ``account``."""
        return cls(
            id=account.id,
            tenant=account.tenant,
            kind=account.kind,
            email=account.email,
            email_verified=account.email_verified_at is not None,
            given_name=account.given_name,
            family_name=account.family_name,
            locale=account.locale,
            status=account.status,
            admin=account.admin,
            roles=account.roles_by_department(),
            created_at=account.created_at,
        )


class AttributeRead(BaseModel):
    """A verified attribute and the level of assurance it was proven at."""

    model_config = ConfigDict(from_attributes=True)

    name: str
    value: str
    loa: str
    source: str
    verified_at: datetime


class VerifiedAttributeRead(BaseModel):
    """One verified attribute of the caller: its value, the level of assurance it was proven
    at and by whom (``eid-sandbox``, ``self-declared``, ...)."""

    name: str = Field(examples=["birth_date"])
    value: str = Field(examples=["1964-08-12"])
    level: AcrLevel = Field(description="The level of assurance the value was proven at.")
    source: str = Field(examples=["eid-sandbox"])
    verified_at: datetime


class VerifiedAttributesRead(BaseModel):
    """The caller's verified attributes, sorted by name (e.g. to prefill an application)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"attributes": [
                {"name": name, "value": value, "level": "substantial", "source": "eid-sandbox",
                 "verified_at": "2026-11-26T10:00:00Z"}
                for name, value in (("birth_date", "1964-08-12"), ("family_name", "Mustermann"),
                                    ("given_name", "Erika"), ("locality", "Musterstadt"),
                                    ("postal_code", "12345"),
                                    ("street_address", "Musterstraße 1"))
            ]}]
        }
    )

    attributes: list[VerifiedAttributeRead]

    @classmethod
    def of(cls, account: Account) -> VerifiedAttributesRead:
        """The attributes of ``account``, by name."""
        return cls(attributes=[
            # Validated, not cast: ``loa`` is a plain string column (a CHECK keeps it a level).
            VerifiedAttributeRead.model_validate({
                "name": a.name, "value": a.value, "level": a.loa, "source": a.source,
                "verified_at": a.verified_at,
            })
            for a in sorted(account.attributes, key=lambda a: a.name)
        ])


class PersonalData(BaseModel):
    """Every column identity keeps about the account (the password only as "is set")."""

    id: uuid.UUID
    tenant: str
    kind: str
    email: str | None
    email_verified_at: datetime | None
    given_name: str | None
    family_name: str | None
    locale: str
    admin: str | None
    status: str
    password_set: bool
    failed_logins: int
    locked_until: datetime | None
    last_login_at: datetime | None
    created_at: datetime
    updated_at: datetime


class AccountExport(BaseModel):
    """All personal data identity holds about the caller (GDPR Art. 15 and 20)."""

    exported_at: datetime
    account: PersonalData
    attributes: list[AttributeRead]
    roles: dict[str, list[str]]

    @classmethod
    def of(cls, account: Account, now: datetime) -> AccountExport:
        """The export of ``account`` as of ``now``."""
        data = PersonalData(
            id=account.id,
            tenant=account.tenant,
            kind=account.kind,
            email=account.email,
            email_verified_at=account.email_verified_at,
            given_name=account.given_name,
            family_name=account.family_name,
            locale=account.locale,
            admin=account.admin,
            status=account.status,
            password_set=account.password_hash is not None,
            failed_logins=account.failed_logins,
            locked_until=account.locked_until,
            last_login_at=account.last_login_at,
            created_at=account.created_at,
            updated_at=account.updated_at,
        )
        return cls(
            exported_at=now,
            account=data,
            attributes=[AttributeRead.model_validate(a) for a in account.attributes],
            roles=account.roles_by_department(),
        )
