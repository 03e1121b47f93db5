"""Commands on ``notification.requests`` (identity's e-mail verification) and the REST API
``POST /notifications`` / ``GET /notifications/{id}``: idempotent, access-checked."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pydantic import ValidationError

from city_shared.consumer import PermanentFailure

ERIKA = uuid.UUID("6f1c0c52-3f0e-4a55-9d0e-2b7c1f6b8a10")


def request_data(notify: Any, address: str, **overrides: Any) -> dict[str, Any]:
    """``city.notification.request.v1`` data exactly as identity builds it."""
    return {"request_id": str(uuid.uuid4()), "tenant": notify.TENANT,
            "recipient": {"account_id": str(ERIKA), "email": address},
            "template": "account-email-verification", "locale": "en",
            "params": {"verification_url": "https://id.example/verify/xyz"},
            "legally_required": True, **overrides}


async def test_identitys_verification_request_is_sent_once_per_request_id(notify: Any) -> None:
    address = notify.new_address()
    command = notify.event(notify.REQUEST, request_data(notify, address), source="/identity",
                           subject=str(ERIKA))
    await notify.handle(command)
    # The same request again, in another envelope (a retry by the sender): still one message.
    again = notify.event(notify.REQUEST, command.data, source="/identity", subject=str(ERIKA))
    await notify.handle(again)
    await notify.deliver()
    [mail] = notify.mails_to(address)
    assert mail["Subject"] == "Please confirm your e-mail address"
    assert mail.get_content().startswith("Hello,\n")
    assert len(await notify.deliveries()) == 1


async def test_bad_commands_are_dead_lettered(notify: Any) -> None:
    """Records no configuration can fix. (A command naming a template the tenant lacks is a
    failed message instead: test_misconfiguration.)"""
    address = notify.new_address()
    other_tenant = notify.event(notify.REQUEST, request_data(notify, address,
                                                             tenant="beispielhausen"))
    with pytest.raises(PermanentFailure):
        await notify.handle(other_tenant)
    broken = notify.event(notify.REQUEST, {"request_id": "nope", "tenant": notify.TENANT})
    with pytest.raises(ValidationError):
        await notify.handle(broken)
    assert await notify.deliveries() == []


def rest_body(address: str, **overrides: Any) -> dict[str, Any]:
    return {"template": "account-email-verification",
            "recipient": {"account_id": str(ERIKA), "email": address}, "locale": "de",
            "params": {"verification_url": "https://id.example/v/1", "given_name": "Erika"},
            "reference": "case/4711", **overrides}


async def test_rest_send_is_idempotent_per_key_and_reports_its_status(notify: Any) -> None:
    address = notify.new_address()
    headers = {**notify.client_headers(), "Idempotency-Key": str(uuid.uuid4())}
    first = await notify.client.post("/notifications", json=rest_body(address), headers=headers)
    assert first.status_code == 201, first.text
    second = await notify.client.post("/notifications", json=rest_body(address),
                                      headers=headers)
    assert second.status_code == 201
    assert second.json()["notification_id"] == first.json()["notification_id"]
    mismatch = await notify.client.post("/notifications", headers=headers,
                                        json=rest_body(address, reference="case/other"))
    assert mismatch.status_code == 422
    notification_id = first.json()["notification_id"]
    assert first.json()["status"] == "pending"
    await notify.deliver()
    [mail] = notify.mails_to(address)
    assert mail.get_content().startswith("Guten Tag Erika,")

    status = await notify.client.get(f"/notifications/{notification_id}",
                                     headers=notify.client_headers())
    assert status.status_code == 200
    assert status.json()["status"] == "delivered"
    assert status.json()["template_version"] == 1
    assert [d["channel"] for d in status.json()["deliveries"]] == ["email"]
    # Another client, staff without the department, a citizen, another tenant: not theirs.
    for headers_, expected in (
        (notify.client_headers(client_id="ticketing-service"), 404),
        (notify.staff_headers({"museum": ["manager"]}), 404),
        (notify.citizen_headers(ERIKA), 403),
        (notify.admin_headers(notify.OTHER_TENANT), 404),
        (notify.client_headers(tenant=notify.OTHER_TENANT), 404),
    ):
        response = await notify.client.get(f"/notifications/{notification_id}",
                                           headers=headers_)
        assert response.status_code == expected, (headers_, response.text)
    admin = await notify.client.get(f"/notifications/{notification_id}",
                                    headers=notify.admin_headers())
    assert admin.status_code == 200
    listed = await notify.client.get("/notifications?reference=case/4711",
                                     headers=notify.client_headers())
    assert [n["notification_id"] for n in listed.json()] == [notification_id]


async def test_rest_send_refusals(notify: Any) -> None:
    address = notify.new_address()

    async def post(body: dict[str, Any], headers: dict[str, str] | None = None,
                   key: bool = True) -> Any:
        sent = {**(headers or notify.client_headers())}
        if key:
            sent["Idempotency-Key"] = str(uuid.uuid4())
        return await notify.client.post("/notifications", json=body, headers=sent)

    no_key = await post(rest_body(address), key=False)
    assert (no_key.status_code, no_key.json()["code"]) == (400, "idempotency_key_required")
    no_scope = await post(rest_body(address), notify.client_headers(scope="payment:write"))
    assert no_scope.status_code == 403
    staff = await post(rest_body(address), notify.admin_headers())
    assert staff.status_code == 403
    unknown = await post(rest_body(address, template="no-such-template"))
    assert (unknown.status_code, unknown.json()["code"]) == (422, "unknown_template")
    missing = await post(rest_body(address, params={}))
    assert (missing.status_code, missing.json()["code"]) == (422, "missing_personalisation")
    assert missing.json()["missing"] == ["verification_url"]
    inbox_without_account = await post(rest_body(address, channels=["inbox"],
                                                 recipient={"email": address}))
    assert inbox_without_account.status_code == 422
    assert await notify.deliveries() == []


async def test_sms_goes_to_the_sandbox_provider(notify: Any) -> None:
    admin = notify.admin_headers()
    created = await notify.client.post("/templates", headers=admin, json={
        "key": "pool-closed", "variables": ["pool"],
        "content": {"de": {"sms": {"text": "{{ pool }} heute geschlossen."}}}})
    assert created.status_code == 201, created.text
    response = await notify.client.post("/notifications", headers={
        **notify.client_headers(), "Idempotency-Key": str(uuid.uuid4())}, json={
        "template": "pool-closed", "recipient": {"account_id": str(ERIKA),
                                                 "phone": "+491701234567"},
        "channels": ["sms"], "params": {"pool": "Hallenbad"}})
    assert response.status_code == 201, response.text
    await notify.deliver()
    sms = await notify.client.get("/sandbox/sms", headers=admin)
    assert [(s["to"], s["text"]) for s in sms.json()] == [
        ("+491701234567", "Hallenbad heute geschlossen.")]
    assert (await notify.client.get("/sandbox/sms",
                                    headers=notify.admin_headers(notify.OTHER_TENANT))).json() == []
    assert (await notify.client.get("/sandbox/sms", headers=notify.staff_headers(
        {"pools": ["manager"]}))).status_code == 403
