"""The event contracts of the platform, as tables: who publishes which event type with which
pydantic model on which topic (:data:`PUBLISHED`), and who reads it with which narrow model
(:data:`CONSUMED`).

The producers' models are the single source of an event's schema and example; the AsyncAPI
document (``docs/asyncapi.yaml``, :mod:`tests.contracts.asyncapi`) and the contract tests are
built from these tables. Services never import each other, so only this test package does.
"""

from __future__ import annotations

import builtins
import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any, Final, cast

from pydantic import BaseModel

from case_service import erasure as case_erasure
from case_service import topics as case_topics
from case_service.cases import events as cases
from case_service.cases import handlers as case_answers
from case_service.cases import payments as case_commands
from city_shared.consumer import ANY_TYPE
from city_shared.envelope import Event, to_kafka
from identity_service import topics as identity_topics
from identity_service.accounts import events as accounts
from notification_service import erasure as notification_erasure
from notification_service import seed_texts
from notification_service import topics as notification_topics
from notification_service.contacts import handlers as notification_contacts
from notification_service.deliveries import events as deliveries
from notification_service.deliveries import handlers as notification_deliveries
from payment_service import topics as payment_topics
from payment_service.payments import events as payments
from payment_service.payments import handlers as payment_requests
from payment_service.refunds import events as refunds
from payment_service.refunds import handlers as refund_requests
from ticketing_service import erasure as ticketing_erasure
from ticketing_service import topics as ticketing_topics
from ticketing_service.orders import events as orders
from ticketing_service.orders import handlers as ticketing_answers
from ticketing_service.orders import payments as ticketing_commands
from ticketing_service.tickets import events as tickets

__all__ = [
    "CONSUMED",
    "NEEDS",
    "PUBLISHED",
    "TOPICS",
    "Consumed",
    "Published",
    "Topic",
    "consumed_pairs",
    "examples",
    "kafka_example",
    "published",
]

JsonObject = dict[str, Any]


@dataclass(frozen=True)
class Topic:
    """A Kafka topic: its name, the service that owns (provisions) it, and what it carries."""

    name: str
    owner: str
    description: str


@dataclass(frozen=True)
class Published:
    """One event type (or command) a service publishes: ``model`` is the pydantic model the
    producer builds the data with, ``subject`` the dotted path of the data field that is the
    CloudEvents ``subject`` and record key."""

    type: str
    model: builtins.type[BaseModel]
    topic: str
    producer: str
    subject: str
    summary: str
    command: bool = False
    extra_examples: tuple[JsonObject, ...] = ()
    """Examples of a model whose module keeps none (it is not an ``events.py``)."""

    @property
    def source(self) -> str:
        return f"/{self.producer}"


@dataclass(frozen=True)
class Consumed:
    """One (consumer handler, event type) pair: ``model`` is the narrow model the handler
    parses the data with. ``event_type`` :data:`~city_shared.consumer.ANY_TYPE` means every
    event on the topic (a tolerant reader of whatever comes). ``may_be_absent``: dotted paths
    of optional consumer fields the producer does not send (the consumer's default applies)."""

    consumer: str
    handler: str
    topic: str
    event_type: str
    model: type[BaseModel]
    may_be_absent: frozenset[str] = field(default_factory=frozenset)


TOPICS: Final[tuple[Topic, ...]] = (
    Topic(identity_topics.ACCOUNTS, "identity", "Account lifecycle events of identity."),
    Topic(ticketing_topics.ORDERS, "ticketing", "Ticket order events; key = order id."),
    Topic(ticketing_topics.TICKETS, "ticketing", "Ticket events; key = ticket id."),
    Topic(payment_topics.PAYMENTS, "payment",
          "Payment and refund events; key = payment id (a payment's refunds stay in order "
          "with it)."),
    Topic(payment_topics.REQUESTS, "payment",
          "Commands to payment: collect or pay back an amount; key = the requester's "
          "reference."),
    Topic(notification_topics.DELIVERIES, "notification",
          "Delivery events of notification; key = delivery id."),
    Topic(notification_topics.REQUESTS, "notification",
          "Commands to notification: tell this person this."),
    Topic(case_topics.CASES, "case", "Case events; key = case id."),
)

_PAYMENT_REQUEST_EXAMPLE: JsonObject = {
    "request_id": "6e1f8c2a-0b9d-5e4f-8a7b-3c2d1e0f9a8b",
    "tenant": "musterstadt",
    "reference": "T-2026-000123",
    "amount": 1600,
    "currency": "EUR",
    "description": "Stadtmuseum: 2 x Erwachsene",
    "return_url": "https://musterstadt.example/orders/0d6a4a8f",
    "line_items": [{"department": "museum", "cost_centre": "MUS-4100",
                    "description": "Dauerausstellung, Erwachsene", "amount": 1600}],
    "payer": {"account_id": "3f2b6c1e-8d4a-4c7e-9b1f-2a6d5e4c3b21"},
    "metadata": {"order_id": "0d6a4a8f-2c52-4b8f-8f43-7b4f2f3c9e20"},
}
_REFUND_REQUEST_EXAMPLE: JsonObject = {
    "request_id": "7f2a9d3b-1c0e-5f6a-9b8c-4d3e2f1a0b9c",
    "tenant": "musterstadt",
    "reference": "T-2026-000123",
    "amount": 1600,
    "reason": "cancelled_by_citizen",
}

PUBLISHED: Final[tuple[Published, ...]] = (
    # identity
    Published(accounts.REGISTERED, accounts.AccountRegisteredData, identity_topics.ACCOUNTS,
              "identity", "account_id", "An account was created (citizen or staff)."),
    Published(accounts.UPDATED, accounts.AccountUpdatedData, identity_topics.ACCOUNTS,
              "identity", "account_id", "Profile fields of an account changed."),
    Published(accounts.ROLES_CHANGED, accounts.AccountRolesChangedData,
              identity_topics.ACCOUNTS, "identity", "account_id",
              "A staff member's roles changed (the complete roles after the change)."),
    Published(accounts.ERASED, accounts.AccountErasedData, identity_topics.ACCOUNTS,
              "identity", "account_id", "Delete or pseudonymise this person's data."),
    Published(accounts.TOKENS_REVOKED, accounts.AccountTokensRevokedData,
              identity_topics.ACCOUNTS, "identity", "account_id",
              "Tokens of a person were revoked before their expiry."),
    Published(accounts.NOTIFICATION_REQUEST, accounts.NotificationRequestData,
              accounts.NOTIFICATION_REQUESTS_TOPIC, "identity", "recipient.account_id",
              "Command: send the e-mail verification link.", command=True),
    # ticketing
    Published(orders.PLACED, orders.OrderPlacedData, ticketing_topics.ORDERS, "ticketing",
              "order_id", "Capacity held, payment requested."),
    Published(orders.CONFIRMED, orders.OrderConfirmedData, ticketing_topics.ORDERS,
              "ticketing", "order_id", "Paid (or free); carries the tickets."),
    Published(orders.CANCELLED, orders.OrderClosedData, ticketing_topics.ORDERS, "ticketing",
              "order_id", "Payment failed or was cancelled."),
    Published(orders.EXPIRED, orders.OrderClosedData, ticketing_topics.ORDERS, "ticketing",
              "order_id", "Not paid in time."),
    Published(orders.REFUNDED, orders.OrderRefundedData, ticketing_topics.ORDERS, "ticketing",
              "order_id", "Cancelled by the citizen and paid back."),
    Published(tickets.ISSUED, tickets.TicketIssuedData, ticketing_topics.TICKETS, "ticketing",
              "ticket_id", "A ticket of a confirmed order exists."),
    Published(tickets.VOIDED, tickets.TicketVoidedData, ticketing_topics.TICKETS, "ticketing",
              "ticket_id", "The ticket no longer admits."),
    Published(tickets.CHECKED_IN, tickets.TicketCheckedInData, ticketing_topics.TICKETS,
              "ticketing", "ticket_id", "A gate admitted the ticket (one visit used)."),
    Published(ticketing_commands.PAYMENT_REQUEST, ticketing_commands.PaymentRequestData,
              ticketing_commands.REQUESTS_TOPIC, "ticketing", "reference",
              "Command: collect an order's total.", command=True,
              extra_examples=(_PAYMENT_REQUEST_EXAMPLE,)),
    Published(ticketing_commands.REFUND_REQUEST, ticketing_commands.RefundRequestData,
              ticketing_commands.REQUESTS_TOPIC, "ticketing", "reference",
              "Command: pay (part of) an order's payment back.", command=True,
              extra_examples=(_REFUND_REQUEST_EXAMPLE,)),
    # case
    Published(cases.SUBMITTED, cases.CaseSubmittedData, case_topics.CASES, "case", "case_id",
              "A case was opened (from a draft, a city system, the intake or Open311)."),
    Published(cases.PAID, cases.CasePaidData, case_topics.CASES, "case", "case_id",
              "The case's fee was paid; the case is submitted."),
    Published(cases.PAYMENT_FAILED, cases.CasePaymentFailedData, case_topics.CASES, "case",
              "case_id", "The payment failed or expired; the case still awaits payment."),
    Published(cases.PAYMENT_DUE, cases.CasePaymentDueData, case_topics.CASES, "case",
              "case_id", "Payment opened the checkout page of the case's fee."),
    Published(cases.ASSIGNED, cases.CaseAssignedData, case_topics.CASES, "case", "case_id",
              "The case was claimed, assigned or released (staff-internal)."),
    Published(cases.STATUS_CHANGED, cases.CaseTransitionData, case_topics.CASES, "case",
              "case_id", "A transition of the case's process (none of the specific ones)."),
    Published(cases.INFORMATION_REQUESTED, cases.CaseInformationRequestedData,
              case_topics.CASES, "case", "case_id",
              "Staff asked the applicant for information, with a deadline."),
    Published(cases.INFORMATION_REMINDER, cases.CaseInformationReminderData,
              case_topics.CASES, "case", "case_id",
              "The applicant's answer is due soon."),
    Published(cases.INFORMATION_PROVIDED, cases.CaseInformationProvidedData,
              case_topics.CASES, "case", "case_id",
              "The applicant answered the request; the case is back in review."),
    Published(cases.DECIDED, cases.CaseDecidedData, case_topics.CASES, "case", "case_id",
              "The case was approved or rejected; the decision document is linked."),
    Published(cases.WITHDRAWN, cases.CaseWithdrawnData, case_topics.CASES, "case", "case_id",
              "The applicant withdrew the case (a paid fee may be refunded)."),
    Published(cases.PART_REQUESTED, cases.CasePartData, case_topics.CASES, "case", "case_id",
              "Another department was asked for its part of the case."),
    Published(cases.PART_ANSWERED, cases.CasePartData, case_topics.CASES, "case", "case_id",
              "A department answered its part of the case."),
    # payment
    Published(payments.CREATED, payments.PaymentCreatedData, payment_topics.PAYMENTS,
              "payment", "payment_id", "A payment was created; where and until when to pay."),
    Published(payments.STARTED, payments.PaymentEventData, payment_topics.PAYMENTS, "payment",
              "payment_id", "The person opened the pay page."),
    Published(payments.SUCCEEDED, payments.PaymentSucceededData, payment_topics.PAYMENTS,
              "payment", "payment_id", "Paid; carries the split by department."),
    Published(payments.FAILED, payments.PaymentEventData, payment_topics.PAYMENTS, "payment",
              "payment_id", "Declined at the provider."),
    Published(payments.CANCELLED, payments.PaymentEventData, payment_topics.PAYMENTS,
              "payment", "payment_id", "Cancelled by the requesting service."),
    Published(payments.EXPIRED, payments.PaymentEventData, payment_topics.PAYMENTS, "payment",
              "payment_id", "Not paid in time."),
    Published(payments.LATE_SUCCEEDED, payments.PaymentLateSucceededData,
              payment_topics.PAYMENTS, "payment", "payment_id",
              "Money arrived for a closed payment; it is paid back."),
    Published(refunds.REFUND_SUCCEEDED, refunds.RefundEventData, payment_topics.PAYMENTS,
              "payment", "payment_id", "The provider paid the amount back."),
    Published(refunds.REFUND_FAILED, refunds.RefundEventData, payment_topics.PAYMENTS,
              "payment", "payment_id", "The provider refused the refund."),
    # notification
    Published(deliveries.CREATED, deliveries.DeliveryEventData, notification_topics.DELIVERIES,
              "notification", "delivery_id", "A delivery exists."),
    Published(deliveries.DELIVERED, deliveries.DeliveryEventData,
              notification_topics.DELIVERIES, "notification", "delivery_id",
              "The channel accepted the message."),
    Published(deliveries.FAILED, deliveries.DeliveryEventData, notification_topics.DELIVERIES,
              "notification", "delivery_id", "The message will not be delivered."),
)

#: The modules whose ``city.*`` string constants are event types their service publishes.
#: (``city.payment.request.v1`` is listed once, with ticketing's model: case sends the same
#: command, ``tests/contracts/test_payment_reads_case.py`` holds both models to one schema.)
PRODUCER_MODULES: Final = (accounts, orders, tickets, ticketing_commands, payments, refunds,
                           deliveries, cases, case_commands)

_ANSWERS = ticketing_answers
CONSUMED: Final[tuple[Consumed, ...]] = (
    # notification
    *(Consumed("notification", "on_citizen_event", topic, ANY_TYPE,
               notification_deliveries.CitizenEventData)
      for topic in ("ticketing.orders", "ticketing.tickets", "payment.payments", "case.cases")),
    Consumed("notification", "on_notification_requested", notification_topics.REQUESTS,
             notification_deliveries.NOTIFICATION_REQUEST,
             notification_deliveries.NotificationRequestData,
             may_be_absent=frozenset({"channels", "recipient.phone", "recipient.locale"})),
    Consumed("notification", "on_account_changed", notification_contacts.IDENTITY_ACCOUNTS_TOPIC,
             notification_contacts.ACCOUNT_REGISTERED, notification_contacts.AccountContactData,
             may_be_absent=frozenset({"email_verified"})),
    Consumed("notification", "on_account_changed", notification_contacts.IDENTITY_ACCOUNTS_TOPIC,
             notification_contacts.ACCOUNT_UPDATED, notification_contacts.AccountContactData),
    Consumed("notification", "on_account_erased", notification_contacts.IDENTITY_ACCOUNTS_TOPIC,
             notification_contacts.ACCOUNT_ERASED, notification_erasure.AccountErasedData),
    # payment
    Consumed("payment", "on_payment_requested", payment_topics.REQUESTS,
             payment_requests.PAYMENT_REQUEST, payment_requests.PaymentRequestData),
    Consumed("payment", "on_refund_requested", payment_topics.REQUESTS,
             refund_requests.REFUND_REQUEST, refund_requests.RefundRequestData),
    Consumed("payment", "on_account_erased", payment_requests.IDENTITY_ACCOUNTS_TOPIC,
             payment_requests.ACCOUNT_ERASED, payment_requests.AccountErasedData),
    # ticketing
    Consumed("ticketing", "on_payment_created", _ANSWERS.PAYMENTS_TOPIC,
             _ANSWERS.PAYMENT_CREATED, _ANSWERS._PaymentCreatedData),
    *(Consumed("ticketing", handler, _ANSWERS.PAYMENTS_TOPIC, type_, _ANSWERS._PaymentData)
      for handler, type_ in (("on_payment_succeeded", _ANSWERS.PAYMENT_SUCCEEDED),
                             ("on_payment_closed", _ANSWERS.PAYMENT_FAILED),
                             ("on_payment_closed", _ANSWERS.PAYMENT_CANCELLED),
                             ("on_payment_closed", _ANSWERS.PAYMENT_EXPIRED))),
    Consumed("ticketing", "on_refund_succeeded", _ANSWERS.PAYMENTS_TOPIC,
             _ANSWERS.REFUND_SUCCEEDED, _ANSWERS._RefundData),
    Consumed("ticketing", "on_refund_failed", _ANSWERS.PAYMENTS_TOPIC,
             _ANSWERS.REFUND_FAILED, _ANSWERS._RefundData),
    Consumed("ticketing", "on_account_erased", ticketing_erasure.IDENTITY_ACCOUNTS_TOPIC,
             ticketing_erasure.ACCOUNT_ERASED, ticketing_erasure.AccountErasedData),
    # case
    Consumed("case", "on_payment_created", case_answers.PAYMENTS_TOPIC,
             case_answers.PAYMENT_CREATED, case_answers._PaymentCreatedData),
    *(Consumed("case", handler, case_answers.PAYMENTS_TOPIC, type_, case_answers._PaymentData)
      for handler, type_ in (("on_payment_succeeded", case_answers.PAYMENT_SUCCEEDED),
                             ("on_payment_ended", case_answers.PAYMENT_FAILED),
                             ("on_payment_ended", case_answers.PAYMENT_CANCELLED),
                             ("on_payment_ended", case_answers.PAYMENT_EXPIRED))),
    *(Consumed("case", "on_refund_answered", case_answers.PAYMENTS_TOPIC, type_,
               case_answers._RefundData)
      for type_ in (case_answers.REFUND_SUCCEEDED, case_answers.REFUND_FAILED)),
    Consumed("case", "on_account_erased", case_erasure.IDENTITY_ACCOUNTS_TOPIC,
             case_erasure.ACCOUNT_ERASED, case_erasure.AccountErasedData),
)

#: Fields a consumer's model makes optional but a pair relies on: notification reaches people
#: through ``data.recipient`` of the event types its seeded rules name (without it, nothing is
#: sent and nothing fails).
NEEDS: Final[dict[tuple[str, str], frozenset[str]]] = {
    ("on_citizen_event", event_type): frozenset({"recipient"})
    for event_type, *_ in seed_texts.RULES
}


def published(event_type: str) -> Published:
    """The producer entry of ``event_type``."""
    [entry] = [p for p in PUBLISHED if p.type == event_type]
    return entry


def examples(entry: Published) -> list[JsonObject]:
    """The examples of ``entry``: its model's ``json_schema_extra`` examples, else the ones
    kept here."""
    extra = entry.model.model_config.get("json_schema_extra")
    embedded = extra.get("examples", []) if isinstance(extra, dict) else []
    return [*cast(list[JsonObject], embedded), *entry.extra_examples]


def consumed_pairs(consumer: str, producer: str) -> list[tuple[Consumed, Published]]:
    """Every (consumer handler, event type) pair of ``consumer`` reading ``producer``'s events;
    an :data:`ANY_TYPE` subscription pairs with every event type on its topic."""
    pairs = []
    for entry in CONSUMED:
        if entry.consumer != consumer:
            continue
        for event in PUBLISHED:
            if event.producer != producer or event.topic != entry.topic:
                continue
            if entry.event_type in (ANY_TYPE, event.type):
                pairs.append((entry, event))
    return pairs


def _field(data: JsonObject, path: str) -> Any:
    value: Any = data
    for name in path.split("."):
        if not isinstance(value, dict) or name not in value:
            raise ValueError(f"the example has no {path} (the event's subject)")
        value = value[name]
    return value


def kafka_example(entry: Published, data: JsonObject) -> tuple[dict[str, str], str, bytes]:
    """The Kafka record (headers, key, value) the producer's outbox relay would send for an
    event with ``data``, with fixed id, time and correlation id (deterministic output)."""
    event = Event(
        id=uuid.uuid5(uuid.NAMESPACE_URL, f"urn:city:example:{entry.type}"),
        type=entry.type,
        source=entry.source,
        subject=str(_field(data, entry.subject)),
        time=dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC),
        tenant=str(data.get("tenant", "musterstadt")),
        correlationid="b2c4e6f8-0a1b-4c3d-8e5f-7a9b0c1d2e3f",
        data=data,
    )
    message = to_kafka(event)
    headers = {name: value.decode() for name, value in message.headers.items()}
    key = message.key.decode() if isinstance(message.key, bytes) else str(message.key)
    return headers, key, cast(bytes, message.value)

