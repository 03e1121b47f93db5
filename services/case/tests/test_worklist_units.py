"""The worklist's pure parts: the prefix tsquery carries only words of the search text, and the
cursor round-trips with and without a due date and refuses anything else."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from case_service.worklists.cursor import DueCursor
from case_service.worklists.search import MAX_WORDS, prefix_query
from city_shared.encoding import b64url_encode
from city_shared.pagination import InvalidCursor


def test_prefix_query_keeps_words_only() -> None:
    assert prefix_query("Erika Muster") == "'erika':* & 'muster':*"
    assert prefix_query("MS-2026-000123") == (
        "'ms':* & ('2026':* | '-2026':*) & ('000123':* | '-000123':*)")
    assert prefix_query("o'Brien & !x:*") == "'o':* & 'brien':* & 'x':*"
    assert prefix_query("&|!():*'\\_") is None
    assert prefix_query("Müller") == "'müller':*"
    assert prefix_query(" ".join(["a"] * 20)) == " & ".join(["'a':*"] * MAX_WORDS)


@pytest.mark.parametrize("due_at", [None, datetime(2026, 12, 2, 9, 30, tzinfo=UTC)])
def test_cursor_round_trips(due_at: datetime | None) -> None:
    cursor = DueCursor(due_at, uuid.uuid4())
    assert DueCursor.parse(cursor.encode()) == cursor


@pytest.mark.parametrize("raw", ["", "!!", "x" * 201, b64url_encode(b"2026-12-02|nope"),
                                 b64url_encode(b"2026-12-02T10:00:00|" + str(uuid.uuid4())
                                               .encode()),
                                 b64url_encode(b"no separator")])
def test_cursor_refuses_what_it_did_not_write(raw: str) -> None:
    with pytest.raises(InvalidCursor):
        DueCursor.parse(raw)
