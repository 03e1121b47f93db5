"""The citizens of ``make chaos``: log in, buy tickets at a steady rate, pay or decline on the
sandbox checkout page or walk away, and count every answer the APIs gave while a fault ran.

Only public interfaces are used (identity's login page and token endpoint, ticketing's order
API, payment's checkout page). A client retries like a careful frontend: the same
``Idempotency-Key`` after a 503, a 409 in flight, a lost connection or any other 5xx, for at most
``PLACE_PATIENCE`` seconds. Each purchase has its own correlation id, so its order, payment and
e-mails can be found again afterwards (:mod:`bench.chaos_audit`). Nothing here judges.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import random
import secrets
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

import httpx

from city_shared.testing import html_forms

Fate = Literal["pay", "decline", "abandon"]
REDIRECT_URI = "http://127.0.0.1:5173/callback"
SCOPE = "openid profile email ticketing:read ticketing:write"
PLACE_PATIENCE = 45.0
CHECKOUT_PATIENCE = 40.0
POLL_SECONDS = 2.0
SLOW_POLL_SECONDS = 6.0


@dataclass
class Purchase:
    """One citizen's attempt to buy: what they meant to do and what they saw."""

    number: int
    phase: int
    fate: Fate
    correlation: str
    """``X-Correlation-ID`` of its journey: finds its order, payment and e-mails later."""
    quantity: int
    placed_at: float = 0.0
    order_id: str | None = None
    outcome: str = "pending"
    """``placed``; or why no order: ``refused:<status>:<code>``, ``gave_up``."""
    crashed: str | None = None
    """This tool's own error, if the purchase's task failed."""
    checkout_after: float | None = None
    """Seconds from the 201 to the checkout URL the citizen first saw."""
    acted: bool = False
    """The pay/decline button was pressed and the page answered with its redirect."""
    action_failed: str | None = None


@dataclass
class Answers:
    """HTTP answers (and connection failures) the citizens got, per phase they arrived in."""

    by_phase: dict[int, Counter[str]] = field(default_factory=dict)

    def count(self, phase: int, what: str) -> None:
        self.by_phase.setdefault(phase, Counter())[what] += 1

    def of(self, phase: int) -> Counter[str]:
        return self.by_phase.get(phase, Counter())


async def login(identity: str, email: str, password: str) -> str:
    """An access token of ``email`` through the code flow with PKCE, as the demo frontend
    (``demo-frontend``, a public client) gets one."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    params = {"response_type": "code", "client_id": "demo-frontend",
              "redirect_uri": REDIRECT_URI, "scope": SCOPE,
              "state": secrets.token_urlsafe(16),
              "code_challenge": challenge.rstrip(b"=").decode(), "code_challenge_method": "S256"}
    async with httpx.AsyncClient(timeout=30) as browser:
        url = httpx.URL(f"{identity}/authorize", params=params)
        page = await browser.get(url)
        page.raise_for_status()
        form = next(f for f in html_forms(page.text) if f.fields.get("login_method") == "password")
        done = await browser.post(url.join(form.action),
                                  data={**form.fields, "email": email, "password": password})
        if done.status_code != 303:
            raise RuntimeError(f"login of {email} failed: {done.status_code} {done.text[:200]}")
        code = httpx.URL(done.headers["location"]).params["code"]
        token = await browser.post(f"{identity}/token", data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
            "client_id": "demo-frontend", "code_verifier": verifier})
        token.raise_for_status()
        return str(token.json()["access_token"])


class Citizens:
    """Open-loop load: purchase ``i`` starts at ``t0 + i / rate`` in its own task, whatever
    earlier ones took; :attr:`phase` (set by the fault driver) labels purchases and answers."""

    def __init__(self, *, ticketing: str, tokens: list[str], ticket_type: str, slot: str,
                 rate: float, run_id: str, seed: int, hold_seconds: float) -> None:
        self.ticketing = ticketing
        self.tokens = tokens
        self.ticket_type = ticket_type
        self.slot = slot
        self.rate = rate
        self.hold_seconds = hold_seconds
        self.run_id = run_id
        self.random = random.Random(seed)
        self.phase = 0
        self.purchases: list[Purchase] = []
        self.answers = Answers()
        self._tasks: set[asyncio.Task[None]] = set()
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(20.0, connect=5.0),
                                       limits=httpx.Limits(max_connections=400))

    async def run(self, stop: asyncio.Event) -> None:
        """Start purchases at :attr:`rate` until ``stop`` is set."""
        t0 = time.monotonic()
        number = 0
        while not stop.is_set():
            delay = t0 + number / self.rate - time.monotonic()
            if delay > 0:
                try:
                    await asyncio.wait_for(stop.wait(), timeout=delay)
                    break
                except TimeoutError:
                    pass
            draw = self.random.random()
            fate: Fate = "pay" if draw < 0.5 else "decline" if draw < 0.75 else "abandon"
            purchase = Purchase(number, self.phase, fate, f"chaos-{self.run_id}-{number}",
                                quantity=self.random.choice((1, 1, 2)))
            self.purchases.append(purchase)
            task = asyncio.create_task(self._buy(purchase))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            number += 1

    async def finish(self, timeout: float) -> int:
        """Wait up to ``timeout`` s for the purchases in flight; cancel the rest (returned)."""
        pending = set(self._tasks)
        if pending:
            _, pending = await asyncio.wait(pending, timeout=timeout)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        await self._http.aclose()
        return len(pending)

    # -- one purchase ---------------------------------------------------------------------

    def _note(self, response: httpx.Response | None, error: Exception | None = None) -> None:
        if isinstance(error, httpx.TimeoutException):
            self.answers.count(self.phase, "timeout")
        elif response is None:
            self.answers.count(self.phase, "no_connection")
        elif response.status_code >= 500:
            self.answers.count(self.phase, "503" if response.status_code == 503 else "5xx")
        else:
            self.answers.count(self.phase, f"{response.status_code // 100}xx")

    async def _request(self, client: httpx.AsyncClient, method: str, url: str | httpx.URL,
                       **kwargs: object) -> httpx.Response | None:
        try:
            response = await client.request(method, url, **kwargs)  # type: ignore[arg-type]
        except httpx.HTTPError as exc:
            self._note(None, exc)
            return None
        self._note(response)
        return response

    async def _buy(self, purchase: Purchase) -> None:
        try:
            await self._journey(purchase)
        except Exception as exc:  # a bug of this tool must show in the report, not vanish
            purchase.crashed = f"{type(exc).__name__}: {exc}"[:200]

    async def _journey(self, purchase: Purchase) -> None:
        token = self.tokens[purchase.number % len(self.tokens)]
        auth = {"Authorization": f"Bearer {token}"}
        if not await self._place(purchase, auth):
            return
        if purchase.fate == "abandon":
            return
        checkout_url = await self._await_checkout(purchase, auth)
        if checkout_url is not None:
            await asyncio.sleep(self.random.uniform(0.5, 3.0))  # the citizen reads the page
            await self._checkout(purchase, checkout_url)

    async def _place(self, purchase: Purchase, auth: dict[str, str]) -> bool:
        body = {"lines": [{"ticket_type_id": self.ticket_type, "slot_id": self.slot,
                           "quantity": purchase.quantity}],
                "locale": "de"}
        headers = {**auth, "Idempotency-Key": str(uuid.uuid4()),
                   "X-Correlation-ID": purchase.correlation}
        deadline = time.monotonic() + PLACE_PATIENCE
        while time.monotonic() < deadline:
            response = await self._request(self._http, "POST", f"{self.ticketing}/orders",
                                           json=body, headers=headers)
            if response is not None and response.status_code == 201:
                purchase.order_id = str(response.json()["order_id"])
                purchase.placed_at = time.monotonic()
                purchase.outcome = "placed"
                return True
            if response is not None and response.status_code < 500 and not (
                    response.status_code == 409 and "retry-after" in response.headers):
                purchase.outcome = f"refused:{response.status_code}:{_code(response)}"
                return False
            await asyncio.sleep(_retry_after(response))
        purchase.outcome = "gave_up"
        return False

    async def _await_checkout(self, purchase: Purchase, auth: dict[str, str]) -> str | None:
        """Poll the order like a frontend until it shows its checkout page (or closes)."""
        deadline = time.monotonic() + self.hold_seconds + CHECKOUT_PATIENCE
        url = f"{self.ticketing}/orders/{purchase.order_id}"
        while time.monotonic() < deadline:
            response = await self._request(self._http, "GET", url, headers=auth)
            if response is not None and response.status_code == 200:
                order = response.json()
                if order.get("checkout_url"):
                    purchase.checkout_after = time.monotonic() - purchase.placed_at
                    return str(order["checkout_url"])
                if order["status"] != "awaiting_payment":
                    return None
            # A frontend polls quickly at first, then backs off.
            waited = time.monotonic() - purchase.placed_at
            await asyncio.sleep(POLL_SECONDS if waited < 15 else SLOW_POLL_SECONDS)
        return None

    async def _checkout(self, purchase: Purchase, checkout_url: str) -> None:
        """Open the sandbox page and press the button; reopen and press again after an error,
        as a citizen would, for at most ``CHECKOUT_PATIENCE`` seconds."""
        deadline = time.monotonic() + CHECKOUT_PATIENCE
        last = "no attempt"
        async with httpx.AsyncClient(timeout=httpx.Timeout(20.0, connect=5.0)) as browser:
            while time.monotonic() < deadline:
                page = await self._request(browser, "GET", checkout_url)
                if page is None or page.status_code != 200:
                    last = "page " + ("unreachable" if page is None else str(page.status_code))
                    await asyncio.sleep(_retry_after(page))
                    continue
                forms = [f for f in html_forms(page.text) if ("action", purchase.fate)
                         in f.buttons]
                if not forms:
                    last = "no button (payment already final)"
                    break
                form = forms[0]
                done = await self._request(browser, "POST", httpx.URL(checkout_url).join(
                    form.action), data={**form.fields, "action": purchase.fate})
                if done is not None and done.status_code in (200, 303):
                    purchase.acted = True
                    return
                last = "press " + ("unanswered" if done is None else str(done.status_code))
                await asyncio.sleep(_retry_after(done))
        purchase.action_failed = last


def _retry_after(response: httpx.Response | None) -> float:
    if response is not None:
        try:
            return min(5.0, max(0.5, float(response.headers.get("retry-after", "1"))))
        except ValueError:
            pass
    return 1.0


def _code(response: httpx.Response) -> str:
    try:
        return str(response.json().get("code", ""))
    except ValueError:
        return ""
