"""The citizen's timeline read from the rows a case's history, notes, requests and documents
leave: what the applicant sees (in their language), what they never see (internal notes, the
assignee, form data), what is expected of them, and who may read it at all."""

from __future__ import annotations

import json
import uuid
from typing import Any

from .conftest import CaseHarness
from .test_cases_payment import answer, deliver, submitted_case

SECRET = "Intern: Antragstellerin wirkt unzuverlässig"
ASSIGNEE = "5d1c7a9e-clerk-of-the-citizens-office"


async def timeline(h: CaseHarness, c: dict[str, Any], headers: dict[str, str] | None = None,
                   query: str = "") -> dict[str, Any]:
    response = await h.client.get(f"/cases/{c['id']}/timeline{query}",
                                  headers=headers or h.citizen_headers())
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def paid_case(h: CaseHarness) -> dict[str, Any]:
    c = await submitted_case(h)
    await deliver(h, answer("created", c))
    await deliver(h, answer("succeeded", c))
    return c


async def history(h: CaseHarness, c: dict[str, Any], type_: str, status: str, minutes: int,
                  **detail: Any) -> None:
    """A history row ``minutes`` after the submission, and the case in ``status``."""
    await h.execute(
        "INSERT INTO case_history (case_id, type, status, at, detail) SELECT id, :t, :s, "
        "submitted_at + make_interval(mins => :m), CAST(:d AS jsonb) FROM cases WHERE id = :c",
        c=uuid.UUID(c["id"]), t=type_, s=status, m=minutes, d=json.dumps(detail))
    await h.execute("UPDATE cases SET status = :s, version = version + 1 WHERE id = :c",
                    c=uuid.UUID(c["id"]), s=status)


async def note(h: CaseHarness, c: dict[str, Any], visibility: str, text: str,
               minutes: int, author: str = f"staff:{ASSIGNEE}") -> uuid.UUID:
    note_id = uuid.uuid4()
    await h.execute(
        "INSERT INTO case_notes (id, case_id, tenant, visibility, author, text, created_at) "
        "SELECT :n, id, tenant, :v, :a, :t, submitted_at + make_interval(mins => :m) "
        "FROM cases WHERE id = :c", n=note_id, c=uuid.UUID(c["id"]), v=visibility, a=author,
        t=text, m=minutes)
    return note_id


async def request_information(h: CaseHarness, c: dict[str, Any], minutes: int) -> uuid.UUID:
    """In review, then the clerk asks for the vehicle registration (a public note, an internal
    one, an open request with a deadline 14 days on); the case is claimed by a clerk."""
    await h.execute("UPDATE cases SET assignee = :a WHERE id = :c", a=ASSIGNEE,
                    c=uuid.UUID(c["id"]))
    await history(h, c, "start_review", "in_review", minutes)
    await note(h, c, "internal", SECRET, minutes + 1)
    asked = "Bitte reichen Sie die Geburtsurkunde Ihrer Mutter nach."
    public = await note(h, c, "public", asked, minutes + 2)
    request_id = uuid.uuid4()
    await h.execute(
        "INSERT INTO case_information_requests (id, case_id, tenant, status, note, fields, "
        "attachment_kinds, deadline, requested_by, requested_at) SELECT :r, id, tenant, 'open',"
        " :n, '[\"birth_name\"]', '[\"birth_certificate\"]', "
        "submitted_at + interval '14 days', :by, submitted_at + make_interval(mins => :m) "
        "FROM cases WHERE id = :c", r=request_id, c=uuid.UUID(c["id"]), n=asked,
        by=f"staff:{ASSIGNEE}", m=minutes + 2)
    await history(h, c, "request_information", "information_requested", minutes + 2,
                  note_id=str(public), request_id=str(request_id))
    return request_id


async def test_the_applicant_follows_the_case_from_the_fee_to_the_request(
        case: CaseHarness) -> None:
    c = await paid_case(case)
    await request_information(case, c, 10)

    body = await timeline(case, c)

    assert body["locale"] == "de"  # the case's language
    assert body["status"] == "information_requested"
    assert body["status_label"] == "Angaben nachgefordert"
    assert [(e["kind"], e.get("status") or (e.get("payment") or {}).get("step"))
            for e in body["entries"]] == [
        ("status", "awaiting_payment"), ("payment", "requested"), ("payment", "paid"),
        ("status", "submitted"), ("status", "in_review"),
        ("status", "information_requested"), ("information_request", None)]
    labels = [e["label"] for e in body["entries"]]
    assert labels == ["Zahlung ausstehend", "Gebühr angefordert", "Gebühr bezahlt",
                      "Eingegangen", "In Bearbeitung", "Angaben nachgefordert",
                      "Nachforderung von Angaben"]
    assert body["entries"][1]["payment"] == {"step": "requested", "amount": 2400,
                                             "currency": "EUR"}
    ask = body["entries"][-1]
    assert ask["text"] == "Bitte reichen Sie die Geburtsurkunde Ihrer Mutter nach."
    assert ask["information"] == {"status": "open", "fields": ["birth_name"],
                                  "attachment_kinds": ["birth_certificate"],
                                  "answered_at": None}
    assert body["entries"][-2]["deadline"] == ask["deadline"]
    assert ask["deadline"].endswith("+00:00") or ask["deadline"].endswith("Z")
    ats = [e["at"] for e in body["entries"]]
    assert ats == sorted(ats)
    # The public note appears once (with the request), never twice.
    assert json.dumps(body, ensure_ascii=False).count("Geburtsurkunde Ihrer Mutter") == 1

    expected = body["expected"]
    assert expected["action"] == "answer"
    assert expected["url"] == f"{case.BASE_URL}/cases/{c['id']}/actions/provide_information"
    assert expected["method"] == "POST"
    assert expected["deadline"] == ask["deadline"]
    assert expected["fields"] == ["birth_name"]
    assert expected["attachment_kinds"] == ["birth_certificate"]


async def test_staff_and_the_applicant_never_read_internal_notes_the_assignee_or_form_data(
        case: CaseHarness) -> None:
    c = await paid_case(case)
    await request_information(case, c, 10)
    await note(case, c, "public", "Wir prüfen Ihre Angaben.", 30)

    for headers in (case.citizen_headers(), case.clerk_headers(), case.tenant_admin_headers()):
        response = await case.client.get(f"/cases/{c['id']}/timeline", headers=headers)
        assert response.status_code == 200, response.text
        text = response.text
        assert SECRET not in text
        assert "unzuverlässig" not in text
        assert ASSIGNEE not in text
        assert "assignee" not in text
        for value in ("passport", "Mustermann", "1990-04-01", "Musterstadt"):
            assert value not in text  # form data
        assert "Wir prüfen Ihre Angaben." in text
    body = await timeline(case, c)
    [office_note] = [e for e in body["entries"] if e["kind"] == "note"]
    assert office_note["label"] == "Mitteilung der Behörde"
    assert "author" not in office_note


async def test_the_timeline_speaks_the_language_asked_for(case: CaseHarness) -> None:
    c = await paid_case(case)
    await request_information(case, c, 10)

    de = await timeline(case, c, query="?locale=de")
    en = await timeline(case, c, query="?locale=en")

    assert en["locale"] == "en"
    assert en["status_label"] == "Information requested"
    assert [e["label"] for e in en["entries"]] == [
        "Awaiting payment", "Fee requested", "Fee paid", "Received", "In review",
        "Information requested", "Request for information"]
    for de_entry, en_entry in zip(de["entries"], en["entries"], strict=True):
        assert de_entry["label"] != en_entry["label"]
        assert {k: v for k, v in de_entry.items() if k != "label"} == {
            k: v for k, v in en_entry.items() if k != "label"}
    assert de["expected"]["label"] != en["expected"]["label"]
    bad = await case.client.get(f"/cases/{c['id']}/timeline?locale=fr",
                                headers=case.citizen_headers())
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")


async def test_a_decision_with_its_document_closes_the_case(case: CaseHarness) -> None:
    c = await paid_case(case)
    request_id = await request_information(case, c, 10)
    await case.execute(
        "UPDATE case_information_requests SET status = 'answered', answered_at = "
        "requested_at + interval '1 day', answer = '{}' WHERE id = :r", r=request_id)
    await history(case, c, "provide_information", "in_review", 24 * 60 + 12,
                  request_id=str(request_id))
    approved = await note(case, c, "public", "Alles in Ordnung.", 2 * 24 * 60)
    await history(case, c, "approve", "approved", 2 * 24 * 60, note_id=str(approved))
    document_id = uuid.uuid4()
    await case.execute(
        "INSERT INTO case_documents (id, case_id, tenant, kind, locale, filename, media_type, "
        "size, sha256, storage_key, created_by, created_at) SELECT :d, id, tenant, 'decision', "
        "'de', 'Bescheid-MS.pdf', 'application/pdf', 100, :sha, 'k', 'system', "
        "submitted_at + interval '2 days 1 minute' FROM cases WHERE id = :c", d=document_id,
        c=uuid.UUID(c["id"]), sha="0" * 64)

    body = await timeline(case, c)

    kinds = [(e["kind"], e.get("status")) for e in body["entries"]][-4:]
    assert kinds == [("information_request", None), ("status", "in_review"),
                     ("status", "approved"), ("document", None)]
    ask = body["entries"][-4]
    assert ask["information"]["status"] == "answered"
    assert ask["information"]["answered_at"] is not None
    decided = body["entries"][-2]
    assert (decided["label"], decided["text"]) == ("Bewilligt", "Alles in Ordnung.")
    document = body["entries"][-1]
    assert document["label"] == "Bescheid"
    assert document["filename"] == "Bescheid-MS.pdf"
    assert document["document_url"] == (
        f"{case.BASE_URL}/cases/{c['id']}/documents/{document_id}")
    assert body["expected"] == {"action": "none", "label": "Das Verfahren ist abgeschlossen.",
                                "url": None, "method": None, "deadline": None, "fields": None,
                                "attachment_kinds": None, "attachments_url": None}


async def test_expected_follows_the_kind_of_the_state(case: CaseHarness) -> None:
    c = await submitted_case(case)
    due = (await timeline(case, c))["expected"]
    assert (due["action"], due["method"]) == ("pay", "GET")
    assert due["url"] == f"{case.BASE_URL}/cases/{c['id']}/pay"

    await deliver(case, answer("created", c))
    await deliver(case, answer("failed", c, reason="card_declined"))
    again = await timeline(case, c)
    assert (again["expected"]["action"], again["expected"]["method"]) == ("pay", "POST")
    assert again["expected"]["url"] == f"{case.BASE_URL}/cases/{c['id']}/payment"
    assert [e["payment"]["step"] for e in again["entries"] if e["kind"] == "payment"] == [
        "requested", "failed"]

    await deliver(case, answer("succeeded", c, attempt=1))
    paid = await timeline(case, c)
    assert paid["status"] == "submitted"
    assert paid["expected"]["action"] == "none"
    assert paid["expected"]["label"] == "Sie müssen derzeit nichts tun."
    await history(case, c, "start_review", "in_review", 5)
    assert (await timeline(case, c))["expected"]["action"] == "none"
    await request_information(case, c, 10)
    assert (await timeline(case, c))["expected"]["action"] == "answer"


async def test_only_who_may_read_the_case_reads_its_timeline(case: CaseHarness) -> None:
    c = await paid_case(case)
    await request_information(case, c, 10)
    url = f"/cases/{c['id']}/timeline"

    for who, headers in {"applicant": case.citizen_headers(),
                         "clerk of the department": case.clerk_headers(),
                         "manager of the department": case.manager_headers(),
                         "tenant admin": case.tenant_admin_headers()}.items():
        response = await case.client.get(url, headers=headers)
        assert response.status_code == 200, (who, response.text)
    denials = {
        "other citizen": (case.citizen_headers(case.MAX), 404),
        "citizen of another tenant": (case.citizen_headers(tenant="beispielhausen"), 404),
        "clerk of another department": (case.clerk_headers("tax-office"), 404),
        "clerk of the same department elsewhere": (
            case.clerk_headers(tenant="beispielhausen"), 404),
        "other tenant's admin": (case.tenant_admin_headers("beispielhausen"), 404),
        "staff without a role": (case.staff_headers({}), 403),
        "anonymous": ({}, 401),
    }
    for who, (headers, status) in denials.items():
        response = await case.client.get(url, headers=headers)
        assert response.status_code == status, (who, response.text)
        assert SECRET not in response.text
        if status == 404:
            assert response.json()["code"] == "case_not_found"
    unknown = await case.client.get(f"/cases/{uuid.uuid4()}/timeline",
                                    headers=case.citizen_headers())
    assert unknown.status_code == 404


async def test_a_late_entry_sorts_by_its_time(case: CaseHarness) -> None:
    c = await paid_case(case)
    await history(case, c, "start_review", "in_review", 60)
    await note(case, c, "public", "Eingangsbestätigung folgt.", 30)
    await note(case, c, "public", "Antwort der Antragstellerin", 90,
               author=f"citizen:{case.ERIKA}")

    body = await timeline(case, c)

    tail = [(e["kind"], e["label"]) for e in body["entries"]][-3:]
    assert tail == [("note", "Mitteilung der Behörde"), ("status", "In Bearbeitung"),
                    ("note", "Ihre Mitteilung")]
