"""Case numbers: per tenant and year, gap-free under concurrency (``MS-2026-000123``)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from case_service.settings import CaseSettings

__all__ = ["format_number", "next_number", "prefix_of"]

_NEXT = text(
    "INSERT INTO case_number_counters (tenant, year, last) VALUES (:tenant, :year, 1) "
    "ON CONFLICT (tenant, year) DO UPDATE SET last = case_number_counters.last + 1 "
    "RETURNING last")


def prefix_of(tenant: str, settings: CaseSettings) -> str:
    """The tenant's configured prefix, else the first two letters of its slug, upper case."""
    return settings.case_number_prefixes.get(tenant) or tenant[:2].upper()


def format_number(prefix: str, year: int, n: int) -> str:
    """``MS-2026-000123``: at least six digits, more when a year runs past 999999."""
    return f"{prefix}-{year}-{n:06d}"


async def next_number(session: AsyncSession, tenant: str, year: int,
                      settings: CaseSettings) -> str:
    """The next number of ``tenant`` in ``year``. One statement takes the counter row's lock
    (held until the caller's transaction ends), so concurrent submissions get distinct,
    consecutive numbers; a rolled-back submission gives its number back."""
    n = (await session.execute(_NEXT, {"tenant": tenant, "year": year})).scalar_one()
    return format_number(prefix_of(tenant, settings), year, int(n))
