"""The scope catalogue: every scope a client may be allowed. One place, so discovery, the admin
API and the token endpoint agree; a service that needs a new scope adds it here."""

from __future__ import annotations

from typing import Final, Literal

#: OpenID Connect scopes: only meaningful for a person's login (authorization code).
OIDC_SCOPES: Final = {
    "openid": "Sign in with OpenID Connect (ID token, /userinfo)",
    "profile": "Name and preferred language",
    "email": "E-mail address and whether it is verified",
}

#: Service scopes: what a token lets its holder do at the other services. A person's token
#: reaches a service only with one of that service's scopes (``<service>:...``, ADR 0009);
#: its roles then decide what the person may do there.
SERVICE_SCOPES: Final = {
    "case:read": "Read cases",
    "case:write": "Create and update cases",
    "case:intake": "Deliver applications from an outside online service",
    "payment:read": "Read payments and refunds",
    "payment:write": "Request and cancel payments",
    "payment:refund": "Refund payments",
    "payment:reports": "Read ledger balances and reconciliation reports",
    "notification:read": "Read the inbox, contact preferences and notification records",
    "notification:send": "Ask notification to tell a person something",
    "ticketing:read": "Read offerings, orders and tickets",
    "ticketing:write": "Place and change orders",
}

SCOPES: Final = {**OIDC_SCOPES, **SERVICE_SCOPES}

GrantType = Literal["authorization_code", "refresh_token", "client_credentials"]


def parse_scope(value: str) -> tuple[str, ...]:
    """The scopes of a space-separated ``scope`` parameter, deduplicated, in order."""
    return tuple(dict.fromkeys(value.split()))


def format_scope(scopes: tuple[str, ...] | list[str]) -> str:
    """The ``scope`` parameter for ``scopes``."""
    return " ".join(scopes)
