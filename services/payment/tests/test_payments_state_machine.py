"""Unit: the payment state machine, the opaque cursor and the input types (no I/O)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from city_shared.encoding import b64url_encode
from city_shared.errors import InvalidTransition
from city_shared.pagination import Cursor
from payment_service.payments.errors import InvalidCursor
from payment_service.payments.models import Payment
from payment_service.payments.schemas import PaymentCreate

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
ALLOWED = {
    ("created", "started"), ("created", "cancelled"), ("created", "expired"),
    ("started", "succeeded"), ("started", "failed"), ("started", "cancelled"),
    ("started", "expired"),
}
STATUSES = ("created", "started", "succeeded", "failed", "cancelled", "expired")


def _payment(status: str) -> Payment:
    # Complete enough for the event its transition records.
    return Payment(id=uuid.uuid4(), status=status, version=1, next_url="https://pay.example/x",
                   tenant="t", source="s", reference="r-1", amount=500, currency="EUR",
                   line_items=[])


@pytest.mark.parametrize("current", STATUSES)
@pytest.mark.parametrize("wanted", STATUSES)
def test_only_the_documented_transitions_are_allowed(current: str, wanted: str) -> None:
    payment = _payment(current)
    if (current, wanted) in ALLOWED:
        payment.transition(wanted, "why", NOW)  # type: ignore[arg-type]
        assert (payment.status, payment.reason, payment.version) == (wanted, "why", 2)
        assert payment.finished == (wanted not in ("created", "started"))
        assert (payment.finished_at is not None) == payment.finished
        assert (payment.next_url is None) == payment.finished
    else:
        with pytest.raises(InvalidTransition) as raised:
            payment.transition(wanted, None, NOW)  # type: ignore[arg-type]
        assert raised.value.status == 409
        assert raised.value.code == "invalid_transition"
        assert (payment.status, payment.version) == (current, 1)


def test_forgetting_the_payer_reports_whether_anything_changed() -> None:
    payment = _payment("succeeded")
    payment.payer_account_id, payment.payer_email, payment.payer_name = uuid.uuid4(), "e@x", "N"
    assert payment.forget_payer() is True
    assert (payment.payer_account_id, payment.payer_email, payment.payer_name) == (None,) * 3
    assert payment.forget_payer() is False


def test_a_cursor_round_trips_and_rejects_anything_else() -> None:
    cursor = Cursor(NOW, uuid.uuid4())
    assert Cursor.decode(cursor.encode()) == cursor
    naive = b64url_encode(f"{NOW.replace(tzinfo=None).isoformat()}|{uuid.uuid4()}".encode())
    for bad in ("", "x", "é", "!!!!", "a" * 201, naive):
        with pytest.raises(InvalidCursor):
            Cursor.decode(bad)


def _create(**changes: object) -> PaymentCreate:
    body: dict[str, object] = {
        "amount": 500, "description": "Hallenbad", "reference": "r-1",
        "line_items": [{"department": "pools", "cost_centre": "BAD-5700",
                        "description": "Erwachsene", "amount": 500}],
    }
    return PaymentCreate.model_validate({**body, **changes})


def test_create_defaults_and_strictness() -> None:
    create = _create()
    assert (create.currency, create.metadata, create.payer, create.return_url) == (
        "EUR", {}, None, None)
    for bad in ({"amount": "500"}, {"amount": 5.0}, {"amount": True}, {"amount": 0},
                {"metadata": {"a b": "c"}}, {"metadata": {"k": 1}},
                {"return_url": "mailto:x@example.org"}, {"surprise": 1}):
        with pytest.raises(ValidationError):
            _create(**bad)
    assert _create(description="  padded  ").description == "padded"
    assert _create(reference=" exact ").reference == " exact "
