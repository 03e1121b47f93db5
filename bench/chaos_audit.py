"""What ``make chaos`` finds after the drain: each purchase's order, payment, tickets and e-mails,
read from every service's own database (the stack's superuser, read only), the SMTP sink's
mailbox and the dead-letter topics, compared with what the citizen did. A purchase is found by
its correlation id (``X-Correlation-ID``, kept by every event and message of its journey), so
also an order whose 201 the citizen never saw.

Judgement per purchase (counted in the phase it was placed in):

- *lost*: ``no_payment`` (the order has no payment at payment), ``payment_unknown_to_order``
  (payment created one, ticketing never heard of it), ``paid_not_confirmed`` (payment
  succeeded, the order is neither confirmed nor closed with the money paid back),
  ``tickets_missing`` (confirmed with fewer tickets than bought), ``no_email`` (closed, or
  confirmed, whose outcome notification never heard of: ``not_told``; or did not deliver:
  ``inbox_<status>``, ``email_<reason>``), ``tickets_not_attached`` (a confirmation e-mail
  without the tickets).
- *duplicated*: ``payments`` (more than one per order), ``tickets`` (more than bought),
  ``charged`` (more than one capture booking per payment), ``refunds`` (more than one),
  ``emails`` (two e-mails of one outcome of one order), ``messages`` (two notification
  messages of one outcome).
- *stuck*: ``awaiting_payment`` (still open after the drain), ``payment_open`` (the citizen
  pressed pay/decline, the payment never reached an outcome).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.chaos_faults import admin_dsn
from bench.chaos_load import Purchase
from city_shared.deadletters import dead_letter_topic
from devstack.smtp import read_mailbox
from devstack.testing import LocalStack

_ORDERS = """
SELECT o.id::text AS id, o.correlation_id, o.status, o.reason, o.payment_id,
       o.hold_expires_at < now() AS past_hold,
       (SELECT coalesce(sum(l.quantity), 0) FROM order_lines l WHERE l.order_id = o.id) AS bought,
       (SELECT count(*) FROM tickets t WHERE t.order_id = o.id) AS tickets
FROM orders o WHERE o.correlation_id LIKE $1
"""
_PAYMENTS = """
SELECT p.reference, p.status,
       (SELECT count(*) FROM refunds r WHERE r.payment_id = p.id) AS refunds,
       (SELECT count(DISTINCT e.booking_id) FROM ledger_entries e
        WHERE e.payment_id = p.id AND e.refund_id IS NULL) AS captures
FROM payments p WHERE p.reference LIKE 'ticketing/order/%'
"""
_DELIVERIES = """
SELECT d.id::text AS delivery, m.id::text AS message, m.params->>'order_id' AS order_id,
       m.event_type, d.channel, d.status, d.reason
FROM deliveries d JOIN messages m ON m.id = d.message_id
WHERE m.correlation_id LIKE $1
"""
#: Why notification gives up on an e-mail whatever the infrastructure does: counted apart
#: from the losses (``PhaseTally.unsent``), so that a kill's losses stand out.
CONFIG_REASONS = frozenset({"no_address", "template_missing", "template_broken",
                            "skipped_opted_out"})
_OUTBOX = "SELECT count(*) FROM outbox WHERE published_at IS NULL"
_OPEN_DELIVERIES = ("SELECT count(*) FROM deliveries "
                    "WHERE status IN ('created', 'sending', 'temporary_failure')")


@dataclass
class Told:
    """How notification told of one outcome of an order (one message, its deliveries)."""

    messages: set[str] = field(default_factory=set)
    channels: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    """channel -> (status, reason) in notification's database."""
    emails: int = 0
    """E-mails in the mailbox for it."""
    attachments: bool = False


@dataclass
class PhaseTally:
    """The figures of one phase (the purchases placed while it ran)."""

    attempts: int = 0
    placed: int = 0
    unknown_to_citizen: int = 0
    """Orders committed although the citizen never got their 201 (gave up retrying)."""
    payments: int = 0
    paid: int = 0
    confirmed: int = 0
    emails: int = 0
    late_refunds: int = 0
    lost: Counter[str] = field(default_factory=Counter)
    duplicated: Counter[str] = field(default_factory=Counter)
    stuck: Counter[str] = field(default_factory=Counter)
    unsent: Counter[str] = field(default_factory=Counter)
    """E-mails notification gave up on for a reason no fault causes (``CONFIG_REASONS``)."""
    not_placed: Counter[str] = field(default_factory=Counter)
    """Why purchases got no order (``refused:<status>:<code>``, ``gave_up``, ...)."""
    unseen: Counter[str] = field(default_factory=Counter)
    """What the citizens were told whose order was committed nevertheless."""
    crashes: Counter[str] = field(default_factory=Counter)
    """This tool's own errors (a purchase's task failed): the figures are then incomplete."""
    dead_letters: list[str] = field(default_factory=list)
    checkout_waits: list[float] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)

    def miss(self, kind: Counter[str], what: str, purchase: Purchase) -> None:
        kind[what] += 1
        if kind[what] <= 2 and len(self.examples) < 10:
            self.examples.append(f"{what}: order {purchase.order_id or '?'} "
                                 f"(correlation {purchase.correlation}, {purchase.fate})")


@dataclass(frozen=True)
class Backlog:
    """What is still in flight: open orders, unpublished outbox rows, unsent e-mails."""

    awaiting_payment: int
    outbox: dict[str, int]
    open_deliveries: int

    @property
    def empty(self) -> bool:
        return not self.awaiting_payment and not any(self.outbox.values()) \
            and not self.open_deliveries


async def _fetch(stack: LocalStack, database: str, query: str, *args: object) -> list[Any]:
    conn = await asyncpg.connect(admin_dsn(stack, database), timeout=5)
    try:
        return list(await conn.fetch(query, *args))
    finally:
        await conn.close()


async def backlog(stack: LocalStack, run_id: str) -> Backlog:
    awaiting = await _fetch(stack, "city_ticketing",
                            "SELECT count(*) FROM orders WHERE status = 'awaiting_payment' "
                            "AND correlation_id LIKE $1", f"chaos-{run_id}-%")
    outbox = {s.name: int((await _fetch(stack, s.database, _OUTBOX))[0][0])
              for s in stack.config.services}
    deliveries = await _fetch(stack, "city_notification", _OPEN_DELIVERIES)
    return Backlog(int(awaiting[0][0]), outbox, int(deliveries[0][0]))


async def drain(stack: LocalStack, run_id: str, timeout: float,
                say: Any) -> tuple[float, Backlog]:
    """Wait until :class:`Backlog` is empty twice in a row (5 s apart) or ``timeout`` passes;
    returns (seconds waited, the last backlog)."""
    started = time.monotonic()
    empty_since: float | None = None
    last = Backlog(-1, {}, -1)
    while time.monotonic() - started < timeout:
        with contextlib.suppress(OSError, asyncpg.PostgresError, TimeoutError):
            last = await backlog(stack, run_id)
        if last.empty:
            empty_since = empty_since or time.monotonic()
            if time.monotonic() - empty_since >= 5.0:
                break
        else:
            empty_since = None
            say(f"draining: {last.awaiting_payment} orders awaiting payment, outbox "
                f"{sum(last.outbox.values())}, {last.open_deliveries} e-mails unsent")
        await asyncio.sleep(3.0)
    return time.monotonic() - started, last


async def dead_letters(stack: LocalStack) -> list[tuple[float, str]]:
    """Every record on the services' dead-letter topics: (wall time, one-line description)."""
    topics = [dead_letter_topic(s.name) for s in stack.config.services]
    consumer = AIOKafkaConsumer(bootstrap_servers=stack.config.bootstrap_servers,
                                enable_auto_commit=False)
    await consumer.start()
    found: list[tuple[float, str]] = []
    try:
        partitions = [TopicPartition(t, p) for t in topics
                      for p in (consumer.partitions_for_topic(t) or {0})]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(
                [await consumer.position(tp) < end for tp, end in ends.items()]):
            batches = await consumer.getmany(timeout_ms=1000)
            for records in batches.values():
                for record in records:
                    headers = {k: bytes(v).decode(errors="replace")
                               for k, v in record.headers or ()}
                    found.append((record.timestamp / 1000, (
                        f"{record.topic}: {headers.get('ce_type', '?')} "
                        f"({headers.get('dlq_group', '?')}, {headers.get('dlq_reason', '?')}: "
                        f"{headers.get('dlq_error_type', '?')} "
                        f"{headers.get('dlq_error', '')[:160]})")))
    finally:
        await consumer.stop()
    return found


async def _told_by_order(stack: LocalStack, run_id: str) -> dict[str, dict[str, Told]]:
    """order id -> event type -> how notification told of it: its messages and deliveries
    (notification's database) and the e-mails in the mailbox (the ``Message-ID`` names the
    delivery)."""
    found: dict[str, dict[str, Told]] = defaultdict(lambda: defaultdict(Told))
    by_delivery: dict[str, Told] = {}
    for row in await _fetch(stack, "city_notification", _DELIVERIES, f"chaos-{run_id}-%"):
        told = found[str(row["order_id"])][str(row["event_type"])]
        told.messages.add(row["message"])
        told.channels[row["channel"]] = (row["status"], row["reason"])
        by_delivery[row["delivery"]] = told
    for message in read_mailbox(stack.config.mail_dir):
        told_ = by_delivery.get(str(message["Message-ID"] or "").strip("<> ").split("@", 1)[0])
        if told_ is not None:
            told_.emails += 1
            told_.attachments = told_.attachments or bool(list(message.iter_attachments()))
    return found


async def audit(stack: LocalStack, run_id: str, purchases: list[Purchase],
                phase_starts: list[float]) -> dict[int, PhaseTally]:
    """Judge every purchase (see the module docstring); ``phase_starts`` are the wall-clock
    starts of the phases, to place dead letters in the phase they were written in."""
    orders = {r["correlation_id"]: r for r in await _fetch(stack, "city_ticketing", _ORDERS,
                                                           f"chaos-{run_id}-%")}
    payments: dict[str, list[Any]] = defaultdict(list)
    for row in await _fetch(stack, "city_payment", _PAYMENTS):
        payments[row["reference"]].append(row)
    told = await _told_by_order(stack, run_id)
    tallies: dict[int, PhaseTally] = defaultdict(PhaseTally)
    for purchase in purchases:
        tally = tallies[purchase.phase]
        tally.attempts += 1
        if purchase.crashed:
            tally.crashes[purchase.crashed[:120]] += 1
        order = orders.get(purchase.correlation)
        if order is None:
            tally.not_placed[purchase.outcome[:120]] += 1
            continue
        _judge(tally, purchase, order, payments.get(f"ticketing/order/{order['id']}", []),
               told.get(order["id"], {}))
    for when, text in await dead_letters(stack):
        phase = max(0, bisect.bisect_right(phase_starts, when) - 1)
        tallies[phase].dead_letters.append(text)
    return dict(tallies)


def _judge(tally: PhaseTally, purchase: Purchase, order: Any, payments: list[Any],
           told: dict[str, Told]) -> None:
    purchase.order_id = purchase.order_id or order["id"]
    tally.placed += 1
    if purchase.outcome != "placed":
        tally.unknown_to_citizen += 1
        tally.unseen[purchase.outcome[:120]] += 1
    if purchase.checkout_after is not None:
        tally.checkout_waits.append(purchase.checkout_after)
    status, bought, tickets = order["status"], int(order["bought"]), int(order["tickets"])
    tally.payments += bool(payments)
    tally.emails += sum(t.emails for t in told.values())
    if not payments:
        tally.miss(tally.lost, "no_payment", purchase)
    elif order["payment_id"] is None:
        tally.miss(tally.lost, "payment_unknown_to_order", purchase)
    if len(payments) > 1:
        tally.miss(tally.duplicated, "payments", purchase)
    succeeded = any(p["status"] == "succeeded" for p in payments)
    tally.paid += succeeded
    tally.confirmed += status == "confirmed"
    late = order["reason"] == "late_payment_refunded" or any(p["refunds"] for p in payments)
    tally.late_refunds += status != "confirmed" and late
    if succeeded and status != "confirmed" and not late:
        tally.miss(tally.lost, "paid_not_confirmed", purchase)
    if any(p["captures"] > 1 for p in payments):
        tally.miss(tally.duplicated, "charged", purchase)
    if any(p["refunds"] > 1 for p in payments):
        tally.miss(tally.duplicated, "refunds", purchase)
    if status == "confirmed" and tickets < bought:
        tally.miss(tally.lost, "tickets_missing", purchase)
    if tickets > bought:
        tally.miss(tally.duplicated, "tickets", purchase)
    if any(t.emails > 1 for t in told.values()):
        tally.miss(tally.duplicated, "emails", purchase)
    if any(len(t.messages) > 1 for t in told.values()):
        tally.miss(tally.duplicated, "messages", purchase)
    if status == "awaiting_payment":
        tally.miss(tally.stuck, "awaiting_payment", purchase)
    if purchase.acted and payments and all(p["status"] in ("created", "started")
                                           for p in payments):
        tally.miss(tally.stuck, "payment_open", purchase)
    if status in ("confirmed", "cancelled", "expired"):
        _judge_told(tally, purchase, status, told.get(f"city.ticketing.order.{status}.v1"))


def _judge_told(tally: PhaseTally, purchase: Purchase, status: str, told: Told | None) -> None:
    """The outcome ``status`` must reach the citizen's inbox and mailbox (tickets attached to
    a confirmation); an e-mail notification gave up on is lost with its reason."""
    if told is None:
        tally.miss(tally.lost, "not_told", purchase)
        return
    inbox = told.channels.get("inbox")
    if inbox is None or inbox[0] != "delivered":
        tally.miss(tally.lost, f"inbox_{inbox[0] if inbox else 'missing'}", purchase)
    if told.emails == 0:
        email = told.channels.get("email")
        why = "missing" if email is None else email[1] or email[0]
        tally.miss(tally.unsent if why in CONFIG_REASONS else tally.lost, f"email_{why}",
                   purchase)
    elif status == "confirmed" and not told.attachments:
        tally.miss(tally.lost, "tickets_not_attached", purchase)
