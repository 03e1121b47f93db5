"""Case management's events reach the applicant through the demo rules: the receipt in German
and English, and the decision with its Bescheid fetched from a real local HTTP server at sending
time (checked against its checksum, only from the allowed sources) and attached to the e-mail,
linked in the inbox."""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

ERIKA = uuid.UUID("3f2b6c1e-8d4a-4c7e-9b1f-2a6d5e4c3b21")
SUBMITTED = "city.case.case.submitted.v1"
DECIDED = "city.case.case.decided.v1"
PDF = b"%PDF-1.7\n" + b"Bescheid " * 2000 + b"\n%%EOF\n"


class DocumentServer:
    """A tiny HTTP server on 127.0.0.1 serving ``/documents/signed/<token>``: the PDF, or
    503 while ``unavailable`` is above zero; it records every path requested."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.unavailable = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(self.path)
                if server.unavailable > 0:
                    server.unavailable -= 1
                    self.send_response(503)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/pdf")
                self.send_header("Content-Length", str(len(PDF)))
                self.end_headers()
                self.wfile.write(PDF)

            def log_message(self, *args: Any) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.prefix = f"http://127.0.0.1:{self.port}/documents/signed/"


@pytest.fixture
def documents() -> Iterator[DocumentServer]:
    server = DocumentServer()
    thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
        thread.join()


def case_event(notify: Any, type_: str, *, email: str | None, locale: str = "de",
               recipient: bool = True, **extra: Any) -> Any:
    """A case event as case publishes it (its catalogue example's fields)."""
    case_id = str(uuid.uuid4())
    data: dict[str, Any] = {
        "case_id": case_id, "tenant": notify.TENANT, "department": "citizens-office",
        "number": "MS-2026-000123", "service_id": str(uuid.uuid4()),
        "status": "awaiting_payment", "fee_amount": 1200, "currency": "EUR",
        "account_id": str(ERIKA), "service_name": "Bewohnerparkausweis",
        "status_label": "Zahlung ausstehend",
        "case_url": f"https://case.musterstadt.example/cases/{case_id}",
        "recipient": ({"account_id": str(ERIKA), "locale": locale,
                       **({"email": email} if email else {})} if recipient else None),
        **extra,
    }
    return notify.event(type_, data, department="citizens-office", source="/case",
                        subject=case_id)


def decided(notify: Any, url: str, *, email: str, sha256: str | None = None) -> Any:
    return case_event(
        notify, DECIDED, email=email, status="approved", previous_status="in_review",
        action="approve", actor_kind="staff", public_note=None, decision="approved",
        decided_at="2026-06-03T09:00:00Z",
        outcome={"permit_number": "BP-2026-0042", "valid_until": "2027-06-02"},
        documents=[{"document_id": "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a", "kind": "decision",
                    "filename": "Bescheid-MS-2026-000123.pdf",
                    "media_type": "application/pdf", "size": len(PDF),
                    "sha256": sha256 or hashlib.sha256(PDF).hexdigest(),
                    "download_url": url}])


async def test_the_receipt_arrives_in_german_and_english(notify: Any) -> None:
    for locale, subject, phrases in (
        ("de", "Eingangsbestätigung: Vorgangsnummer MS-2026-000123",
         ("Ihre Vorgangsnummer lautet MS-2026-000123", "Bewohnerparkausweis",
          "Gebühr von 12,00 € fällig")),
        ("en", "Receipt: case number MS-2026-000123",
         ("Your case number is MS-2026-000123", "Bewohnerparkausweis",
          "A fee of €12.00 is due")),
    ):
        address = notify.new_address()
        event = case_event(notify, SUBMITTED, email=address, locale=locale,
                           leika_key="urn:de:fim:leika:leistung:99115003000000",
                           definition_version=1, parameters_version=1, channel="online",
                           submitted_at="2026-06-01T10:15:00Z")
        await notify.handle(event)
        assert await notify.deliver() == {"delivered": 2}
        [mail] = notify.mails_to(address)
        assert mail["Subject"] == subject
        text = mail.get_body(preferencelist=("plain",)).get_content()
        assert all(phrase in text for phrase in phrases)
        assert list(mail.iter_attachments()) == []
    titles = [m["title"] for m in (await notify.inbox(ERIKA)).json()["items"]]
    assert sorted(titles) == ["Antrag eingegangen: MS-2026-000123",
                              "Application received: MS-2026-000123"]


async def test_a_receipt_without_fee_does_not_mention_payment(notify: Any) -> None:
    address = notify.new_address()
    event = case_event(notify, SUBMITTED, email=address, status="submitted", fee_amount=0)
    await notify.handle(event)
    await notify.deliver()
    [mail] = notify.mails_to(address)
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert "MS-2026-000123" in text
    assert "Gebühr" not in text


async def test_an_event_without_recipient_sends_nothing(notify: Any) -> None:
    event = case_event(notify, SUBMITTED, email=None, recipient=False)
    await notify.handle(event)
    assert await notify.scalar("SELECT count(*) FROM messages") == 0
    assert await notify.deliver() == {}


async def test_the_decision_arrives_with_the_bescheid_attached_and_linked_in_the_inbox(
    notify_app: Any, documents: DocumentServer,
) -> None:
    async with notify_app(document_sources=[documents.prefix]) as notify:
        address = notify.new_address()
        event = decided(notify, documents.prefix + "eyJkb2MiOiIxIn0.sig-nature_1",
                        email=address)
        await notify.handle(event)
        assert await notify.deliver() == {"delivered": 2}
        [message] = (await notify.inbox(ERIKA)).json()["items"]

    assert documents.requests == ["/documents/signed/eyJkb2MiOiIxIn0.sig-nature_1"]
    [mail] = notify.mails_to(address)
    assert mail["Subject"] == "Ihr Antrag wurde bewilligt: Vorgangsnummer MS-2026-000123"
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert "Nummer der Genehmigung: BP-2026-0042" in text
    assert "Den Bescheid finden Sie im Anhang." in text
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename() == "Bescheid-MS-2026-000123.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == PDF
    assert message["title"] == "Antrag bewilligt: MS-2026-000123"
    case_url = event.data["case_url"]
    assert (f"Bescheid (Bescheid-MS-2026-000123.pdf): {case_url}/documents/"
            "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a") in message["body"]
    assert "signed" not in message["body"]  # the expiring link is for attaching only


async def test_a_document_with_the_wrong_checksum_fails_the_email_and_sends_nothing(
    notify_app: Any, documents: DocumentServer,
) -> None:
    async with notify_app(document_sources=[documents.prefix]) as notify:
        address = notify.new_address()
        event = decided(notify, documents.prefix + "tok-SECRET-123", email=address,
                        sha256="0" * 64)
        await notify.handle(event)
        assert await notify.deliver() == {"permanent_failure": 1, "delivered": 1}
        by_channel = {d.channel: d for d in await notify.deliveries(event.id)}
        failed = await notify.outbox("city.notification.delivery.failed.v1")

    assert (by_channel["email"].status, by_channel["email"].reason) == (
        "permanent_failure", "document_checksum_mismatch")
    assert by_channel["inbox"].status == "delivered"
    assert len(documents.requests) == 1
    assert notify.mails_to(address) == []
    assert len(failed) == 1
    assert "tok-SECRET-123" not in str(failed[0].attributes) + str(failed[0].data)


async def test_a_document_outside_the_allowed_sources_is_never_fetched(
    notify_app: Any, documents: DocumentServer,
) -> None:
    elsewhere = f"http://127.0.0.1:{documents.port}/internal/secrets/"
    traversal = documents.prefix + "../../internal/secrets"
    async with notify_app(document_sources=[documents.prefix]) as notify:
        events = []
        for url in (elsewhere + "token", traversal,
                    f"http://127.0.0.1:{documents.port}/documents/signed-other/token"):
            events.append(decided(notify, url, email=notify.new_address()))
            await notify.handle(events[-1])
        await notify.deliver()
        reasons = [(d.channel, d.status, d.reason) for e in events
                   for d in await notify.deliveries(e.id) if d.channel == "email"]

    assert reasons == [("email", "permanent_failure", "document_source_not_allowed")] * 3
    assert documents.requests == []


async def test_a_source_that_is_down_is_retried_like_any_delivery(
    notify_app: Any, documents: DocumentServer,
) -> None:
    documents.unavailable = 1
    async with notify_app(document_sources=[documents.prefix]) as notify:
        address = notify.new_address()
        event = decided(notify, documents.prefix + "token", email=address)
        await notify.handle(event)
        assert await notify.deliver() == {"temporary_failure": 1, "delivered": 1}
        email = next(d for d in await notify.deliveries(event.id) if d.channel == "email")
        assert (email.status, email.reason) == ("temporary_failure", "document_http_503")
        assert notify.mails_to(address) == []
        later = datetime.now(UTC) + timedelta(hours=2)
        assert await notify.deliver(now=later) == {"delivered": 1}

    assert len(documents.requests) == 2
    [mail] = notify.mails_to(address)
    assert [a.get_content() for a in mail.iter_attachments()] == [PDF]
