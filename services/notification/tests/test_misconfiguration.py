"""A misconfiguration stays where it was made (issue 10).

Saving a rule checks its template (exists in the rule's reach, has text for every channel of
the rule); deleting or changing a template that rules use is refused naming them. A broken rule
or template that reaches the worker anyway (a row written directly, a legacy row) fails only
its own message, with a reason, an event, a metric and a log line: the event is not
dead-lettered, and every other rule and event of the tenant still reaches people.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text

ERIKA = uuid.UUID("6f1c0c52-3f0e-4a55-9d0e-2b7c1f6b8a10")
CASE_STATUS_CHANGED = "city.case.case.status_changed.v1"
FAILED_EVENT = "city.notification.delivery.failed.v1"


def template(key: str, department: str | None = None,
             channels: tuple[str, ...] = ("email", "inbox")) -> dict[str, Any]:
    texts: dict[str, Any] = {
        "email": {"subject": "Bescheid", "text": "Ihr Antrag {{ case_name }} ist entschieden."},
        "inbox": {"title": "Bescheid", "body": "{{ case_name }}"},
        "sms": {"text": "Bescheid zu {{ case_name }}"},
    }
    return {"key": key, "department": department, "variables": ["case_name"],
            "content": {"de": {c: texts[c] for c in channels}}}


def rule(template_key: str, department: str | None = None,
         channels: tuple[str, ...] = ("email", "inbox"),
         event_type: str = CASE_STATUS_CHANGED) -> dict[str, Any]:
    return {"event_type": event_type, "department": department, "template_key": template_key,
            "channels": list(channels)}


async def post(notify: Any, path: str, body: dict[str, Any],
               headers: dict[str, str] | None = None) -> Any:
    return await notify.client.post(path, json=body, headers=headers or notify.admin_headers())


async def confirmed_rule_id(notify: Any) -> str:
    rows = await notify.rows("SELECT id FROM rules WHERE tenant = :t AND department IS NULL "
                             "AND event_type = :e", t=notify.TENANT, e=notify.CONFIRMED)
    return str(rows[0].id)


def failures(tenant: str, channel: str, reason: str) -> float:
    return REGISTRY.get_sample_value("city_notification_deliveries_failed_total",
                                     {"tenant": tenant, "channel": channel,
                                      "reason": reason}) or 0.0


# -- at send time -----------------------------------------------------------------------------


async def test_a_rule_naming_a_missing_template_fails_only_its_own_message(
    notify: Any, caplog: pytest.LogCaptureFixture,
) -> None:
    """The fuzzer's case: a tenant-wide rule for ``order.confirmed`` names a template that
    does not exist (written directly: the API now refuses it). Its messages fail with a
    reason; the pools' own rule for the same event type, and the tenant's other event types,
    still reach the citizen."""
    pools_template = await post(notify, "/templates", {
        "key": "pools-confirmed", "department": "pools", "variables": ["order_id"],
        "content": {"de": {"email": {"subject": "Bad gebucht", "text": "Bis bald!"},
                           "inbox": {"title": "Bad gebucht", "body": "Bis bald!"}}}})
    assert pools_template.status_code == 201, pools_template.text
    pools_rule = await post(notify, "/rules", {
        "event_type": notify.CONFIRMED, "department": "pools",
        "template_key": "pools-confirmed", "channels": ["email", "inbox"]})
    assert pools_rule.status_code == 201, pools_rule.text
    async with notify.engine.begin() as conn:
        await conn.execute(text(
            "UPDATE rules SET template_key = 'no-such-template' WHERE tenant = :t "
            "AND department IS NULL AND event_type = :e"),
            {"t": notify.TENANT, "e": notify.CONFIRMED})
    before = failures(notify.TENANT, "email", "template_missing")
    museum_address, pools_address = notify.new_address("museum"), notify.new_address("pools")
    museum = notify.order_event(account_id=ERIKA, email=museum_address, department="museum")
    pools = notify.order_event(account_id=ERIKA, email=pools_address, department="pools")
    cancelled = notify.order_event(notify.CANCELLED, account_id=ERIKA, email=museum_address,
                                   department="museum")
    with caplog.at_level(logging.INFO):
        for event in (museum, pools, cancelled):
            await notify.handle(event)  # the old code raised PermanentFailure: a dead letter

    assert {(d.channel, d.status, d.reason) for d in await notify.deliveries(museum.id)} == {
        ("email", "permanent_failure", "template_missing"),
        ("inbox", "permanent_failure", "template_missing")}
    await notify.deliver()
    assert [m["Subject"] for m in notify.mails_to(pools_address)] == ["Bad gebucht"]
    assert [m["Subject"] for m in notify.mails_to(museum_address)] == [
        "Ihre Bestellung wurde storniert"]
    titles = sorted(m["title"] for m in (await notify.inbox(ERIKA)).json()["items"])
    assert titles == ["Bad gebucht", "Bestellung storniert"]

    failed = [r for r in await notify.outbox(FAILED_EVENT)
              if r.data["source_event_id"] == str(museum.id)]
    assert sorted((r.data["channel"], r.data["reason"]) for r in failed) == [
        ("email", "template_missing"), ("inbox", "template_missing")]
    assert all(r.data["template"] == "no-such-template" for r in failed)
    assert museum_address not in json.dumps([r.data for r in failed])
    assert failures(notify.TENANT, "email", "template_missing") == before + 1
    [line] = [r for r in caplog.records if r.getMessage() == "notification failed"
              and getattr(r, "source_event_id", None) == str(museum.id)]
    assert (line.__dict__["reason"], line.__dict__["tenant"], line.__dict__["rule_id"]) == (
        "template_missing", notify.TENANT, await confirmed_rule_id(notify))
    assert museum_address not in json.dumps(vars(line), default=str)
    # Told twice, still one (failed) message.
    await notify.handle(museum)
    assert len(await notify.deliveries(museum.id)) == 2


async def test_a_broken_template_row_fails_its_messages_and_nothing_else(notify: Any) -> None:
    """A legacy template version whose stored texts no longer validate, and a template deleted
    directly in the database: failed messages with a reason, no dead letter."""
    async with notify.engine.begin() as conn:
        await conn.execute(text(
            "UPDATE template_versions SET content = '{\"fr\": {\"sms\": {\"text\": \"x\"}}}' "
            "WHERE template_id IN (SELECT id FROM templates WHERE tenant = :t AND key = "
            "'ticketing-order-confirmed')"), {"t": notify.TENANT})
        await conn.execute(text(
            "DELETE FROM templates WHERE tenant = :t AND key = 'ticketing-order-expired'"),
            {"t": notify.TENANT})
    confirmed = notify.order_event(account_id=ERIKA, email=notify.new_address())
    expired = notify.order_event(notify.EXPIRED, account_id=ERIKA, email=notify.new_address())
    address = notify.new_address()
    cancelled = notify.order_event(notify.CANCELLED, account_id=ERIKA, email=address)
    for event in (confirmed, expired, cancelled):
        await notify.handle(event)
    assert {(d.status, d.reason) for d in await notify.deliveries(confirmed.id)} == {
        ("permanent_failure", "template_broken")}
    assert {(d.status, d.reason) for d in await notify.deliveries(expired.id)} == {
        ("permanent_failure", "template_missing")}
    await notify.deliver()
    assert len(notify.mails_to(address)) == 1


async def test_a_rule_row_with_an_unknown_channel_still_sends_its_known_channels(
    notify: Any,
) -> None:
    async with notify.engine.begin() as conn:
        await conn.execute(text(
            "UPDATE rules SET channels = '[\"email\", \"fax\"]' WHERE tenant = :t "
            "AND department IS NULL AND event_type = :e"),
            {"t": notify.TENANT, "e": notify.CONFIRMED})
    address = notify.new_address()
    event = notify.order_event(account_id=ERIKA, email=address)
    await notify.handle(event)
    assert [(d.channel, d.status) for d in await notify.deliveries(event.id)] == [
        ("email", "created")]
    await notify.deliver()
    assert len(notify.mails_to(address)) == 1


async def test_a_command_naming_a_missing_template_fails_its_message(notify: Any) -> None:
    """Configuration (a template not created yet) is not a dead letter either: the sender gets
    a ``failed`` event with the reason for its request."""
    command = notify.event(notify.REQUEST, {
        "request_id": str(uuid.uuid4()), "tenant": notify.TENANT,
        "recipient": {"account_id": str(ERIKA), "email": notify.new_address()},
        "template": "no-such-template", "params": {}}, source="/identity")
    await notify.handle(command)
    assert {(d.channel, d.status, d.reason) for d in await notify.deliveries(command.id)} == {
        ("email", "permanent_failure", "template_missing")}
    [failed] = await notify.outbox(FAILED_EVENT)
    assert (failed.data["origin"], failed.data["reason"]) == ("request", "template_missing")


# -- when a rule is saved ---------------------------------------------------------------------


async def test_a_rule_is_refused_when_its_template_is_missing_or_lacks_a_channel(
    notify: Any,
) -> None:
    missing = await post(notify, "/rules", rule("no-such-template"))
    assert missing.status_code == 422, missing.text
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["code"] == "rule_template_missing"
    assert missing.json()["template_key"] == "no-such-template"
    created = await post(notify, "/templates", template("permit-decided"))
    assert created.status_code == 201, created.text
    lacking = await post(notify, "/rules", rule("permit-decided", channels=("email", "sms")))
    assert lacking.status_code == 422, lacking.text
    assert lacking.json()["code"] == "rule_template_lacks_channel"
    assert lacking.json()["channels"] == ["sms"]
    assert (await notify.client.get(f"/rules?event_type={CASE_STATUS_CHANGED}",
                                    headers=notify.admin_headers())).json() == []

    saved = await post(notify, "/rules", rule("permit-decided"))
    assert saved.status_code == 201, saved.text
    rule_id = saved.json()["rule_id"]
    for change, code in (({"template_key": "no-such-template", "channels": ["email"]},
                          "rule_template_missing"),
                         ({"template_key": "permit-decided", "channels": ["sms"]},
                          "rule_template_lacks_channel")):
        refused = await notify.client.put(f"/rules/{rule_id}", json=change,
                                          headers=notify.admin_headers())
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] == code
    kept = await notify.client.get(f"/rules/{rule_id}", headers=notify.admin_headers())
    assert (kept.json()["template_key"], kept.json()["channels"]) == (
        "permit-decided", ["email", "inbox"])


async def test_every_locale_of_the_template_needs_the_rules_channels(notify: Any) -> None:
    """An English reader would get no inbox message: refused."""
    body = template("permit-decided")
    body["content"]["en"] = {"email": {"subject": "Decision", "text": "{{ case_name }}"}}
    assert (await post(notify, "/templates", body)).status_code == 201
    lacking = await post(notify, "/rules", rule("permit-decided"))
    assert lacking.status_code == 422, lacking.text
    assert lacking.json()["channels"] == ["inbox"]
    assert (await post(notify, "/rules", rule("permit-decided", channels=("email",)))
            ).status_code == 201


async def test_a_tenant_wide_rule_needs_the_departments_own_templates_too(notify: Any) -> None:
    """The museum's own ``permit-decided`` would render the museum's messages of a tenant-wide
    rule; without e-mail text it would fail them."""
    assert (await post(notify, "/templates", template("permit-decided"))).status_code == 201
    assert (await post(notify, "/templates", template("permit-decided", "museum",
                                                      ("inbox",)))).status_code == 201
    lacking = await post(notify, "/rules", rule("permit-decided"))
    assert lacking.status_code == 422, lacking.text
    assert lacking.json()["code"] == "rule_template_lacks_channel"
    # With its own rule, the museum no longer uses the tenant-wide one.
    museum = await post(notify, "/rules", rule("permit-decided", "museum", ("inbox",)))
    assert museum.status_code == 201, museum.text
    assert (await post(notify, "/rules", rule("permit-decided"))).status_code == 201


async def test_a_manager_cannot_point_a_rule_at_another_departments_template(
    notify: Any,
) -> None:
    assert (await post(notify, "/templates", template("pool-news", "pools"))).status_code == 201
    museum_manager = notify.staff_headers({"museum": ["manager"]})
    refused = await post(notify, "/rules", rule("pool-news", "museum"), museum_manager)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "rule_template_missing"
    # A tenant-wide template is in every department's reach.
    assert (await post(notify, "/templates", template("permit-decided"))).status_code == 201
    allowed = await post(notify, "/rules", rule("permit-decided", "museum"), museum_manager)
    assert allowed.status_code == 201, allowed.text


# -- when a template is deleted or changed ----------------------------------------------------


async def tenant_template(notify: Any, key: str) -> dict[str, Any]:
    [found] = (await notify.client.get(f"/templates?key={key}",
                                       headers=notify.admin_headers())).json()
    result: dict[str, Any] = found
    return result


async def test_a_template_in_use_is_not_deleted_and_an_unused_one_is(notify: Any) -> None:
    used = await tenant_template(notify, "ticketing-order-confirmed")
    refused = await notify.client.delete(f"/templates/{used['template_id']}",
                                         headers=notify.admin_headers())
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "template_in_use"
    assert refused.json()["rules"] == [await confirmed_rule_id(notify)]
    assert (await notify.client.get(f"/templates/{used['template_id']}",
                                    headers=notify.admin_headers())).status_code == 200

    unused = (await post(notify, "/templates", template("permit-decided"))).json()
    pools_manager = notify.staff_headers({"pools": ["manager"]})
    forbidden = await notify.client.delete(f"/templates/{unused['template_id']}",
                                           headers=pools_manager)
    assert forbidden.status_code == 403
    deleted = await notify.client.delete(f"/templates/{unused['template_id']}",
                                         headers=notify.admin_headers())
    assert deleted.status_code == 204, deleted.text
    assert (await notify.client.get(f"/templates/{unused['template_id']}",
                                    headers=notify.admin_headers())).status_code == 404


async def test_a_new_version_may_not_drop_a_channel_a_rule_sends(notify: Any) -> None:
    used = await tenant_template(notify, "ticketing-order-cancelled")
    current = used["current"]
    without_inbox = {"variables": current["variables"], "content": {
        locale: {"email": texts["email"]} for locale, texts in current["content"].items()
        if texts is not None}}
    refused = await notify.client.put(f"/templates/{used['template_id']}", json=without_inbox,
                                      headers=notify.admin_headers())
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "template_in_use"
    assert len(refused.json()["rules"]) == 1
    assert refused.json()["channels"] == ["inbox"]
    again = await tenant_template(notify, "ticketing-order-cancelled")
    assert again["current_version"] == used["current_version"]
    # A change that keeps the rule's channels is a new version.
    kept = {"variables": current["variables"], "content": current["content"]}
    kept["content"]["de"]["inbox"]["title"] = "Storniert"
    saved = await notify.client.put(f"/templates/{used['template_id']}", json=kept,
                                    headers=notify.admin_headers())
    assert saved.status_code == 200, saved.text
    # A department's own template with that key would render the tenant-wide rule's
    # messages of that department: it needs the rule's channels too.
    shadow = {"key": "ticketing-order-cancelled", "department": "museum", "content": {
        "de": {"email": {"subject": "Storniert", "text": "Ihre Bestellung ist storniert."}}}}
    created = await post(notify, "/templates", shadow)
    assert created.status_code == 409, created.text
    assert created.json()["code"] == "template_in_use"
