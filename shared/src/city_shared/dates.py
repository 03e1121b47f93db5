"""Calendar dates as the API takes them: ``YYYY-MM-DD`` and nothing else.

Pydantic's lax mode reads ``0`` or ``1700000000`` as a Unix time and turns it into a date
(``0`` became 1970-01-01, a report over 56 years); a client that sends a number has made a
mistake and gets a 422 instead.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated

from pydantic import BeforeValidator, Field

__all__ = ["CalendarDate", "Timestamp"]

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?"
    r"(?:[Zz]|[+-]\d{2}:?\d{2})?)?")


def _iso_only(value: object) -> object:
    if isinstance(value, date) or (isinstance(value, str) and _ISO_DATE.fullmatch(value)):
        return value
    raise ValueError("expected a date as YYYY-MM-DD")


def _iso_timestamp_only(value: object) -> object:
    if isinstance(value, datetime) or (isinstance(value, str)
                                       and _ISO_TIMESTAMP.fullmatch(value)):
        return value
    raise ValueError("expected a date and time in ISO 8601, e.g. 2027-03-22T12:00:00Z")


#: A date given as ``YYYY-MM-DD`` (or a ``date``); numbers and timestamps are refused.
CalendarDate = Annotated[date, BeforeValidator(_iso_only), Field(examples=["2027-03-22"])]
#: A point in time given in ISO 8601 (``2027-03-22T12:00:00Z``, or a date for its midnight);
#: numbers (read as Unix times by pydantic's lax mode) are refused.
Timestamp = Annotated[datetime, BeforeValidator(_iso_timestamp_only),
                      Field(examples=["2027-03-22T12:00:00Z"])]
