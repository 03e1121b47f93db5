"""The unit of work of jobs and consumers against real PostgreSQL: it commits when the block
returns, rolls back when it raises, and writes the events aggregates recorded to the outbox in
the same transaction (so an event exists exactly when its change does)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from pydantic import BaseModel
from sqlalchemy import String, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from city_shared.backbone import create_backbone
from city_shared.db import create_engine, create_session_factory
from city_shared.envelope import new_event
from city_shared.unit_of_work import RecordsEvents, unit_of_work


class Base(DeclarativeBase):
    pass


class Parcel(RecordsEvents, Base):
    """A tiny aggregate: it owns its one transition and records the event for it."""

    __tablename__ = "parcels"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String)

    def __init__(self) -> None:
        super().__init__(id=uuid.uuid4(), status="packed")

    def ship(self) -> None:
        if self.status != "packed":
            raise ValueError("only a packed parcel ships")
        self.status = "shipped"
        self.record("parcels", new_event(type="city.test.parcel.shipped.v1", source="/test",
                                         subject=str(self.id), tenant="musterstadt",
                                         data=Shipped(parcel_id=str(self.id))))


class Shipped(BaseModel):
    parcel_id: str


class Boom(Exception):
    pass


@pytest.fixture
async def engine(database_url: Callable[[], Awaitable[str]]) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(await database_url(), pool_size=2)
    async with engine.begin() as conn:
        await conn.run_sync(create_backbone)
        await conn.run_sync(Base.metadata.create_all)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)


async def _count(engine: AsyncEngine, sql: str) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(sql))).scalar_one())


async def test_the_change_and_its_recorded_event_commit_together(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with unit_of_work(sessions) as session:
        parcel = Parcel()
        session.add(parcel)
        parcel.ship()

    assert await _count(engine, "SELECT count(*) FROM parcels WHERE status = 'shipped'") == 1
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT topic, key, event_type FROM outbox"))).all()
    assert [tuple(row) for row in rows] == [
        ("parcels", str(parcel.id), "city.test.parcel.shipped.v1")]
    async with unit_of_work(sessions) as session:
        session.add(Parcel())
    assert await _count(engine, "SELECT count(*) FROM outbox") == 1  # written once


async def test_an_exception_rolls_back_the_change_and_drops_its_event(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with unit_of_work(sessions) as session:
        parcel = Parcel()
        session.add(parcel)

    async def ship_then_fail() -> None:
        async with unit_of_work(sessions) as session:
            loaded = await session.get(Parcel, parcel.id)
            assert loaded is not None
            loaded.ship()
            raise Boom

    with pytest.raises(Boom):
        await ship_then_fail()

    assert await _count(engine, "SELECT count(*) FROM parcels WHERE status = 'packed'") == 1
    assert await _count(engine, "SELECT count(*) FROM outbox") == 0


async def test_events_of_aggregates_flushed_and_forgotten_are_written_in_recording_order(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with unit_of_work(sessions) as session:
        parcels = [Parcel() for _ in range(3)]
        session.add_all(parcels)
    async with unit_of_work(sessions) as session:
        for parcel in parcels:
            loaded = await session.get(Parcel, parcel.id)
            assert loaded is not None
            loaded.ship()

    async with engine.connect() as conn:
        keys = (await conn.execute(text("SELECT key FROM outbox ORDER BY id"))).scalars().all()
    assert keys == [str(p.id) for p in parcels]


async def test_a_failed_savepoint_drops_only_the_events_recorded_inside_it(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """As the consumer handles a batch: each event in a savepoint, a failed one rolled back."""
    async with unit_of_work(sessions) as session:
        kept, failed, later = Parcel(), Parcel(), Parcel()
        session.add_all([kept, failed, later])
    async with unit_of_work(sessions) as session:
        for parcel, fails in ((kept, False), (failed, True), (later, False)):
            try:
                async with session.begin_nested():
                    loaded = await session.get(Parcel, parcel.id)
                    assert loaded is not None
                    loaded.ship()
                    if fails:
                        raise Boom
            except Boom:
                pass

    async with engine.connect() as conn:
        keys = (await conn.execute(text("SELECT key FROM outbox ORDER BY id"))).scalars().all()
    assert keys == [str(kept.id), str(later.id)]
