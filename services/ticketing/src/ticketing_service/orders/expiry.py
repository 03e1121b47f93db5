"""The hold-expiry job (filled in by the orders slice)."""

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ticketing_service.settings import TicketingSettings


async def run_hold_expiry(sessions: async_sessionmaker[AsyncSession],
                          settings: TicketingSettings, stop: asyncio.Event) -> None:
    """Expire orders whose hold ran out, releasing their capacity, until ``stop``."""
    await stop.wait()
