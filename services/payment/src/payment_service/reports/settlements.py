"""Importing the providers' daily settlements (:meth:`PaymentProvider.settlement`) into
``provider_settlements``, so a report always compares against a fixed, inspectable record of
what the provider said. Flushes, never commits.

A day's import is refreshed when it is missing, or when the ledger booked something for that
day after it was imported (the provider may know more now); otherwise the stored lines stand.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from payment_service.providers.registry import Providers
from payment_service.reports import repository

__all__ = ["current_settlements", "import_settlement"]


async def import_settlement(
    session: AsyncSession, providers: Providers, provider_name: str, tenant: str, day: date
) -> datetime:
    """Fetch ``provider_name``'s settlement of ``day`` and store ``tenant``'s lines of it in
    place of any stored before; returns the import's time. Concurrent imports of one day run
    one after the other.

    :raises UnknownProvider: (503) the provider is not configured here.
    """
    settlement = await providers.get(provider_name).settlement(day)
    lines = [line for line in settlement.lines if line.tenant == tenant]
    imported_at = await repository.claim_import(session, provider_name, tenant, day, len(lines))
    await repository.replace_lines(session, provider_name, tenant, day, [
        {"provider": provider_name, "tenant": tenant, "settled_on": day, "kind": line.kind,
         "payment_id": line.payment_id, "refund_id": line.refund_id,
         "provider_reference": line.provider_reference, "amount": line.amount,
         "currency": line.currency}
        for line in lines
    ])
    await session.flush()
    return imported_at


async def current_settlements(
    session: AsyncSession, providers: Providers, tenant: str, day: date
) -> dict[str, datetime]:
    """Make sure the settlement of ``day`` of every configured provider ``tenant`` uses is
    imported and not older than the day's last booking; returns provider -> imported at."""
    imported = await repository.imports(session, tenant, day)
    last_booked = await repository.last_booking(session, tenant, day)
    for name in await repository.providers_of(session, tenant):
        if name not in providers:
            continue
        at = imported.get(name)
        if at is None or (last_booked is not None and last_booked > at):
            imported[name] = await import_settlement(session, providers, name, tenant, day)
    return imported
