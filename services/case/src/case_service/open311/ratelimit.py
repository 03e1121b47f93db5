"""The rate limit of Open311 reports per client address: at most ``limit`` accepted reports per
client within a sliding window (default :data:`REPORTS_PER_WINDOW` per :data:`WINDOW`).

Contract:

- the address is pseudonymised before it touches the database: HMAC-SHA-256 under a random key
  kept in ``open311_client_keys`` (made on first use, shared by every API replica); an IPv6
  address counts by its /64 network (one subscriber's prefix);
- :func:`admit_report` runs inside the report's transaction and serialises reports of one client
  with a transaction-level advisory lock, so concurrent requests on any replica never admit more
  than ``limit``; a refused or failed report leaves no log entry (its transaction rolls back);
- log entries older than the window are deleted (the client's own on each report; everyone's by
  :func:`purge_report_log`, a worker job).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import math
import secrets
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from case_service.open311.errors import TooManyReports
from case_service.open311.models import ClientKey, ReportLogEntry
from case_service.settings import CaseSettings
from city_shared.sweeps import run_sweep

__all__ = [
    "PURGE_INTERVAL_SECONDS",
    "REPORTS_PER_WINDOW",
    "WINDOW",
    "admit_report",
    "client_hash",
    "purge_old_entries",
    "purge_report_log",
]

#: Reports one client address may make per :data:`WINDOW` (until a settings field replaces it).
REPORTS_PER_WINDOW: Final = 10
WINDOW: Final = timedelta(hours=1)
PURGE_INTERVAL_SECONDS: Final = 600.0
#: The advisory lock class of this limiter (the first key of ``pg_advisory_xact_lock(int, int)``).
_LOCK_CLASS: Final = 311_0


def _network(address: str) -> str:
    """The unit that is counted: the IPv4 address, the IPv6 /64, or the raw text otherwise
    (e.g. a test client's name)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is None:
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip.ipv4_mapped or ip) if isinstance(ip, ipaddress.IPv6Address) else str(ip)


async def _client_key(session: AsyncSession) -> bytes:
    key = await session.scalar(select(ClientKey.key).where(ClientKey.id == 1))
    if key is None:
        # Two first reports may race: the second insert waits for the first and does nothing.
        await session.execute(insert(ClientKey).values(id=1, key=secrets.token_bytes(32))
                              .on_conflict_do_nothing(index_elements=["id"]))
        key = await session.scalar(select(ClientKey.key).where(ClientKey.id == 1))
    assert key is not None
    return bytes(key)


async def client_hash(session: AsyncSession, address: str) -> str:
    """The pseudonym (64 hex characters) of the client ``address``."""
    key = await _client_key(session)
    return hmac.new(key, _network(address).encode(), hashlib.sha256).hexdigest()


async def _serialize(session: AsyncSession, digest: str) -> None:
    """Wait for the other open transactions counting this client (held until commit)."""
    lock_id = int.from_bytes(bytes.fromhex(digest[:8]), "big", signed=True)
    await session.execute(select(func.pg_advisory_xact_lock(_LOCK_CLASS, lock_id)))


async def admit_report(session: AsyncSession, *, address: str, now: datetime,
                       limit: int = REPORTS_PER_WINDOW, window: timedelta = WINDOW) -> None:
    """Count one report of ``address`` at ``now`` or refuse it.

    :raises TooManyReports: (429, ``Retry-After`` in whole seconds, at least 1) ``limit``
        reports of this client are already in the window ending at ``now``.
    """
    digest = await client_hash(session, address)
    await _serialize(session, digest)
    cutoff = now - window
    await session.execute(delete(ReportLogEntry).where(ReportLogEntry.client_hash == digest,
                                                       ReportLogEntry.at <= cutoff))
    recent = (await session.scalars(
        select(ReportLogEntry.at).where(ReportLogEntry.client_hash == digest,
                                        ReportLogEntry.at > cutoff)
        .order_by(ReportLogEntry.at).limit(limit))).all()
    if len(recent) >= limit:
        wait = (recent[0] + window - now).total_seconds()
        raise TooManyReports(max(1, math.ceil(wait)))
    session.add(ReportLogEntry(client_hash=digest, at=now))
    await session.flush()


async def purge_old_entries(session: AsyncSession, now: datetime) -> int:
    """Delete the log entries older than the window at ``now``; returns how many."""
    result = await session.execute(delete(ReportLogEntry).where(ReportLogEntry.at <= now - WINDOW))
    return int(getattr(result, "rowcount", 0) or 0)


async def purge_report_log(sessions: async_sessionmaker[AsyncSession], settings: CaseSettings,
                           stop: asyncio.Event) -> None:
    """Worker job: every :data:`PURGE_INTERVAL_SECONDS` delete log entries older than the
    window, until ``stop`` is set (a :func:`run_sweep`). Idempotent; safe on several workers."""
    del settings
    await run_sweep(sessions, purge_old_entries, stop, name="open311 report log",
                    interval=PURGE_INTERVAL_SECONDS)
