"""The contracts the accounts slice publishes: events on ``identity.accounts`` and the
e-mail verification command on ``notification.requests``.

Events carry as little personal data as their consumers need: ``registered`` and ``updated``
carry the e-mail address (notification must reach the person), ``roles_changed`` and
``erased`` carry none. ``tokens_revoked`` tells that a person's tokens were revoked before
their expiry (the verifiers learn it from the revocation list, ADR 0009; the event is for
services that keep sessions or audit trails of their own).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from city_shared.envelope import Event, new_event
from identity_service.accounts.models import Account

__all__ = [
    "ERASED",
    "NOTIFICATION_REQUEST",
    "NOTIFICATION_REQUESTS_TOPIC",
    "REGISTERED",
    "ROLES_CHANGED",
    "TOKENS_REVOKED",
    "UPDATED",
    "VERIFICATION_TEMPLATE",
    "AccountErasedData",
    "AccountRegisteredData",
    "AccountRolesChangedData",
    "AccountTokensRevokedData",
    "AccountUpdatedData",
    "NotificationRequestData",
    "Recipient",
    "RevocationReason",
    "email_verification_request",
    "erased",
    "registered",
    "roles_changed",
    "tokens_revoked",
    "updated",
]

SOURCE = "/identity"
REGISTERED = "city.identity.account.registered.v1"
UPDATED = "city.identity.account.updated.v1"
ROLES_CHANGED = "city.identity.account.roles_changed.v1"
ERASED = "city.identity.account.erased.v1"
TOKENS_REVOKED = "city.identity.account.tokens_revoked.v1"

RevocationReason = Literal["revoked", "refresh_token_reuse", "code_reuse", "password_changed"]

# The command topic belongs to notification; services never import each other, so the name is
# repeated here (it is part of the architecture contract).
NOTIFICATION_REQUESTS_TOPIC = "notification.requests"
NOTIFICATION_REQUEST = "city.notification.request.v1"
VERIFICATION_TEMPLATE = "account-email-verification"


class AccountRegisteredData(BaseModel):
    """``city.identity.account.registered.v1``: an account was created (citizen or staff)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "account_id": "3f2b6c1e-8d4a-4c7e-9b1f-2a6d5e4c3b21",
        "tenant": "musterstadt",
        "kind": "citizen",
        "email": "erika.mustermann@example.org",
        "locale": "de",
    }]})


    account_id: uuid.UUID
    tenant: str
    kind: str
    email: str
    locale: str


class AccountUpdatedData(BaseModel):
    """``city.identity.account.updated.v1``: profile fields changed; ``changed`` names them
    (``email``, ``email_verified``, ``given_name``, ``family_name``, ``locale``)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "account_id": "3f2b6c1e-8d4a-4c7e-9b1f-2a6d5e4c3b21",
        "tenant": "musterstadt",
        "kind": "citizen",
        "changed": ["email", "email_verified"],
        "email": "erika.m@example.org",
        "email_verified": True,
        "locale": "de",
    }]})


    account_id: uuid.UUID
    tenant: str
    kind: str
    changed: list[str]
    email: str | None
    email_verified: bool
    locale: str


class AccountRolesChangedData(BaseModel):
    """``city.identity.account.roles_changed.v1``: a staff member's roles after the change."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "account_id": "7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e41",
        "tenant": "musterstadt",
        "roles": {"museum": ["cashier", "manager"], "pools": ["cashier"]},
    }]})


    account_id: uuid.UUID
    tenant: str
    roles: dict[str, list[str]]


class AccountErasedData(BaseModel):
    """``city.identity.account.erased.v1``: delete or pseudonymise this person's data."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "account_id": "3f2b6c1e-8d4a-4c7e-9b1f-2a6d5e4c3b21", "tenant": "musterstadt",
    }]})


    account_id: uuid.UUID
    tenant: str


class AccountTokensRevokedData(BaseModel):
    """``city.identity.account.tokens_revoked.v1``: tokens of this person were revoked at
    ``not_before``: one access token (``revoked: token``), one login session and its tokens
    (``session``, ``session_id`` names it) or every session (``account``). ``reason``:
    ``revoked`` (the client revoked it: logout), ``refresh_token_reuse`` / ``code_reuse``
    (a stolen grant was replayed), ``password_changed``."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "account_id": "3f2b6c1e-8d4a-4c7e-9b1f-2a6d5e4c3b21",
        "tenant": "musterstadt",
        "reason": "revoked",
        "revoked": "session",
        "session_id": "5e4d3c2b-1a09-4f8e-8d7c-6b5a4f3e2d11",
        "not_before": "2026-05-04T09:12:30Z",
    }]})


    account_id: uuid.UUID
    tenant: str
    reason: RevocationReason
    revoked: Literal["token", "session", "account"]
    session_id: uuid.UUID | None = None
    not_before: datetime


class Recipient(BaseModel):
    """Who a notification is for."""

    account_id: uuid.UUID
    email: str


class NotificationRequestData(BaseModel):
    """``city.notification.request.v1`` (command): "please tell this person this"."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "request_id": "0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c61",
        "tenant": "musterstadt",
        "recipient": {
            "account_id": "3f2b6c1e-8d4a-4c7e-9b1f-2a6d5e4c3b21",
            "email": "erika.mustermann@example.org",
        },
        "template": "account-email-verification",
        "locale": "de",
        "params": {"verification_url": "https://id.musterstadt.example/verify?token=EXAMPLE"},
        "legally_required": True,
    }]})


    request_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    tenant: str
    recipient: Recipient
    template: str
    locale: str
    params: dict[str, str]
    legally_required: bool


def _event(type_: str, account: Account, data: BaseModel) -> Event:
    return new_event(
        type=type_, source=SOURCE, subject=str(account.id), tenant=account.tenant, data=data
    )


def registered(account: Account) -> Event:
    """The registered event of a freshly created account (which has an e-mail address)."""
    assert account.email is not None
    data = AccountRegisteredData(
        account_id=account.id,
        tenant=account.tenant,
        kind=account.kind,
        email=account.email,
        locale=account.locale,
    )
    return _event(REGISTERED, account, data)


def updated(account: Account, changed: list[str]) -> Event:
    """The updated event, with the account's state after the change."""
    data = AccountUpdatedData(
        account_id=account.id,
        tenant=account.tenant,
        kind=account.kind,
        changed=sorted(changed),
        email=account.email,
        email_verified=account.email_verified_at is not None,
        locale=account.locale,
    )
    return _event(UPDATED, account, data)


def roles_changed(account: Account) -> Event:
    """The roles-changed event with the complete roles after the change."""
    data = AccountRolesChangedData(
        account_id=account.id, tenant=account.tenant, roles=account.roles_by_department()
    )
    return _event(ROLES_CHANGED, account, data)


def tokens_revoked(
    account_id: uuid.UUID,
    tenant: str,
    *,
    reason: RevocationReason,
    revoked: Literal["token", "session", "account"],
    not_before: datetime,
    session_id: uuid.UUID | None = None,
) -> Event:
    """The tokens-revoked event (identifiers only)."""
    data = AccountTokensRevokedData(account_id=account_id, tenant=tenant, reason=reason,
                                    revoked=revoked, session_id=session_id,
                                    not_before=not_before)
    return new_event(type=TOKENS_REVOKED, source=SOURCE, subject=str(account_id), tenant=tenant,
                     data=data)


def erased(account: Account) -> Event:
    """The erased event; identifiers only."""
    return _event(ERASED, account, AccountErasedData(account_id=account.id, tenant=account.tenant))


def email_verification_request(account: Account, verification_url: str) -> Event:
    """The command asking notification to send the verification link. Legally required: it is
    sent regardless of the person's contact preferences."""
    assert account.email is not None
    data = NotificationRequestData(
        tenant=account.tenant,
        recipient=Recipient(account_id=account.id, email=account.email),
        template=VERIFICATION_TEMPLATE,
        locale=account.locale,
        params={"verification_url": verification_url},
        legally_required=True,
    )
    return _event(NOTIFICATION_REQUEST, account, data)
