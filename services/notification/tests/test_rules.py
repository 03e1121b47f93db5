"""Rules: CRUD, who may change which, another tenant's rules are not found. (What a rule's
template must offer is in test_misconfiguration.)"""

from __future__ import annotations

import uuid
from typing import Any

EVENT = "city.case.case.status_changed.v1"


def rule(department: str | None = None, **overrides: Any) -> dict[str, Any]:
    return {"event_type": EVENT, "department": department,
            "template_key": "permit-decided", "channels": ["email", "inbox", "email"],
            "legally_required": False, **overrides}


async def create_templates(notify: Any) -> None:
    """``permit-decided`` (e-mail and inbox) and ``permit-decided-v2`` (SMS), tenant-wide."""
    for key, content in (
        ("permit-decided", {"email": {"subject": "Bescheid", "text": "{{ case_name }}"},
                          "inbox": {"title": "Bescheid", "body": "{{ case_name }}"}}),
        ("permit-decided-v2", {"sms": {"text": "Bescheid: {{ case_name }}"}}),
    ):
        created = await notify.client.post("/templates", headers=notify.admin_headers(), json={
            "key": key, "variables": ["case_name"], "content": {"de": content}})
        assert created.status_code == 201, created.text


async def test_create_read_change_and_delete_a_rule(notify: Any) -> None:
    await create_templates(notify)
    admin = notify.admin_headers()
    created = await notify.client.post("/rules", json=rule(), headers=admin)
    assert created.status_code == 201, created.text
    rule_id = created.json()["rule_id"]
    assert created.json()["channels"] == ["email", "inbox"]
    again = await notify.client.post("/rules", json=rule(), headers=admin)
    assert again.status_code == 409
    assert again.json()["code"] == "rule_exists"
    changed = await notify.client.put(f"/rules/{rule_id}", headers=admin, json={
        "template_key": "permit-decided-v2", "channels": ["sms"], "legally_required": True})
    assert changed.status_code == 200, changed.text
    read = await notify.client.get(f"/rules/{rule_id}", headers=admin)
    assert (read.json()["template_key"], read.json()["channels"],
            read.json()["legally_required"]) == ("permit-decided-v2", ["sms"], True)
    listed = await notify.client.get(f"/rules?event_type={EVENT}", headers=admin)
    assert [r["rule_id"] for r in listed.json()] == [rule_id]
    deleted = await notify.client.delete(f"/rules/{rule_id}", headers=admin)
    assert deleted.status_code == 204
    assert (await notify.client.get(f"/rules/{rule_id}", headers=admin)).status_code == 404


async def test_managers_change_only_their_departments_rules(notify: Any) -> None:
    await create_templates(notify)
    museum_manager = notify.staff_headers({"museum": ["manager"]})
    own = await notify.client.post("/rules", json=rule("museum"), headers=museum_manager)
    assert own.status_code == 201, own.text
    for denied in (rule(), rule("pools")):
        response = await notify.client.post("/rules", json=denied, headers=museum_manager)
        assert response.status_code == 403, response.text
    tenant_wide = await notify.client.post("/rules", json=rule(),
                                           headers=notify.admin_headers())
    change = await notify.client.put(f"/rules/{tenant_wide.json()['rule_id']}",
                                     json={"template_key": "x-y", "channels": ["email"]},
                                     headers=museum_manager)
    assert change.status_code == 403
    pools_manager = notify.staff_headers({"pools": ["manager"]})
    hidden = await notify.client.get(f"/rules/{own.json()['rule_id']}", headers=pools_manager)
    assert hidden.status_code == 404
    delete = await notify.client.delete(f"/rules/{own.json()['rule_id']}",
                                        headers=pools_manager)
    assert delete.status_code == 404


async def test_citizens_clients_and_other_tenants_are_refused(notify: Any) -> None:
    await create_templates(notify)
    created = await notify.client.post("/rules", json=rule(), headers=notify.admin_headers())
    rule_id = created.json()["rule_id"]
    citizen = notify.citizen_headers(uuid.uuid4())
    assert (await notify.client.get("/rules", headers=citizen)).status_code == 403
    assert (await notify.client.post("/rules", json=rule(), headers=citizen)).status_code == 403
    assert (await notify.client.get("/rules",
                                    headers=notify.client_headers())).status_code == 403
    roleless = notify.staff_headers()
    assert (await notify.client.get("/rules", headers=roleless)).status_code == 403
    other = notify.admin_headers(notify.OTHER_TENANT)
    assert (await notify.client.get(f"/rules/{rule_id}", headers=other)).status_code == 404
    assert (await notify.client.delete(f"/rules/{rule_id}", headers=other)).status_code == 404
    other_rules = (await notify.client.get("/rules", headers=other)).json()
    assert rule_id not in [r["rule_id"] for r in other_rules]
    # The other tenant's demo rules exist, and are its own.
    assert {r["tenant"] for r in other_rules} == {notify.OTHER_TENANT}


async def test_a_new_rule_lets_an_event_type_reach_citizens_without_a_release(
    notify: Any,
) -> None:
    """No rule: an order.placed event changes nothing. A tenant admin adds a rule through the
    API, and the next such event is told to the citizen."""
    placed = "city.ticketing.order.placed.v1"
    address = notify.new_address()
    await notify.handle(notify.order_event(placed, account_id=uuid.uuid4(), email=address))
    assert await notify.deliveries() == []

    created = await notify.client.post("/rules", headers=notify.admin_headers(), json={
        "event_type": placed, "department": None, "template_key": "ticketing-order-cancelled",
        "channels": ["email"], "legally_required": False})
    assert created.status_code == 201, created.text
    await notify.handle(notify.order_event(placed, account_id=uuid.uuid4(), email=address))
    await notify.deliver()
    assert len(notify.mails_to(address)) == 1
