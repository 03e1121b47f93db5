"""Dates are YYYY-MM-DD; a number is a mistake, not 1970-01-01."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import TypeAdapter, ValidationError

from city_shared.dates import CalendarDate

DATES = TypeAdapter(CalendarDate)


def test_an_iso_date_is_a_date() -> None:
    assert DATES.validate_python("2027-03-22") == date(2027, 3, 22)
    assert DATES.validate_python(date(2027, 3, 22)) == date(2027, 3, 22)


@pytest.mark.parametrize("value", ["0", 0, "1700000000", "2027-3-22", "22.03.2027",
                                   "2027-02-30", "", "2027-03-22T00:00:00"])
def test_numbers_and_other_shapes_are_refused(value: object) -> None:
    with pytest.raises(ValidationError):
        DATES.validate_python(value)


def test_the_lax_default_would_have_taken_zero() -> None:
    """Negative control: plain ``date`` turns ``0`` into 1970-01-01."""
    assert TypeAdapter(date).validate_python("0") == date(1970, 1, 1)
