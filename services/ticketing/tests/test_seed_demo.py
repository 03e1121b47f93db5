"""The demo seed (``python -m ticketing_service.seed``): the demo city's catalogue with slots for
today and the next 14 days, the museum closed on Mondays; run twice, it changes nothing; it
resets what someone changed in the catalogue but never touches sales; its ids are merged into
the demo file the identity seed wrote."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from city_shared.db import create_engine
from ticketing_service import seed

BERLIN = ZoneInfo("Europe/Berlin")
TABLES = ("venues", "offerings", "ticket_types", "combo_components", "slot_rules", "slots",
          "quotas")


class Database:
    def __init__(self, url: str) -> None:
        self.engine = create_engine(url, pool_size=1)

    async def rows(self, sql: str, **params: Any) -> list[Any]:
        async with self.engine.connect() as conn:
            return list((await conn.execute(text(sql), params)).all())

    async def execute(self, sql: str, **params: Any) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(text(sql), params)

    async def counts(self) -> dict[str, int]:
        return {t: (await self.rows(f"SELECT count(*) FROM {t}"))[0][0] for t in TABLES}  # noqa: S608

    async def snapshot(self) -> list[Any]:
        """Every row the seed writes, as text (timestamps included)."""
        found = []
        for table in TABLES:
            found += await self.rows(f"SELECT '{table}', t::text FROM {table} t ORDER BY 2")  # noqa: S608
        return found


@pytest.fixture
async def db(migrated_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("CITY_DATABASE_URL", migrated_url)
    monkeypatch.setenv("CITY_HTTP_PORT", "8005")
    monkeypatch.setenv("CITY_HTTP_HOST", "127.0.0.1")
    monkeypatch.delenv("CITY_PUBLIC_BASE_URL", raising=False)
    database = Database(migrated_url)
    yield database
    await database.engine.dispose()


async def run(demo_file: Path) -> dict[str, Any]:
    """``main`` as the stack runs it (it owns its event loop, hence a thread)."""
    result: dict[str, Any] = await asyncio.to_thread(seed.main, ["--demo-file", str(demo_file)])
    return result


async def test_seeding_twice_changes_nothing_and_merges_the_ids_into_the_demo_file(
    db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    demo_file = tmp_path / "demo.json"
    demo_file.write_text(json.dumps({"tenants": [{"slug": "musterstadt"}], "accounts": []}))

    first = await run(demo_file)
    counts, snapshot = await db.counts(), await db.snapshot()
    written = json.loads(demo_file.read_text())
    second = await run(demo_file)

    assert await db.counts() == counts
    assert await db.snapshot() == snapshot
    assert second == first
    assert json.loads(demo_file.read_text()) == written
    assert written["tenants"] == [{"slug": "musterstadt"}]     # the identity part is kept
    assert written["accounts"] == []
    assert written["ticketing"] == first
    assert "nothing new" in capsys.readouterr().out.splitlines()[-1]

    assert counts == {"venues": 3, "offerings": 5, "ticket_types": 10, "combo_components": 2,
                      "slot_rules": 3, "slots": counts["slots"], "quotas": 0}
    ticketing = written["ticketing"]
    assert ticketing["api"] == "http://127.0.0.1:8005"
    assert set(ticketing["tenants"]) == {"musterstadt", "beispielhausen"}
    ours = ticketing["tenants"]["musterstadt"]["offerings"]
    assert set(ours) == {"dauerausstellung", "hallenbad", "10er-karte-hallenbad", "kulturpass"}
    assert set(ticketing["tenants"]["beispielhausen"]["offerings"]) == {"stadtfuehrung"}
    museum = ours["dauerausstellung"]
    assert {c: t["price"] for c, t in museum["ticket_types"].items()} == {
        "adult": 800, "reduced": 500, "child": 0}
    assert {c: (t["price"], t["places"]) for c, t in ours["hallenbad"]["ticket_types"].items()} \
        == {"adult": (450, 1), "reduced": (300, 1), "family": (1100, 4)}
    assert ours["10er-karte-hallenbad"]["ticket_types"]["ten-visits"]["visits"] == 10
    assert ours["kulturpass"]["ticket_types"]["kulturpass"]["price"] == 1000
    pool_first = ours["hallenbad"]["first_slot_today"]
    assert pool_first["starts_at"].endswith(("T07:00:00+01:00", "T07:00:00+02:00"))
    [(slot_offering, slot_start)] = await db.rows(
        "SELECT offering_id::text, starts_at FROM slots WHERE id = :id", id=pool_first["id"])
    assert slot_offering == ours["hallenbad"]["id"]
    assert slot_start.astimezone(BERLIN).date() == datetime.now(BERLIN).date()
    assert datetime.fromisoformat(museum["next_slot"]["starts_at"]) > datetime.now(UTC)
    today = datetime.now(BERLIN).date()
    if today.isoweekday() == 1:
        assert museum["first_slot_today"] is None


async def test_slots_for_fifteen_days_and_the_museum_closed_on_mondays(
    db: Database, tmp_path: Path,
) -> None:
    await run(tmp_path / "demo.json")

    per_day = await db.rows(
        "SELECT o.name, (s.starts_at AT TIME ZONE 'Europe/Berlin')::date AS day, count(*), "
        "min(s.capacity), max(s.capacity), "
        "min((s.starts_at AT TIME ZONE 'Europe/Berlin')::time), "
        "max((s.ends_at AT TIME ZONE 'Europe/Berlin')::time) "
        "FROM slots s JOIN offerings o ON o.id = s.offering_id "
        "GROUP BY o.name, day ORDER BY o.name, day")
    today = datetime.now(BERLIN).date()
    window = [today + timedelta(days=n) for n in range(15)]
    by_offering: dict[str, list[Any]] = {}
    for name, *rest in per_day:
        by_offering.setdefault(name, []).append(tuple(rest))

    pool = by_offering["Hallenbad"]
    assert [d for d, *_ in pool] == window
    assert {tuple(r[1:]) for r in pool} == {(7, 120, 120, time(7), time(21))}
    museum = by_offering["Dauerausstellung"]
    assert [d for d, *_ in museum] == [d for d in window if d.isoweekday() != 1]
    assert any(d.isoweekday() == 1 for d in window)           # a Monday was left out
    assert {tuple(r[1:]) for r in museum} == {(16, 40, 40, time(10), time(18))}
    assert [d for d, *_ in by_offering["Stadtführung"]] == window
    tenants = await db.rows(
        "SELECT DISTINCT o.tenant, o.department FROM slots s "
        "JOIN offerings o ON o.id = s.offering_id WHERE o.name = 'Stadtführung'")
    assert tenants == [("beispielhausen", "citizens-office")]
    kulturpass = await db.rows(
        "SELECT c.department, c.cost_centre, c.share, o.name FROM combo_components c "
        "JOIN offerings o ON o.id = c.offering_id ORDER BY c.position")
    assert kulturpass == [("museum", "MUS-4100", 600, "Dauerausstellung"),
                          ("pools", "BAD-5700", 400, "Hallenbad")]
    statuses = await db.rows("SELECT DISTINCT status FROM offerings")
    assert statuses == [("published",)]


async def test_a_rerun_resets_the_catalogue_but_keeps_sales(db: Database, tmp_path: Path) -> None:
    first = await run(tmp_path / "demo.json")
    museum = first["tenants"]["musterstadt"]["offerings"]["dauerausstellung"]
    adult = museum["ticket_types"]["adult"]["id"]
    slot = museum["next_slot"]
    await db.execute("UPDATE ticket_types SET price = 900 WHERE id = :id", id=adult)
    await db.execute("UPDATE offerings SET status = 'draft' WHERE id = :id", id=museum["id"])
    await db.execute("UPDATE slots SET sold = 5, held = 2 WHERE id = :id", id=slot["id"])

    again = await run(tmp_path / "demo.json")

    assert again == first
    assert (await db.rows("SELECT price FROM ticket_types WHERE id = :id", id=adult)) == [(800,)]
    assert (await db.rows("SELECT status, version FROM offerings WHERE id = :id",
                          id=museum["id"])) == [("published", 2)]
    assert (await db.rows("SELECT sold, held FROM slots WHERE id = :id",
                          id=slot["id"])) == [(5, 2)]
