"""What a user or a frontend does in the journeys, through public interfaces only: log in
(OpenID Connect code flow with PKCE through identity's login page), get a machine token, wait
for the asynchronous platform, press a button on the sandbox checkout page, read the journey's
events from Kafka."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

import httpx
from aiokafka import AIOKafkaConsumer
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client

from city_shared.testing import html_forms
from devstack.testing import LocalStack

REDIRECT_URI = "http://127.0.0.1:5173/callback"
T = TypeVar("T")


def demo(stack: LocalStack) -> dict[str, Any]:
    """The demo file the seeds wrote (accounts, clients, ids)."""
    data: dict[str, Any] = json.loads(stack.config.demo_file.read_text())
    return data


async def login(stack: LocalStack, email: str, *, scope: str, method: str = "password",
                acr: str | None = None, client_id: str = "demo-frontend") -> dict[str, str]:
    """The browser part of the code flow with PKCE through identity's login page (``method``:
    the demo password, or ``sandbox_eid`` for a stronger ``acr``), then the token exchange by
    the public demo frontend of the tenant (``beispielhausen-frontend`` for beispielhausen's
    people); returns an Authorization header."""
    identity = stack.base_url("identity")
    oauth = AsyncOAuth2Client(client_id=client_id, redirect_uri=REDIRECT_URI, scope=scope,
                              code_challenge_method="S256")
    verifier = generate_token(48)
    extra = {"acr_values": acr} if acr else {}
    url, _ = oauth.create_authorization_url(f"{identity}/authorize", code_verifier=verifier,
                                            **extra)
    async with httpx.AsyncClient(timeout=30) as browser:
        page = await browser.get(url)
        assert page.status_code == 200, page.text
        form = next(f for f in html_forms(page.text) if f.fields.get("login_method") == method)
        fields = {**form.fields, "email": email}
        if method == "password":
            fields["password"] = demo(stack)["demo_password"]
        done = await browser.post(httpx.URL(url).join(form.action), data=fields)
    assert done.status_code == 303, done.text
    token = await oauth.fetch_token(f"{identity}/token", authorization_response=done.headers[
        "location"], code_verifier=verifier)
    await oauth.aclose()
    return {"Authorization": f"Bearer {token['access_token']}"}


async def client_token(stack: LocalStack, client_id: str, scope: str) -> dict[str, str]:
    """A machine client's token (client credentials) with the demo secret."""
    secret = next(c["client_secret"] for c in demo(stack)["clients"]
                  if c["client_id"] == client_id)
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(f"{stack.base_url('identity')}/token",
                                   data={"grant_type": "client_credentials", "scope": scope},
                                   auth=(client_id, secret))
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def eventually(probe: Callable[[], Awaitable[T | None]], what: str,
                     timeout: float = 90.0) -> T:
    """Poll ``probe`` until it returns something (the platform is asynchronous)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = await probe()
        if found is not None:
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.5)


async def checkout(checkout_url: str, action: str) -> httpx.Response:
    """What the citizen's browser does on the sandbox checkout page: open it, press a button."""
    async with httpx.AsyncClient(timeout=30, follow_redirects=False) as browser:
        page = await browser.get(checkout_url)
        assert page.status_code == 200, page.text
        form = next(f for f in html_forms(page.text) if (("action", action) in f.buttons))
        return await browser.post(httpx.URL(checkout_url).join(form.action),
                                  data={**form.fields, "action": action})


async def journey_events(stack: LocalStack, correlation: str, expected: set[str],
                         topics: Iterable[str]) -> list[tuple[str, dict[str, str]]]:
    """Every event of the journey on ``topics``: (type, ce_* headers), read from Kafka from the
    beginning until every ``expected`` type has been seen."""
    consumer = AIOKafkaConsumer(*topics, bootstrap_servers=stack.config.bootstrap_servers,
                                auto_offset_reset="earliest", enable_auto_commit=False,
                                group_id=f"journey-{uuid.uuid4().hex[:8]}")
    await consumer.start()
    found: list[tuple[str, dict[str, str]]] = []
    try:
        async def probe() -> list[tuple[str, dict[str, str]]] | None:
            batches = await consumer.getmany(timeout_ms=1000)
            for records in batches.values():
                for record in records:
                    headers = {k: v.decode() for k, v in record.headers}
                    if headers.get("ce_correlationid") == correlation:
                        found.append((headers["ce_type"], headers))
            return found if expected <= {t for t, _ in found} else None

        try:
            return await eventually(probe, "the journey's events")
        except AssertionError:
            missing = expected - {t for t, _ in found}
            raise AssertionError(f"events of the journey never seen: {sorted(missing)}; "
                                 f"seen: {sorted({t for t, _ in found})}") from None
    finally:
        await consumer.stop()
