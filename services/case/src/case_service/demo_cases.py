"""The demo city's cases (``shared/DEMO.md``: "demo cases in several states so that worklists
are not empty"): opened through :func:`case_service.cases.service.open_case` like any online
application, then worked by a demo clerk through the workflow's own functions (claim, actions
with notes, requests for information, decisions with their Bescheid), so their numbers, history,
audit trail, events and payment commands are real.

Each demo case has a fixed uuid5 stored as the case's ``draft_id`` (the draft an online case
came from; unique, and no draft row is needed): a second seed finds it and opens nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from case_service.access import case_visibility
from case_service.cases.models import Case
from case_service.cases.service import open_case
from case_service.catalogue.demo_library import DEMO_SERVICES
from case_service.catalogue.resolution import resolve
from case_service.documents.seed import seed_document_templates
from case_service.forms import prefill
from case_service.forms.prefill import LevelOfAssurance, VerifiedAttribute
from case_service.settings import CaseSettings
from case_service.workflow import staff, transitions
from case_service.workflow.guard import etag
from case_service.workflow.schemas import ActionCreate
from city_shared.auth import Principal
from city_shared.db import create_session_factory
from city_shared.journey import JourneyContext
from city_shared.unit_of_work import unit_of_work

__all__ = ["DEMO_CASES", "DemoCase", "DemoCitizen", "DemoStep", "demo_case_draft_id",
           "seed_cases"]

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
MAX: Final = DemoCitizen("musterstadt", "max.mustermann@example.org", {
    "given_name": "Max", "family_name": "Mustermann"}, loa="basic", source="self-declared")
PAULA: Final = DemoCitizen("beispielhausen", "paula.beispiel@example.org", {
    "given_name": "Paula", "family_name": "Beispiel", "birth_date": "1988-03-21",
    "street_address": "Beispielweg 5", "postal_code": "54321", "locality": "Beispielhausen"})


@dataclass(frozen=True)
class DemoStep:
    """What the demo clerk does next: ``claim`` the case, or take the process ``action`` with
    ``body`` (an :class:`~case_service.workflow.schemas.ActionCreate`)."""

    action: str
    body: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DemoCase:
    """One demo case: ``key`` names it in the demo file; ``data`` is what the citizen entered
    on top of the fields prefilled from their attributes; ``status`` is where it ends (the fee
    decides where it opens; ``work`` moves it on; checked by the tests). ``clerk``: the
    e-mail of the demo staff member (in the identity seed's ``accounts``) who takes ``work``;
    a worked case is opened ``days_ago`` days before the seed, its steps an hour apart."""

    key: str
    citizen: DemoCitizen
    slug: str
    status: str
    data: Mapping[str, Any] = field(default_factory=dict)
    clerk: str | None = None
    work: tuple[DemoStep, ...] = ()
    days_ago: int = 0


_CLAIM: Final = DemoStep("claim")
_REVIEW: Final = DemoStep("start_review")
_MAX_ADDRESS: Final = {"street_address": "Musterstraße 1", "postal_code": "12345",
                       "locality": "Musterstadt"}


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
    DemoCase("musterstadt-dog-tax-in-review", MAX, "hundesteuer-anmeldung", "in_review", {
        **_MAX_ADDRESS, "dogs": [{"name": "Luna", "breed": "Border Collie",
                                  "born": "2025-01-15"}]},
        clerk="tax-office.clerk@example.org", work=(_CLAIM, _REVIEW), days_ago=1),
    DemoCase("musterstadt-road-damage-information-requested", MAX, "strassenschaden",
             "information_requested", {
                 "damage_kind": "street_light",
                 "description": "Die Straßenlaterne an der Ecke flackert seit Tagen.",
                 "address_string": "Lindenallee / Ecke Bahnhofstraße"},
             clerk="traffic.clerk@example.org", days_ago=3, work=(_CLAIM, _REVIEW, DemoStep(
                 "request_information", {
                     "public_note": "Bitte laden Sie ein Foto der Laterne hoch und nennen Sie "
                                    "die Nummer am Mast, damit wir sie finden.",
                     "internal_note": "Zwei Laternen an dieser Ecke; Mastnummer fehlt.",
                     "information": {"fields": ["description"], "attachment_kinds": ["photo"]},
                 }))),
    DemoCase("musterstadt-dog-tax-approved", ERIKA, "hundesteuer-anmeldung", "approved", {
        "dogs": [{"name": "Struppi", "breed": "Foxterrier", "born": "2023-09-03"}]},
        clerk="tax-office.clerk@example.org", days_ago=6, work=(_CLAIM, _REVIEW, DemoStep(
            "approve", {
                "public_note": "Ihr Hund ist angemeldet; die Steuermarke kommt mit der Post.",
                "outcome": {"tax_mark": "MS-HS-2026-0815", "annual_rate": "108,00 EUR"},
            }))),
    DemoCase("beispielhausen-road-damage-rejected", PAULA, "strassenschaden", "rejected", {
        "damage_kind": "pothole",
        "description": "Schlagloch in der Zufahrt zum Hof Beispielweg 7.",
        "address_string": "Beispielweg 7 (Hofzufahrt)"},
        clerk="citizens-office.clerk@beispielhausen.example.org", days_ago=4,
        work=(_CLAIM, _REVIEW, DemoStep("reject", {
            "public_note": "Die Zufahrt ist ein Privatweg; bitte wenden Sie sich an den "
                           "Eigentümer. Die Stadt ist hier nicht zuständig.",
            "internal_note": "Lageplan geprüft: Flurstück in Privatbesitz."}))),
)


def demo_case_draft_id(key: str) -> uuid.UUID:
    """The fixed id that marks the demo case ``key`` (its ``draft_id``)."""
    return uuid.uuid5(_NAMESPACE, f"demo-case:{key}")


def _account_ids(demo_file: Mapping[str, Any]) -> dict[tuple[str, str], uuid.UUID]:
    """(tenant, e-mail) -> account id of the citizens the identity seed wrote."""
    return {key: uuid.UUID(str(account["id"]))
            for key, account in _accounts(demo_file, "citizen").items()}


def _staff(demo_file: Mapping[str, Any]) -> dict[tuple[str, str], Principal]:
    """(tenant, e-mail) -> the demo staff member as the workflow sees them after logging in
    (their account id as ``sub``, their department roles from the identity seed)."""
    found: dict[tuple[str, str], Principal] = {}
    for (tenant, email), account in _accounts(demo_file, "staff").items():
        roles = account.get("roles")
        found[(tenant, email)] = Principal(
            sub=str(uuid.UUID(str(account["id"]))), tenant=tenant, kind="staff", acr="basic",
            roles={str(d): frozenset(str(r) for r in rs)
                   for d, rs in (roles.items() if isinstance(roles, dict) else ())
                   if isinstance(rs, list)})
    return found


def _accounts(demo_file: Mapping[str, Any], kind: str) -> dict[tuple[str, str],
                                                                 Mapping[str, Any]]:
    accounts = demo_file.get("accounts")
    return {(str(a["tenant"]), str(a["email"])): a
            for a in (accounts if isinstance(accounts, list) else [])
            if isinstance(a, dict) and a.get("kind") == kind}


async def seed_cases(engine: AsyncEngine, settings: CaseSettings,
                     demo_file: Mapping[str, Any], *,
                     now: datetime | None = None) -> dict[str, dict[str, str]]:
    """Open the demo cases that do not exist yet, in one unit of work, and have the demo
    clerks work them to their states; call after the library is seeded (the decision
    templates are seeded here, idempotently, so that decided cases carry their Bescheid).
    The applicants' and clerks' account ids come from ``demo_file`` (the identity seed's
    ``accounts``); a case whose citizen or clerk is not listed there is skipped.

    Idempotent and safe to run concurrently (an advisory lock serialises seeds); a case that
    exists is never worked again. Returns key -> ``{"case_id", "number", "tenant",
    "status"}`` of every demo case that exists.
    """
    accounts = _account_ids(demo_file)
    clerks = _staff(demo_file)
    at = now or datetime.now(UTC)
    result: dict[str, dict[str, str]] = {}
    async with unit_of_work(create_session_factory(engine)) as session:
        await _serialise(session)
        await seed_document_templates(session)
        for demo in DEMO_CASES:
            marker = demo_case_draft_id(demo.key)
            case = await session.scalar(select(Case).where(Case.draft_id == marker))
            account_id = accounts.get((demo.citizen.tenant, demo.citizen.email))
            clerk = None if demo.clerk is None else clerks.get((demo.citizen.tenant,
                                                                 demo.clerk))
            if (case is None and account_id is not None
                    and (clerk is not None or not demo.work)):
                opened_at = at - timedelta(days=demo.days_ago)
                case = await _open(session, demo, account_id, marker, opened_at, settings)
                if clerk is not None:
                    case = await _work(session, demo, case, clerk, opened_at, settings)
            if case is not None:
                result[demo.key] = {"case_id": str(case.id), "number": case.number,
                                    "tenant": case.tenant, "status": case.status}
    return result


async def _work(session: AsyncSession, demo: DemoCase, case: Case, clerk: Principal,
                opened_at: datetime, settings: CaseSettings) -> Case:
    """The clerk takes ``demo.work`` on the just opened ``case``, an hour apart, as they
    would through the API (same checks, versions, notes, audit, events)."""
    v = case_visibility(clerk)
    for hour, step in enumerate(demo.work, start=1):
        when = opened_at + timedelta(hours=hour)
        if step.action == "claim":
            case = await staff.claim(session, clerk, v, case.id, if_match=etag(case), now=when)
        else:
            case = await transitions.take_action(
                session, clerk, v, case.id, step.action, ActionCreate.model_validate(step.body),
                if_match=etag(case), settings=settings, now=when)
    return case


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
