"""The citizen's timeline while staff and the applicant work a case through the API: submitted
and paid, claimed and reviewed, information requested and answered, approved with its
Bescheid; and a withdrawal whose paid fee is asked back. At every step the applicant sees what
they must do, and never the clerk, the internal notes or the form data."""

from __future__ import annotations

from typing import Any

from case_service.documents.seed import seed_document_templates
from city_shared.unit_of_work import unit_of_work

from .conftest import CaseHarness
from .test_workflow_kit import PDF, act, answer_parts, get, parking_case, staff

INTERNAL = "Kennzeichen wirkt manipuliert, Halterabfrage läuft"
ASKED = "Bitte reichen Sie die Zulassungsbescheinigung Teil I nach."


async def timeline(h: CaseHarness, case_id: str, query: str = "") -> dict[str, Any]:
    response = await h.client.get(f"/cases/{case_id}/timeline{query}",
                                  headers=h.citizen_headers())
    assert response.status_code == 200, response.text
    assert INTERNAL not in response.text
    assert "B-AB 1234" not in response.text  # form data
    assert "assignee" not in response.text
    body: dict[str, Any] = response.json()
    return body


def statuses(body: dict[str, Any]) -> list[str]:
    return [e["status"] for e in body["entries"] if e["kind"] == "status"]


async def test_the_applicant_follows_the_case_to_its_decision(case: CaseHarness) -> None:
    async with unit_of_work(case.sessions) as session:
        await seed_document_templates(session)
    c = await parking_case(case)
    clerk_sub = "c1e7c1e7-0000-4000-8000-00000000c1e7"
    clerk = staff(case, sub=clerk_sub)

    paid = await timeline(case, c["id"])
    assert statuses(paid) == ["awaiting_payment", "submitted"]
    assert [e["payment"]["step"] for e in paid["entries"] if e["kind"] == "payment"] == [
        "requested", "paid"]
    assert paid["expected"]["action"] == "none"

    claimed = await case.client.post(f"/cases/{c['id']}/claim", headers={
        **clerk, "If-Match": f'"{(await get(case, c["id"], clerk))["version"]}"'})
    assert claimed.status_code == 200, claimed.text
    assert (await act(case, c["id"], "start_review", clerk)).status_code == 200
    asked = await act(case, c["id"], "request_information", clerk, public_note=ASKED,
                      internal_note=INTERNAL,
                      information={"fields": ["vehicle_registration"],
                                   "attachment_kinds": ["proof_of_residence"]})
    assert asked.status_code == 200, asked.text

    waiting = await timeline(case, c["id"])
    assert clerk_sub not in str(waiting)
    assert statuses(waiting)[-2:] == ["in_review", "information_requested"]
    [request] = [e for e in waiting["entries"] if e["kind"] == "information_request"]
    assert request["text"] == ASKED
    assert request["information"]["status"] == "open"
    expected = waiting["expected"]
    assert expected["action"] == "answer"
    assert expected["deadline"] == request["deadline"] is not None
    assert (expected["fields"], expected["attachment_kinds"]) == (
        ["vehicle_registration"], ["proof_of_residence"])
    assert expected["url"] == f"{case.BASE_URL}/cases/{c['id']}/actions/provide_information"
    upload = await case.client.post(
        expected["attachments_url"].removeprefix(case.BASE_URL),
        params={"kind": "proof_of_residence"}, content=PDF,
        headers={**case.citizen_headers(), "Content-Type": "application/pdf"})
    assert upload.status_code == 201, upload.text
    answered = await act(case, c["id"], "provide_information", case.citizen_headers(),
                         data={"vehicle_registration": "B-XY 99"})
    assert answered.status_code == 200, answered.text

    back = await timeline(case, c["id"])
    assert statuses(back)[-1] == "in_review"
    assert [e for e in back["entries"] if e["kind"] == "status"][-1]["deadline"] is None
    [request] = [e for e in back["entries"] if e["kind"] == "information_request"]
    assert request["information"]["status"] == "answered"
    assert request["information"]["answered_at"] is not None
    assert back["expected"]["action"] == "none"
    assert "B-XY 99" not in str(back)

    await answer_parts(case, c["id"])
    approved = await act(case, c["id"], "approve", clerk, public_note="Genehmigt.",
                         outcome={"permit_number": "BP-2026-0042"})
    assert approved.status_code == 200, approved.text

    done = await timeline(case, c["id"])
    assert statuses(done) == ["awaiting_payment", "submitted", "in_review",
                              "information_requested", "in_review", "approved"]
    decided = [e for e in done["entries"] if e["kind"] == "status"][-1]
    assert (decided["label"], decided["text"]) == ("Bewilligt", "Genehmigt.")
    [letter] = [e for e in done["entries"] if e["kind"] == "document"]
    assert letter["label"] == "Bescheid"
    pdf = await case.client.get(letter["document_url"].removeprefix(case.BASE_URL),
                                headers=case.citizen_headers())
    assert pdf.status_code == 200, pdf.text
    assert pdf.content.startswith(b"%PDF")
    assert done["expected"]["action"] == "none"
    assert done["expected"]["label"] == "Das Verfahren ist abgeschlossen."
    ats = [e["at"] for e in done["entries"]]
    assert ats == sorted(ats)

    english = await timeline(case, c["id"], "?locale=en")
    assert [e["label"] for e in english["entries"] if e["kind"] == "status"] == [
        "Awaiting payment", "Received", "In review", "Information requested", "In review",
        "Approved"]
    assert english["expected"]["label"] == "This case is closed."
    staff_view = await case.client.get(f"/cases/{c['id']}/timeline", headers=clerk)
    assert staff_view.status_code == 200
    assert INTERNAL not in staff_view.text
    other_clerk = await case.client.get(f"/cases/{c['id']}/timeline",
                                        headers=staff(case, department="tax-office"))
    assert other_clerk.status_code == 404


async def test_a_withdrawal_shows_the_fee_asked_back(case: CaseHarness) -> None:
    c = await parking_case(case)

    withdrawn = await act(case, c["id"], "withdraw", case.citizen_headers())
    assert withdrawn.status_code == 200, withdrawn.text

    body = await timeline(case, c["id"])
    assert statuses(body)[-1] == "withdrawn"
    assert body["status_label"] == "Zurückgezogen"
    steps = [e["payment"] for e in body["entries"] if e["kind"] == "payment"]
    assert [s["step"] for s in steps] == ["requested", "paid", "refund_requested"]
    assert steps[-1]["amount"] == c["fee_amount"]
    assert steps[-1]["currency"] == "EUR"
    assert body["expected"]["action"] == "none"
