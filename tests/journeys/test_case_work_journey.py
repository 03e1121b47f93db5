"""The resident parking permit from the application to the decision, end to end across every
service running as its own process: Erika applies (prefilled from her eID), attaches her proof
of residence, pays; a clerk of the citizens' office claims the case and asks for her vehicle
registration; Erika answers; the traffic department answers its part; the clerk approves; Erika
gets the decision (Bescheid) as PDF by e-mail and in her inbox and sees the whole timeline; the
ledger books the fee under the citizens' office (and the traffic department's share); every
event of the case carries one correlation id and one trace. The same library service in
``beispielhausen`` charges its own fee and goes to its own office.

Only public interfaces: HTTP APIs, the checkout page, the mailbox, Kafka.
"""

from __future__ import annotations

import json
import uuid
from datetime import date
from email.message import EmailMessage
from typing import Any

import httpx
import pytest

from devstack.smtp import read_mailbox
from devstack.testing import LocalStack

from .kit import checkout, client_token, eventually, journey_events, login

pytestmark = pytest.mark.timeout(600)

ERIKA = "erika.mustermann@example.org"
PAULA = "paula.beispiel@example.org"
CLERK = "citizens-office.clerk1@example.org"
TRAFFIC_CLERK = "traffic.clerk@example.org"
BH_CLERK = "citizens-office.clerk@beispielhausen.example.org"
BH_MANAGER = "citizens-office.manager@beispielhausen.example.org"
BH_FRONTEND = "beispielhausen-frontend"
CITIZEN_SCOPE = "openid profile email case:read case:write notification:read"
STAFF_SCOPE = "openid profile case:read case:write"
CASE_TOPICS = ("case.cases", "payment.requests", "payment.payments", "notification.deliveries")
PDF = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
       b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
TYPED = {"vehicle_registration": "MS-EM 123", "vehicle_owner": "self",
         "valid_from": date.today().isoformat()}


def mails(stack: LocalStack, address: str, number: str) -> list[EmailMessage]:
    """The e-mails to ``address`` about case ``number``, oldest first."""
    found = []
    for message in read_mailbox(stack.config.mail_dir):
        if address not in str(message["To"]):
            continue
        body = message.get_body(("plain",))
        if number in str(message["Subject"]) or (body is not None
                                                 and number in body.get_content()):
            found.append(message)
    return found


async def revenue(http: httpx.AsyncClient, stack: LocalStack,
                  reader: dict[str, str]) -> dict[str, int]:
    """Revenue per department in the payment ledger of the reader's tenant."""
    response = await http.get(f"{stack.base_url('payment')}/ledger/balances", headers=reader)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["balanced"] is True
    return {a["department"]: abs(a["balance"]) for a in body["accounts"]
            if a["account"].startswith("revenue:")}


class Citizen:
    """A citizen's side of a case through the case API."""

    def __init__(self, http: httpx.AsyncClient, api: str, headers: dict[str, str]) -> None:
        self.http, self.api, self.headers = http, api, headers

    async def apply(self, tenant: str, slug_name: str, correlation: str) -> dict[str, Any]:
        listed = await self.http.get(f"{self.api}/public/{tenant}/services",
                                     params={"q": slug_name})
        assert listed.status_code == 200, listed.text
        [service] = [s for s in listed.json()["items"] if slug_name in s["names"]["de"]]
        headers = {**self.headers, "X-Correlation-ID": correlation}
        draft = await self.http.post(f"{self.api}/drafts", headers=headers,
                                     json={"service_id": service["id"], "data": TYPED})
        assert draft.status_code == 201, draft.text
        body: dict[str, Any] = draft.json()
        assert body["data"]["family_name"] in ("Mustermann", "Beispiel")  # verified prefill
        assert body["data"]["street_address"]
        upload = await self.http.post(
            f"{self.api}/drafts/{body['id']}/attachments", content=PDF,
            params={"kind": "proof_of_residence", "filename": "meldebescheinigung.pdf"},
            headers={**headers, "Content-Type": "application/pdf"})
        assert upload.status_code == 201, upload.text
        submitted = await self.http.post(
            f"{self.api}/drafts/{body['id']}/submit",
            headers={**headers, "Idempotency-Key": str(uuid.uuid4())})
        assert submitted.status_code == 201, submitted.text
        case: dict[str, Any] = submitted.json()
        return case

    async def case(self, case_id: str) -> dict[str, Any]:
        response = await self.http.get(f"{self.api}/cases/{case_id}", headers=self.headers)
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found

    async def pay(self, case: dict[str, Any]) -> None:
        async def checkout_url() -> str | None:
            response = await self.http.get(case["payment"]["pay_url"], headers=self.headers,
                                           follow_redirects=False)
            if response.status_code == 303:
                return response.headers["location"]
            assert response.status_code == 409, response.text
            return None

        paid = await checkout(await eventually(checkout_url, "the checkout page"), "pay")
        assert paid.status_code in (200, 303), paid.text

    async def in_status(self, case_id: str, status: str) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            found = await self.case(case_id)
            return found if found["status"] == status else None

        return await eventually(probe, f"the case {status}")


async def act(http: httpx.AsyncClient, api: str, headers: dict[str, str],
              case: dict[str, Any], action: str, **body: Any) -> dict[str, Any]:
    """Take ``action`` on the case as read (If-Match with its version)."""
    response = await http.post(f"{api}/cases/{case['id']}/actions/{action}", json=body,
                               headers={**headers, "If-Match": f'"{case["version"]}"'})
    assert response.status_code == 200, response.text
    done: dict[str, Any] = response.json()
    return done


async def test_a_parking_permit_travels_from_application_to_decision(
    stack: LocalStack,
) -> None:
    correlation = f"journey-{uuid.uuid4()}"
    api = stack.base_url("case")
    async with httpx.AsyncClient(timeout=30) as http:
        erp = await client_token(stack, "city-erp", "payment:reports")
        before = await revenue(http, stack, erp)
        # 1. Erika applies, prefilled from her eID, with her proof of residence, and pays
        erika = Citizen(http, api, await login(stack, ERIKA, scope=CITIZEN_SCOPE,
                                               method="sandbox_eid", acr="substantial"))
        case = await erika.apply("musterstadt", "Bewohnerparkausweis", correlation)
        assert case["status"] == "awaiting_payment"
        assert case["fee"]["amount"] == 3070
        number = case["number"]
        assert number.startswith("MS-")
        await erika.pay(case)
        case = await erika.in_status(case["id"], "submitted")

        async def receipt() -> list[EmailMessage] | None:
            return mails(stack, ERIKA, number) or None

        await eventually(receipt, "the receipt e-mail")

        # 2. a clerk of the citizens' office finds it in the worklist, claims it, reviews it
        clerk = await login(stack, CLERK, scope=STAFF_SCOPE)
        worklist = await http.get(f"{api}/departments/citizens-office/worklist",
                                  params={"q": number}, headers=clerk)
        assert worklist.status_code == 200, worklist.text
        assert [item["number"] for item in worklist.json()["items"]] == [number]
        staff_view = await (http.get(f"{api}/cases/{case['id']}", headers=clerk))
        claimed = await http.post(f"{api}/cases/{case['id']}/claim", headers={
            **clerk, "If-Match": f'"{staff_view.json()["version"]}"'})
        assert claimed.status_code == 200, claimed.text
        in_review = await act(http, api, clerk, claimed.json(), "start_review")
        assert in_review["status"] == "in_review"

        # 3. ... and asks for the vehicle registration
        asked = await act(http, api, clerk, in_review, "request_information",
                          public_note="Bitte reichen Sie die Zulassungsbescheinigung Teil I "
                                      "nach.",
                          information={"fields": ["vehicle_registration"],
                                       "attachment_kinds": ["vehicle_registration"]})
        assert asked["status"] == "information_requested"

        # 4. Erika is told, sees what is expected of her, and answers on the same case
        async def asked_mail() -> list[EmailMessage] | None:
            found = mails(stack, ERIKA, number)
            return found if len(found) >= 3 else None  # receipt, payment due, request

        await eventually(asked_mail, "the request e-mail")
        timeline = (await http.get(f"{api}/cases/{case['id']}/timeline",
                                   headers=erika.headers)).json()
        assert timeline["expected"]["action"] == "answer"
        upload = await http.post(
            f"{api}/cases/{case['id']}/attachments", content=PDF,
            params={"kind": "vehicle_registration", "filename": "zulassung.pdf"},
            headers={**erika.headers, "Content-Type": "application/pdf"})
        assert upload.status_code == 201, upload.text
        mine = await erika.case(case["id"])
        answered = await act(http, api, erika.headers, mine, "provide_information",
                             data={"vehicle_registration": "MS-EM 124"})
        assert answered["status"] == "in_review"

        # 5. the traffic department answers its part, and sees nothing else of the case
        traffic = await login(stack, TRAFFIC_CLERK, scope=STAFF_SCOPE)
        assert (await http.get(f"{api}/cases/{case['id']}", headers=traffic)).status_code == 404

        async def the_part() -> dict[str, Any] | None:
            parts = await http.get(f"{api}/parts", params={"department": "traffic"},
                                   headers=traffic)
            assert parts.status_code == 200, parts.text
            return next((p for p in parts.json()["items"] if p["case_number"] == number),
                        None)

        part = await eventually(the_part, "the traffic department's part")
        answer = await http.post(f"{api}/parts/{part['id']}/answer",
                                 json={"result": "agreed", "note": "Zone A, keine Einwände."},
                                 headers={**traffic, "If-Match": f'"{part["version"]}"'})
        assert answer.status_code == 200, answer.text

        # 6. the clerk approves
        current = (await http.get(f"{api}/cases/{case['id']}", headers=clerk)).json()
        approved = await act(http, api, clerk, current, "approve",
                             outcome={"permit_number": "BP-2026-0001",
                                      "valid_until": "2027-12-31"})
        assert approved["status"] == "approved"

        # 7. Erika gets the Bescheid as PDF by e-mail and in her inbox, and sees the timeline
        async def decision_mail() -> EmailMessage | None:
            return next((m for m in mails(stack, ERIKA, number)
                         if any(p.get_content_type() == "application/pdf"
                                for p in m.iter_attachments())), None)

        decided = await eventually(decision_mail, "the decision e-mail")
        [pdf] = [p for p in decided.iter_attachments()
                 if p.get_content_type() == "application/pdf"]
        attached = pdf.get_content()
        assert attached.startswith(b"%PDF")
        documents = (await http.get(f"{api}/cases/{case['id']}/documents",
                                    headers=erika.headers)).json()
        [document] = documents["items"]
        downloaded = await http.get(f"{api}/cases/{case['id']}/documents/{document['id']}",
                                    headers=erika.headers)
        assert downloaded.status_code == 200
        assert downloaded.content == attached

        notification = stack.base_url("notification")

        async def inbox_decision() -> dict[str, Any] | None:
            response = await http.get(f"{notification}/inbox", headers=erika.headers)
            assert response.status_code == 200, response.text
            items = response.json().get("items", [])
            return next((m for m in items if number in json.dumps(m)
                         and document["id"] in json.dumps(m)), None)

        await eventually(inbox_decision, "the decision in the inbox")
        timeline = (await http.get(f"{api}/cases/{case['id']}/timeline",
                                   headers=erika.headers)).json()
        statuses = [e.get("status") for e in timeline["entries"] if e["kind"] == "status"]
        assert statuses[0] == "awaiting_payment", statuses
        assert statuses[-1] == "approved", statuses
        assert {"submitted", "in_review", "information_requested"} <= set(statuses)
        assert timeline["expected"]["action"] == "none"
        assert "Zone A" not in json.dumps(timeline)  # the part's note is staff's

        # 8. the ledger: the fee under the citizens' office, the traffic share apart
        after = await revenue(http, stack, erp)
        office = after.get("citizens-office", 0) - before.get("citizens-office", 0)
        share = after.get("traffic", 0) - before.get("traffic", 0)
        assert (office, share) == (3070 - 921, 921)

    # 9. one correlation id and one trace for everything the case caused
    events = await journey_events(stack, correlation, topics=CASE_TOPICS, expected={
        "city.case.case.submitted.v1", "city.payment.request.v1",
        "city.payment.payment.succeeded.v1", "city.case.case.paid.v1",
        "city.case.case.assigned.v1", "city.case.case.status_changed.v1",
        "city.case.case.information_requested.v1", "city.case.case.information_provided.v1",
        "city.case.part.requested.v1", "city.case.part.answered.v1",
        "city.case.case.decided.v1", "city.notification.delivery.delivered.v1"})
    traces = {headers["ce_traceparent"].split("-")[1] for _, headers in events
              if "ce_traceparent" in headers}
    assert len(traces) == 1, traces


async def test_the_same_permit_in_beispielhausen_has_its_own_fee_and_office(
    stack: LocalStack,
) -> None:
    correlation = f"journey-{uuid.uuid4()}"
    api = stack.base_url("case")
    async with httpx.AsyncClient(timeout=30) as http:
        paula = Citizen(http, api, await login(stack, PAULA, scope=CITIZEN_SCOPE,
                                               method="sandbox_eid", acr="substantial",
                                               client_id=BH_FRONTEND))
        case = await paula.apply("beispielhausen", "Bewohnerparkausweis", correlation)
        assert case["fee"]["amount"] == 12000
        assert case["number"].startswith("BH-")
        assert case["department"] == "citizens-office"
        await paula.pay(case)
        case = await paula.in_status(case["id"], "submitted")

        # Beispielhausen's clerk works it; musterstadt's clerk never sees it
        clerk = await login(stack, BH_CLERK, scope=STAFF_SCOPE, client_id=BH_FRONTEND)
        worklist = await http.get(f"{api}/departments/citizens-office/worklist",
                                  params={"q": case["number"]}, headers=clerk)
        assert [i["id"] for i in worklist.json()["items"]] == [case["id"]]
        other = await login(stack, CLERK, scope=STAFF_SCOPE)
        assert (await http.get(f"{api}/cases/{case['id']}", headers=other)).status_code == 404
        elsewhere = await http.get(f"{api}/departments/citizens-office/worklist",
                                   params={"q": case["number"]}, headers=other)
        assert elsewhere.json()["items"] == []
        # the traffic check is its own office's part here
        reviewed = await act(http, api, clerk, (await http.get(
            f"{api}/cases/{case['id']}", headers=clerk)).json(), "start_review")
        assert reviewed["status"] == "in_review"
        parts = await http.get(f"{api}/parts", params={"department": "citizens-office"},
                               headers=clerk)
        assert [p["case_number"] for p in parts.json()["items"]
                if p["case_number"] == case["number"]] == [case["number"]]
        manager = await login(stack, BH_MANAGER, scope="openid profile payment:read",
                              client_id=BH_FRONTEND)
        assert (await revenue(http, stack, manager)).get("citizens-office", 0) >= 12000
