"""The deadline job: reminders before and automatic transitions after a state's deadline.
STUB: the workflow helper replaces the body."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from case_service.settings import CaseSettings

__all__ = ["run_deadlines"]


async def run_deadlines(sessions: async_sessionmaker[AsyncSession], settings: CaseSettings,
                        stop: asyncio.Event) -> None:
    """Act on due deadlines until ``stop``."""
    await stop.wait()
