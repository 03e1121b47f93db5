"""How a login's level of assurance is determined, behind an adapter a city can replace.

A password proves ``basic``. Higher levels come from an :class:`ExternalIdentityProvider`: an
eID broker (BundID, a Keycloak brokering the German eID) asserts who the person is and at which
level. A real broker is a redirect round trip; its callback half is what ``assert_identity``
models: given the parameters of the callback, the account and the level it was proven at.

:class:`SandboxEidProvider` stands in for such a broker in a local demo only (setting
``sandbox_eid_enabled``, loopback issuers only): it "proves" an existing account of the tenant
at ``substantial`` from its e-mail address alone, without any proofing.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Final, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from city_shared.auth.principal import AcrLevel
from identity_service.accounts import repository as accounts
from identity_service.accounts.emails import normalise_email
from identity_service.oauth.acr import LEVELS

__all__ = ["PASSWORD_LEVEL", "ExternalIdentityProvider", "IdentityNotAsserted",
           "SandboxEidProvider", "highest_level"]

#: What a password login proves.
PASSWORD_LEVEL: Final[AcrLevel] = "basic"  # noqa: S105 (a level, not a password)


class IdentityNotAsserted(Exception):
    """The provider did not vouch for an account of this tenant (unknown person, declined)."""


class ExternalIdentityProvider(Protocol):
    """An identity provider that proves who a person is, at some level of assurance.

    ``method`` names it in the login form; ``level`` is the highest level it can assert (the
    login page offers it only for requests it can satisfy).
    """

    @property
    def method(self) -> str: ...

    @property
    def level(self) -> AcrLevel: ...

    async def assert_identity(
        self,
        session: AsyncSession,
        *,
        tenant: str,
        params: Mapping[str, str],
        now: datetime,
    ) -> tuple[uuid.UUID, AcrLevel]:
        """``(account_id, acr)`` of the person the provider vouches for in ``tenant``.

        :raises IdentityNotAsserted: the provider does not vouch for an active account.
        """
        ...


class SandboxEidProvider:
    """The local demo's stand-in for an eID broker: asserts ``substantial`` for the active
    account of the tenant with the e-mail address given in ``params["email"]``."""

    method: Final = "sandbox_eid"
    level: Final[AcrLevel] = "substantial"

    async def assert_identity(
        self,
        session: AsyncSession,
        *,
        tenant: str,
        params: Mapping[str, str],
        now: datetime,
    ) -> tuple[uuid.UUID, AcrLevel]:
        """See :class:`ExternalIdentityProvider`; ``now`` is unused (no expiring assertion)."""
        try:
            email = normalise_email(params.get("email", ""))
        except ValueError:
            raise IdentityNotAsserted("no valid e-mail address") from None
        account = await accounts.get_by_email(session, tenant, email)
        if account is None or account.status != "active":
            raise IdentityNotAsserted("no active account")
        return account.id, self.level


def highest_level(providers: Sequence[ExternalIdentityProvider]) -> AcrLevel:
    """The highest level any login method of this issuer can prove."""
    ranks = [LEVELS.index(PASSWORD_LEVEL), *(LEVELS.index(p.level) for p in providers)]
    return LEVELS[max(ranks)]
