"""The demo city's cases (``shared/DEMO.md``: "demo cases in several states so that worklists
are not empty"): opened through :func:`case_service.cases.service.open_case` like any online
application, so their numbers, history, events and payment commands are real.

Each demo case has a fixed uuid5 stored as the case's ``draft_id`` (the draft an online case
came from; unique, and no draft row is needed): a second seed finds it and opens nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from case_service.cases.models import Case
from case_service.cases.service import open_case
from case_service.catalogue.demo_library import DEMO_SERVICES
from case_service.catalogue.resolution import resolve
from case_service.forms import prefill
from case_service.forms.prefill import LevelOfAssurance, VerifiedAttribute
from case_service.settings import CaseSettings
from city_shared.db import create_session_factory
from city_shared.journey import JourneyContext
from city_shared.unit_of_work import unit_of_work

__all__ = ["DEMO_CASES", "DemoCase", "DemoCitizen", "demo_case_draft_id", "seed_cases"]

_NAMESPACE: Final = uuid.UUID("3c1b8f2a-6d4e-5a7b-9c0d-1e2f3a4b0013")
# One advisory lock for the whole seed: two seeds at once (two stacks on one database) must
# not both find a case missing and open it twice.
_LOCK_KEY: Final = 0x0CA5E5EED


@dataclass(frozen=True)
class DemoCitizen:
    """A demo citizen as the identity seed writes them to the demo file, with the verified
    attributes the sandbox eID asserts for them (``identity_service.accounts.demo``)."""

    tenant: str
    email: str
    attributes: Mapping[str, str]
    loa: LevelOfAssurance = "substantial"
    source: str = "eid-sandbox"


ERIKA: Final = DemoCitizen("musterstadt", "erika.mustermann@example.org", {
    "given_name": "Erika", "family_name": "Mustermann", "birth_date": "1964-08-12",
    "street_address": "Musterstraße 1", "postal_code": "12345", "locality": "Musterstadt"})
PAULA: Final = DemoCitizen("beispielhausen", "paula.beispiel@example.org", {
    "given_name": "Paula", "family_name": "Beispiel", "birth_date": "1988-03-21",
    "street_address": "Beispielweg 5", "postal_code": "54321", "locality": "Beispielhausen"})


@dataclass(frozen=True)
class DemoCase:
    """One demo case: ``key`` names it in the demo file; ``data`` is what the citizen entered
    on top of the fields prefilled from their attributes; ``status`` is what it is opened as
    (the fee decides it; checked by the tests)."""

    key: str
    citizen: DemoCitizen
    slug: str
    status: str
    data: Mapping[str, Any] = field(default_factory=dict)


DEMO_CASES: Final[tuple[DemoCase, ...]] = (
    DemoCase("musterstadt-birth-certificate", ERIKA, "geburtsurkunde", "awaiting_payment", {
        "birth_name": "Mustermann", "place_of_birth": "Musterstadt", "copies": 2,
        "purpose": "pension", "delivery": "post", "confirmation": True}),
    DemoCase("musterstadt-road-damage", ERIKA, "strassenschaden", "submitted", {
        "damage_kind": "pothole", "description": "Tiefes Schlagloch vor der Bushaltestelle.",
        "lat": 50.1109, "long": 8.6821, "address_string": "Musterstraße 3"}),
    DemoCase("musterstadt-dog-tax", ERIKA, "hundesteuer-anmeldung", "submitted", {
        "dogs": [{"name": "Bello", "breed": "Labrador Retriever", "born": "2024-05-01"}]}),
    DemoCase("beispielhausen-business-registration", PAULA, "gewerbeanmeldung",
             "awaiting_payment", {
                 "business_name": "Beispiel Webdesign", "legal_form": "sole_proprietorship",
                 "activity": "Gestaltung und Programmierung von Webseiten",
                 "start_date": "2026-02-01", "employees": 0,
                 "email": "paula.beispiel@example.org"}),
)


def demo_case_draft_id(key: str) -> uuid.UUID:
    """The fixed id that marks the demo case ``key`` (its ``draft_id``)."""
    return uuid.uuid5(_NAMESPACE, f"demo-case:{key}")


def _account_ids(demo_file: Mapping[str, Any]) -> dict[tuple[str, str], uuid.UUID]:
    """(tenant, e-mail) -> account id of the citizens the identity seed wrote."""
    accounts = demo_file.get("accounts")
    found: dict[tuple[str, str], uuid.UUID] = {}
    for account in accounts if isinstance(accounts, list) else []:
        if isinstance(account, dict) and account.get("kind") == "citizen":
            found[(str(account["tenant"]), str(account["email"]))] = uuid.UUID(
                str(account["id"]))
    return found


async def seed_cases(engine: AsyncEngine, settings: CaseSettings,
                     demo_file: Mapping[str, Any], *,
                     now: datetime | None = None) -> dict[str, dict[str, str]]:
    """Open the demo cases that do not exist yet, in one unit of work; call after the library
    is seeded. The applicants' account ids come from ``demo_file`` (the identity seed's
    ``accounts``); a case whose citizen is not listed there is skipped.

    Idempotent and safe to run concurrently (an advisory lock serialises seeds). Returns
    key -> ``{"case_id", "number", "tenant", "status"}`` of every demo case that exists.
    """
    accounts = _account_ids(demo_file)
    at = now or datetime.now(UTC)
    result: dict[str, dict[str, str]] = {}
    async with unit_of_work(create_session_factory(engine)) as session:
        await _serialise(session)
        for demo in DEMO_CASES:
            marker = demo_case_draft_id(demo.key)
            case = await session.scalar(select(Case).where(Case.draft_id == marker))
            account_id = accounts.get((demo.citizen.tenant, demo.citizen.email))
            if case is None and account_id is not None:
                case = await _open(session, demo, account_id, marker, at, settings)
            if case is not None:
                result[demo.key] = {"case_id": str(case.id), "number": case.number,
                                    "tenant": case.tenant, "status": case.status}
    return result


async def _serialise(session: AsyncSession) -> None:
    """Wait until no other demo case seed is in flight (a transaction-scoped advisory lock)."""
    await session.execute(select(func.pg_advisory_xact_lock(_LOCK_KEY)))


async def _open(session: AsyncSession, demo: DemoCase, account_id: uuid.UUID, marker: uuid.UUID,
                now: datetime, settings: CaseSettings) -> Case:
    effective = await resolve(session, tenant=demo.citizen.tenant,
                              service_id=DEMO_SERVICES[demo.slug], on=now.date())
    filled = prefill(effective.definition.form_schema, [
        VerifiedAttribute(name, value, demo.citizen.loa, demo.citizen.source)
        for name, value in demo.citizen.attributes.items()])
    return await open_case(
        session, effective=effective, definition=effective.definition,
        data={**filled.data, **demo.data}, verified=filled.verified, account_id=account_id,
        submitted_by=f"citizen:{account_id}", channel="online", locale="de", attachments=(),
        draft_id=marker, journey=JourneyContext(f"demo-case-{demo.key}", None), now=now,
        settings=settings)
