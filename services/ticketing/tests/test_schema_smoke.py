"""The migrated schema takes the demo catalogue and refuses overbooking at the table level."""

from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError


async def test_demo_catalogue_is_written_and_the_table_refuses_overbooking(ticketing: Any) -> None:
    demo = await ticketing.demo()
    assert await ticketing.scalar("SELECT count(*) FROM offerings") == 4
    assert await ticketing.scalar("SELECT capacity FROM slots WHERE id = :id",
                                  id=demo.exhibition_slot) == 40
    with pytest.raises(IntegrityError):
        await ticketing.scalar("UPDATE slots SET held = 41 WHERE id = :id RETURNING held",
                               id=demo.exhibition_slot)
