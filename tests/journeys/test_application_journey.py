"""The application journey with a fee, end to end across every service running as its own
process (``devstack up``): a citizen who logged in with the sandbox eID (level ``substantial``)
finds the birth certificate in the public catalogue, starts a draft that identity's verified
attributes prefill, submits it and pays on the checkout page; the case then waits for nothing
more. With the prefilled draft that is three calls to the case API (get the form, submit, pay),
counted here. Every event of the journey carries one correlation id.

Only public interfaces are used: HTTP APIs, the checkout page a browser sees and Kafka.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from devstack.testing import LocalStack

from .kit import checkout, eventually, journey_events, login

pytestmark = pytest.mark.timeout(420)

TENANT = "musterstadt"
ERIKA = "erika.mustermann@example.org"
CASE_SCOPE = "openid profile case:read case:write"
CASE_TOPICS = ("case.cases", "payment.requests", "payment.payments")
#: What Erika still types: identity's verified attributes fill her name and date of birth.
TYPED = {"place_of_birth": "Musterstadt", "copies": 1, "purpose": "passport",
         "delivery": "post", "confirmation": True}


async def test_a_citizen_applies_for_a_birth_certificate_in_three_calls_and_pays(
    stack: LocalStack,
) -> None:
    correlation = f"journey-{uuid.uuid4()}"
    case_api = stack.base_url("case")
    erika = await login(stack, ERIKA, scope=CASE_SCOPE, method="sandbox_eid", acr="substantial")
    calls: list[str] = []

    async def count(request: httpx.Request) -> None:
        if str(request.url).startswith(case_api) and "Authorization" in request.headers:
            calls.append(f"{request.method} {request.url.path}")

    async with httpx.AsyncClient(timeout=30, event_hooks={"request": [count]}) as http:
        listed = await http.get(f"{case_api}/public/{TENANT}/services",
                                params={"q": "Geburtsurkunde"})
        assert listed.status_code == 200, listed.text
        [service] = [s for s in listed.json()["items"] if "Geburtsurkunde" in s["names"]["de"]]

        # 1. the form, prefilled: name and date of birth come verified from identity
        draft = await http.post(f"{case_api}/drafts", json={"service_id": service["id"],
                                                            "data": TYPED},
                                headers={**erika, "X-Correlation-ID": correlation})
        assert draft.status_code == 201, draft.text
        body: dict[str, Any] = draft.json()
        assert body["data"]["given_name"] == "Erika"
        assert body["verified"]["/birth_date"]["level"] == "substantial"
        assert body["errors"] == []
        assert body["fee"]["amount"] == 1200

        # 2. submit
        submitted = await http.post(
            f"{case_api}/drafts/{body['id']}/submit",
            headers={**erika, "Idempotency-Key": str(uuid.uuid4()),
                     "X-Correlation-ID": correlation})
        assert submitted.status_code == 201, submitted.text
        case = submitted.json()
        assert case["status"] == "awaiting_payment"
        assert case["number"].startswith("MS-")

        # 3. pay: the pay link leads to payment's checkout once payment answered the request
        async def checkout_url() -> str | None:
            response = await http.get(case["payment"]["pay_url"], headers=erika,
                                      follow_redirects=False)
            if response.status_code == 303:
                return response.headers["location"]
            assert response.status_code == 409, response.text
            return None

        page = await eventually(checkout_url, "the checkout page")
        # The pay link polled until payment answered is one call, the third.
        steps = list(dict.fromkeys(calls))
        paid = await checkout(page, "pay")
        assert paid.status_code in (200, 303), paid.text

        async def settled() -> dict[str, Any] | None:
            response = await http.get(f"{case_api}/cases/{case['id']}", headers=erika)
            assert response.status_code == 200, response.text
            found: dict[str, Any] = response.json()
            return found if found["status"] == "submitted" else None

        done = await eventually(settled, "the paid case")

    assert done["payment"]["status"] == "paid"
    assert steps == ["POST /drafts", f"POST /drafts/{body['id']}/submit",
                     f"GET /cases/{case['id']}/pay"]
    events = await journey_events(stack, correlation, topics=CASE_TOPICS, expected={
        "city.case.case.submitted.v1", "city.payment.request.v1",
        "city.payment.payment.created.v1", "city.payment.payment.succeeded.v1",
        "city.case.case.paid.v1"})
    assert {headers["ce_tenant"] for _, headers in events} == {TENANT}
