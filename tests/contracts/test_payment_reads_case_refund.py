"""Contract: case's refund command ``city.payment.refund.request.v1`` and payment's answers about
refunds. The command is documented once (with ticketing's model, the first requester); case's
model must have the same schema, and what case sends (its example and the commands it builds)
must be requests payment's refund handler accepts unchanged. (Case reading payment's
``refund.succeeded`` / ``refund.failed`` is one of the pairs of ``test_case_reads_payment``.)"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

import pytest

from case_service.cases import handlers as case_answers
from case_service.cases import payments as case_commands
from case_service.cases.models import Case
from payment_service.refunds.handlers import RefundRequestData as PaymentReads
from tests.contracts.catalogue import examples, published


def _schema(model: type[Any]) -> dict[str, Any]:
    schema: dict[str, Any] = model.model_json_schema()
    schema.pop("examples", None)
    return schema


def test_case_sends_the_documented_refund_request() -> None:
    documented = published(case_commands.REFUND_REQUEST)
    assert documented.topic == case_commands.REQUESTS_TOPIC
    assert _schema(case_commands.RefundRequestData) == _schema(documented.model)


def test_payment_accepts_cases_refund_request_example() -> None:
    entry = published(case_commands.REFUND_REQUEST)
    [example] = examples(replace(entry, model=case_commands.RefundRequestData,
                                 extra_examples=()))
    request = PaymentReads.model_validate(example)
    assert request.model_dump(mode="json") == example


@pytest.mark.parametrize(("attempt", "reason", "occasion"), [
    (1, "withdrawn", "withdrawal"),
    (2, case_commands.LATE_PAYMENT_REFUND, f"late:{uuid.uuid4()}"),
])
def test_payment_accepts_the_refund_commands_case_builds(attempt: int, reason: str,
                                                          occasion: str) -> None:
    case = Case(id=uuid.uuid4(), tenant="musterstadt", department="citizens-office",
                correlation_id=None)
    reference = case_commands.payment_reference(case.id, attempt)
    event = case_commands.refund_request(case, reference=reference, amount=2400, reason=reason,
                                         occasion=occasion)
    assert (event.type, event.source) == (case_commands.REFUND_REQUEST, "/case")
    request = event.parse(PaymentReads)
    # Payment finds the payment by (tenant, the event's source without the slash, reference).
    assert event.source.removeprefix("/") == case_answers.OUR_SOURCE
    assert (request.tenant, request.reference) == (event.tenant, reference)
    assert (request.amount, request.reason) == (2400, reason)
    assert request.request_id == uuid.uuid5(case.id, occasion)
