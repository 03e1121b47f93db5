"""The decision document of a case: rendered from the service's template when the case is
decided, stored with the case, downloadable by whoever may read the case and, without a token,
by the signed link events carry until it expires; everyone else gets the stranger's 404."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, text

from case_service.cases.models import Case
from case_service.catalogue.demo_library import DEMO_SERVICES, definition_id
from case_service.documents.models import CaseDocument
from case_service.documents.seed import seed_document_templates
from case_service.documents.service import create_decision_document, document_ref
from case_service.drafts.models import Draft
from city_shared.unit_of_work import unit_of_work

from .conftest import BASE_URL, CaseHarness

BIRTH_DATA: dict[str, Any] = {
    "given_name": "Erika", "family_name": "Müller-Lüdenscheidt", "birth_date": "1990-04-01",
    "place_of_birth": "Musterstadt", "copies": 1, "purpose": "passport", "delivery": "post",
    "confirmation": True,
}


async def seeded(h: CaseHarness) -> None:
    """The demo document templates (the lead's seed does this on start)."""
    async with unit_of_work(h.sessions) as session:
        await seed_document_templates(session)


async def submitted(h: CaseHarness, *, slug: str = "geburtsurkunde",
                    data: dict[str, Any] | None = None, account: uuid.UUID | None = None,
                    locale: str = "de") -> dict[str, Any]:
    """A case of ``account`` (Erika) in musterstadt, submitted through its draft."""
    account = account or h.ERIKA
    draft = Draft(tenant="musterstadt", service_id=DEMO_SERVICES[slug],
                  definition_id=definition_id(slug), owner=f"citizen:{account}",
                  account_id=account, data=data or BIRTH_DATA, verified={}, locale=locale,
                  expires_at=datetime.now(UTC) + timedelta(days=1))
    async with unit_of_work(h.sessions) as session:
        session.add(draft)
    response = await h.client.post(f"/drafts/{draft.id}/submit", headers={
        **h.citizen_headers(account, acr="substantial"), "Idempotency-Key": str(uuid.uuid4())})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def decided(h: CaseHarness, case_id: str, *, decision: str = "approved",
                  outcome: dict[str, Any] | None = None,
                  now: datetime | None = None) -> CaseDocument | None:
    """Decide the case as the workflow would, and render its decision document."""
    now = now or datetime.now(UTC)
    async with unit_of_work(h.sessions) as session:
        case = await session.get(Case, uuid.UUID(case_id))
        assert case is not None
        case.status = decision
        case.decision = decision
        case.decided_at = now
        case.outcome = outcome
        return await create_decision_document(session, case, actor="staff:clerk", now=now,
                                              settings=h.settings)


def _path(url: str) -> str:
    assert url.startswith(BASE_URL)
    return url[len(BASE_URL):]


async def test_the_decision_document_is_stored_with_the_case(case: CaseHarness) -> None:
    await seeded(case)
    opened = await submitted(case)
    document = await decided(case, opened["id"], outcome={"certificate_number": "G-17"})
    assert document is not None
    assert document.filename == f"Bescheid-{opened['number']}.pdf"
    assert (document.kind, document.locale, document.media_type) == (
        "decision", "de", "application/pdf")
    content = await case.scalar("SELECT content FROM attachment_blobs WHERE key = :k",
                                k=f"documents/{opened['id']}/{document.id}")
    assert content.startswith(b"%PDF-")
    assert (document.size, document.sha256) == (len(content),
                                                hashlib.sha256(content).hexdigest())

    listed = await case.client.get(f"/cases/{opened['id']}/documents",
                                   headers=case.citizen_headers())
    assert listed.status_code == 200, listed.text
    [item] = listed.json()["items"]
    assert item["id"] == str(document.id)
    assert item["sha256"] == document.sha256
    download = await case.client.get(_path(item["download_url"]),
                                     headers=case.citizen_headers())
    assert download.status_code == 200
    assert download.content == content
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-disposition"].startswith("attachment")
    assert f"Bescheid-{opened['number']}.pdf" in download.headers["content-disposition"]


async def test_an_english_case_gets_an_english_decision(case: CaseHarness) -> None:
    await seeded(case)
    opened = await submitted(case, locale="en")
    document = await decided(case, opened["id"], decision="rejected")
    assert document is not None
    assert document.filename == f"Decision-{opened['number']}.pdf"
    content = await case.scalar("SELECT content FROM attachment_blobs WHERE key = :k",
                                k=document.storage_key)
    assert b"(en-GB)" in content


async def test_no_template_no_document(case: CaseHarness) -> None:
    opened = await submitted(case)
    assert await decided(case, opened["id"]) is None
    listed = await case.client.get(f"/cases/{opened['id']}/documents",
                                   headers=case.citizen_headers())
    assert listed.json() == {"items": []}


async def test_who_may_read_a_decision_document(case: CaseHarness) -> None:
    await seeded(case)
    opened = await submitted(case)
    document = await decided(case, opened["id"])
    assert document is not None
    listing = f"/cases/{opened['id']}/documents"
    one = f"{listing}/{document.id}"

    for headers in (case.citizen_headers(), case.clerk_headers(), case.manager_headers(),
                    case.tenant_admin_headers(), case.client_headers("case:read")):
        assert (await case.client.get(one, headers=headers)).status_code == 200
        assert len((await case.client.get(listing, headers=headers)).json()["items"]) == 1

    for headers in (case.clerk_headers("tax-office"), case.citizen_headers(case.MAX),
                    case.clerk_headers(tenant="beispielhausen"),
                    case.tenant_admin_headers("beispielhausen"),
                    case.citizen_headers(tenant="beispielhausen"),
                    case.client_headers("case:read", tenant="beispielhausen")):
        for url in (listing, one):
            response = await case.client.get(url, headers=headers)
            assert response.status_code == 404, (url, response.text)
            assert response.json()["code"] == "case_not_found"
            assert response.headers["content-type"] == "application/problem+json"

    assert (await case.client.get(one)).status_code == 401
    other = await case.client.get(f"{listing}/{uuid.uuid4()}", headers=case.citizen_headers())
    assert (other.status_code, other.json()["code"]) == (404, "document_not_found")
    # A document of another case is not reachable through a case one may read.
    maxs = await submitted(case, account=case.MAX)
    crossed = await case.client.get(f"/cases/{maxs['id']}/documents/{document.id}",
                                    headers=case.clerk_headers())
    assert (crossed.status_code, crossed.json()["code"]) == (404, "document_not_found")


async def test_the_signed_link_works_without_a_token_until_it_expires(case: CaseHarness) -> None:
    await seeded(case)
    opened = await submitted(case)
    document = await decided(case, opened["id"])
    assert document is not None
    now = datetime.now(UTC)
    ref = document_ref(document, case.settings, now)
    assert ref.download_url.startswith(f"{BASE_URL}/documents/signed/")
    assert (ref.document_id, ref.sha256, ref.size) == (document.id, document.sha256,
                                                       document.size)

    fresh = await case.client.get(_path(ref.download_url))
    assert fresh.status_code == 200
    assert fresh.headers["content-type"] == "application/pdf"
    assert hashlib.sha256(fresh.content).hexdigest() == document.sha256
    # Issued 13 days ago: still valid (the control for the expired link below).
    older = document_ref(document, case.settings, now - timedelta(days=13))
    assert (await case.client.get(_path(older.download_url))).status_code == 200

    token = ref.download_url.rsplit("/", 1)[1]
    payload, stamp, signature = token.split(".")
    # The first character: the last one of a base64 signature carries padding bits, and
    # changing only those leaves the decoded signature (and the link) valid.
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    other_id = document_ref(CaseDocument(id=uuid.uuid4(), kind="decision", filename="x.pdf",
                                         media_type="application/pdf", size=1, sha256="0"),
                            case.settings, now).download_url.rsplit("/", 1)[1]
    forged = f"{other_id.split('.')[0]}.{stamp}.{signature}"
    expired = document_ref(document, case.settings, now - timedelta(days=15))
    for bad in (f"{payload}.{stamp}.{flipped}", forged, "not-a-token",
                f"{payload}.{stamp}", expired.download_url.rsplit("/", 1)[1]):
        response = await case.client.get(f"/documents/signed/{bad}")
        assert response.status_code == 404, bad
        body = response.json()
        assert body["code"] == "document_not_found"
        assert "signature" not in response.text.lower()
        assert "expired" not in response.text.lower()


async def test_a_purged_case_takes_its_documents_with_it(case: CaseHarness) -> None:
    from case_service.attachments.storage import DatabaseBlobStorage
    from case_service.documents.retention import delete_document_contents

    await seeded(case)
    opened = await submitted(case)
    kept = await submitted(case, account=case.MAX)
    document = await decided(case, opened["id"])
    other = await decided(case, kept["id"])
    assert document is not None
    assert other is not None
    ref = document_ref(document, case.settings, datetime.now(UTC))
    async with unit_of_work(case.sessions) as session:
        assert await delete_document_contents(session, [document.case_id],
                                              DatabaseBlobStorage()) == 1
        # What the retention purge does after it (migration 0007 lets only it delete audit).
        await session.execute(text("SELECT set_config('city.case_purging', 'on', true)"))
        await session.execute(delete(Case).where(Case.id == document.case_id))
    assert await case.scalar("SELECT count(*) FROM case_documents WHERE case_id = :c",
                             c=document.case_id) == 0
    assert await case.scalar("SELECT count(*) FROM attachment_blobs WHERE key LIKE :k",
                             k=f"documents/{opened['id']}/%") == 0
    assert await case.scalar("SELECT count(*) FROM attachment_blobs WHERE key = :k",
                             k=other.storage_key) == 1
    gone = await case.client.get(_path(ref.download_url))
    assert (gone.status_code, gone.json()["code"]) == (404, "document_not_found")
