"""``account.erased`` and the retention job: the person's drafts (with their attachments) go,
their cases stay without the link to the account until the retention period ends, then the
retention job purges the file; other people and other cities are left alone; a second delivery
changes nothing; an event that contradicts itself is dead-lettered."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel

from case_service.attachments.storage import DatabaseBlobStorage
from case_service.catalogue.demo_library import DEMO_SERVICES, definition_id
from case_service.drafts.models import Draft
from case_service.erasure import ACCOUNT_ERASED, IDENTITY_ACCOUNTS_TOPIC
from case_service.retention import purge_expired_cases
from case_service.subscriptions import build_subscriptions
from city_shared.consumer import PermanentFailure
from city_shared.envelope import Event, new_event
from city_shared.unit_of_work import unit_of_work

from .conftest import CaseHarness

BIRTH_DATA: dict[str, Any] = {
    "given_name": "Erika", "family_name": "Mustermann", "birth_date": "1990-04-01",
    "place_of_birth": "Musterstadt", "copies": 1, "purpose": "passport", "delivery": "post",
    "confirmation": True,
}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


class _Erased(BaseModel):
    account_id: str
    tenant: str


def erased(account_id: uuid.UUID, tenant: str = "musterstadt",
           event_tenant: str | None = None) -> Event:
    return new_event(type=ACCOUNT_ERASED, source="/identity", subject=str(account_id),
                     tenant=event_tenant or tenant,
                     data=_Erased(account_id=str(account_id), tenant=tenant))


async def deliver(h: CaseHarness, event: Event) -> None:
    [handler] = [s.handler for s in build_subscriptions(h.settings)
                 if s.topic == IDENTITY_ACCOUNTS_TOPIC and s.event_type == ACCOUNT_ERASED]
    async with unit_of_work(h.sessions) as session:
        await handler(session, event)


async def draft_of(h: CaseHarness, account: uuid.UUID, tenant: str = "musterstadt") -> uuid.UUID:
    draft = Draft(tenant=tenant, service_id=DEMO_SERVICES["geburtsurkunde"],
                  definition_id=definition_id("geburtsurkunde"), owner=f"citizen:{account}",
                  account_id=account, data=dict(BIRTH_DATA), verified={}, locale="de",
                  expires_at=datetime.now(UTC) + timedelta(days=1))
    async with unit_of_work(h.sessions) as session:
        session.add(draft)
    return draft.id


async def submitted_case(h: CaseHarness, account: uuid.UUID,
                         tenant: str = "musterstadt") -> dict[str, Any]:
    draft = await draft_of(h, account, tenant)
    response = await h.client.post(
        f"/drafts/{draft}/submit",
        headers={**h.citizen_headers(account, tenant=tenant, acr="substantial"),
                 "Idempotency-Key": str(uuid.uuid4())})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def open_draft_with_attachment(h: CaseHarness, account: uuid.UUID) -> uuid.UUID:
    draft = Draft(tenant="musterstadt", service_id=DEMO_SERVICES["bewohnerparkausweis"],
                  definition_id=definition_id("bewohnerparkausweis"),
                  owner=f"citizen:{account}", account_id=account, data={}, verified={},
                  locale="de", expires_at=datetime.now(UTC) + timedelta(days=1))
    async with unit_of_work(h.sessions) as session:
        session.add(draft)
    response = await h.client.post(
        f"/drafts/{draft.id}/attachments",
        params={"kind": "proof_of_residence", "filename": "meldebescheinigung.pdf"},
        content=PDF, headers={**h.citizen_headers(account), "Content-Type": "application/pdf"})
    assert response.status_code == 201, response.text
    return draft.id


async def test_erasure_deletes_drafts_and_unlinks_cases_of_that_person_only(
        case: CaseHarness) -> None:
    other = uuid.uuid4()
    mine = await submitted_case(case, case.ERIKA)
    theirs = await submitted_case(case, other)
    elsewhere = await submitted_case(case, case.ERIKA, tenant="beispielhausen")
    my_draft = await open_draft_with_attachment(case, case.ERIKA)
    their_draft = await open_draft_with_attachment(case, other)
    assert await case.scalar("SELECT count(*) FROM attachment_blobs") == 2

    await deliver(case, erased(case.ERIKA))

    assert await case.scalar("SELECT count(*) FROM drafts WHERE id = :id", id=my_draft) == 0
    assert await case.scalar("SELECT count(*) FROM drafts WHERE id = :id", id=their_draft) == 1
    assert await case.scalar("SELECT count(*) FROM attachment_blobs") == 1
    rows = {str(r.id): r for r in await case.rows(
        "SELECT id, account_id, submitted_by, erased_at, data FROM cases")}
    assert rows[mine["id"]].account_id is None
    assert rows[mine["id"]].submitted_by == "erased-account"
    assert rows[mine["id"]].erased_at is not None
    assert rows[mine["id"]].data == BIRTH_DATA, "the file itself stays for its retention"
    assert rows[theirs["id"]].account_id == other
    assert rows[elsewhere["id"]].account_id == case.ERIKA, "another city's case is untouched"

    listed = await case.client.get("/cases", headers=case.citizen_headers(case.ERIKA))
    assert listed.status_code == 200
    assert [c["id"] for c in listed.json()["items"]] == [], "the account no longer reaches it"


async def test_a_second_delivery_changes_nothing(case: CaseHarness) -> None:
    mine = await submitted_case(case, case.ERIKA)
    await deliver(case, erased(case.ERIKA))
    before = await case.rows("SELECT version, erased_at FROM cases WHERE id = :id", id=mine["id"])

    await deliver(case, erased(case.ERIKA))

    assert await case.rows("SELECT version, erased_at FROM cases WHERE id = :id",
                           id=mine["id"]) == before


async def test_an_event_whose_data_names_another_tenant_is_refused(case: CaseHarness) -> None:
    mine = await submitted_case(case, case.ERIKA)
    with pytest.raises(PermanentFailure):
        await deliver(case, erased(case.ERIKA, tenant="musterstadt",
                                   event_tenant="beispielhausen"))
    assert await case.scalar("SELECT account_id FROM cases WHERE id = :id",
                             id=mine["id"]) == case.ERIKA


async def test_retention_purges_only_files_whose_period_has_ended(case: CaseHarness) -> None:
    old = await submitted_case(case, case.ERIKA)
    young = await submitted_case(case, case.ERIKA)
    await case.execute("UPDATE cases SET retain_until = :d WHERE id = :id",
                       d=date.today() - timedelta(days=1), id=old["id"])
    retained = await case.scalar("SELECT retain_until FROM cases WHERE id = :id", id=young["id"])
    assert retained > date.today(), "the demo parameters keep a file for a while"

    async with unit_of_work(case.sessions) as session:
        purged = await purge_expired_cases(session, today=date.today(),
                                           storage=DatabaseBlobStorage())

    assert [str(p) for p in purged] == [old["id"]]
    assert {str(r.id) for r in await case.rows("SELECT id FROM cases")} == {young["id"]}
    assert await case.scalar("SELECT count(*) FROM case_history WHERE case_id = :id",
                             id=old["id"]) == 0
    gone = await case.client.get(f"/cases/{old['id']}", headers=case.citizen_headers(case.ERIKA))
    assert gone.status_code == 404


async def test_retention_purges_the_attachments_contents_too(case: CaseHarness) -> None:
    draft = await open_draft_with_attachment(case, case.ERIKA)
    key = await case.scalar("SELECT storage_key FROM attachments WHERE draft_id = :id", id=draft)
    # The attachment now belongs to a case whose period has ended.
    stale = await submitted_case(case, case.ERIKA)
    await case.execute("UPDATE attachments SET draft_id = NULL, case_id = :c WHERE draft_id = :d",
                       c=stale["id"], d=draft)
    await case.execute("UPDATE cases SET retain_until = :d WHERE id = :id",
                       d=date.today() - timedelta(days=1), id=stale["id"])

    async with unit_of_work(case.sessions) as session:
        await purge_expired_cases(session, today=date.today(), storage=DatabaseBlobStorage())

    assert await case.scalar("SELECT count(*) FROM attachment_blobs WHERE key = :k", k=key) == 0
    assert await case.scalar("SELECT count(*) FROM attachments") == 0
