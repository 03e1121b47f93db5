"""Dates of working a case: working days for the decision target, and a deadline that ends
with a day in the city's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

__all__ = ["CITY_ZONE", "add_working_days", "end_of_day", "local_day"]

CITY_ZONE: Final = ZoneInfo("Europe/Berlin")


def add_working_days(start: datetime, days: int) -> datetime:
    """``start`` moved ``days`` working days (Monday to Friday) later, same time of day."""
    moved = start
    left = max(days, 0)
    while left:
        moved += timedelta(days=1)
        if moved.astimezone(CITY_ZONE).weekday() < 5:
            left -= 1
    return moved


def local_day(at: datetime) -> date:
    """The city's calendar day at ``at``."""
    return at.astimezone(CITY_ZONE).date()


def end_of_day(day: date) -> datetime:
    """The instant ``day`` ends in the city (midnight after it), in UTC."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=CITY_ZONE).astimezone(UTC)
