"""Contract: what payment reads of case's command ``city.payment.request.v1``. The command is
documented once (with ticketing's model, the first requester); case's model must have the same
schema, and case's example must be a request payment accepts."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from case_service.cases import payments as case_commands
from payment_service.payments.handlers import PaymentRequestData as PaymentReads
from tests.contracts.catalogue import examples, published
from ticketing_service.orders import payments as ticketing_commands


def _schema(model: type[Any]) -> dict[str, Any]:
    schema: dict[str, Any] = model.model_json_schema()
    schema.pop("examples", None)
    return schema


def test_case_sends_the_documented_payment_request() -> None:
    documented = published(case_commands.PAYMENT_REQUEST)
    assert documented.model is ticketing_commands.PaymentRequestData
    assert documented.topic == case_commands.REQUESTS_TOPIC
    assert _schema(case_commands.PaymentRequestData) == _schema(documented.model)


def test_payment_accepts_cases_payment_request() -> None:
    entry = published(case_commands.PAYMENT_REQUEST)
    [example] = examples(replace(entry, model=case_commands.PaymentRequestData,
                                 extra_examples=()))
    request = PaymentReads.model_validate(example)
    create = request.to_create()
    assert create.reference == example["reference"]
    assert sum(item.amount for item in create.line_items) == create.amount
