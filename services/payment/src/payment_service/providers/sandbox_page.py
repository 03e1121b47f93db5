"""The sandbox provider's hosted pay page (Jinja2, autoescaped, German and English).

``GET /sandbox/pay/{provider_payment_id}`` shows the payment and marks it ``started``;
``POST`` with ``action=pay`` or ``action=decline`` records the decision (the worker then sends
the matching signed webhook, :mod:`.sandbox_delivery`) and sends the person back to the
payment's ``return_url``. The first decision stands: pressing again shows it. The
form carries a CSRF token bound to the payment, repeated in a ``SameSite=Strict`` cookie
(double submit). The page has no script; its only style is pinned by hash in the CSP.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from pathlib import Path
from typing import Annotated, Any, Final, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Header, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from city_shared.dependencies import SessionDep
from city_shared.errors import PROBLEM_CONTENT_TYPE
from city_shared.journey import resume
from payment_service.payments import repository, service
from payment_service.payments.models import Payment
from payment_service.providers.registry import require_sandbox
from payment_service.providers.sandbox import SANDBOX
from payment_service.providers.sandbox_notifications import record_decision
from payment_service.providers.sandbox_texts import TEXTS, Locale, choose_locale, format_amount
from payment_service.settings import PaymentSettings

__all__ = ["CSRF_COOKIE", "router"]

router = APIRouter(tags=["sandbox"])

CSRF_COOKIE: Final = "sandbox_csrf"
_CSRF_MAX_AGE: Final = 30 * 60
_TEMPLATES: Final = Path(__file__).parent / "templates"
_ID: Final = r"^sbx_[A-Za-z0-9_-]{16,64}$"
_Enabled = Annotated[PaymentSettings, Depends(require_sandbox)]
_ProviderId = Annotated[str, PathParam(max_length=80, description=(
    "The sandbox's id of the payment (`sbx_...`), from the payment's `next_url`."))]

_HTML: Final = {"text/html": {"schema": {"type": "string"}}}
_PROBLEM: Final = {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}


def _html(description: str) -> dict[str, Any]:
    return {"description": description, "content": _HTML}


#: The page answers a browser with HTML; only the framework's own answers (a malformed
#: request, the sandbox switched off) are problem+json. (No ``model``: FastAPI would document
#: it under the route's ``text/html`` too.)
_INVALID: Final = {"description": "problem+json `validation_error`: the id, `lang` or the form "
                                  "is malformed (too long, `action` unknown, a field missing).",
                   "content": _PROBLEM}
_NOT_FOUND: Final = {
    "description": "HTML page: no such payment at the sandbox. problem+json `not_found`: the "
                   "sandbox provider is not enabled.",
    "content": {**_HTML, **_PROBLEM},
}
_SHOW_ANSWERS: Final[dict[int | str, dict[str, Any]]] = {
    422: _INVALID,
    200: _html("The pay page; or, for a payment no longer open, its decision or expiry."),
    404: _NOT_FOUND,
}
_SUBMIT_ANSWERS: Final[dict[int | str, dict[str, Any]]] = {
    422: _INVALID,
    200: _html("The decision that stands, for a payment without a `return_url`."),
    303: {"description": "The decision is recorded: back to the payment's `return_url`.",
          "headers": {"Location": {"description": "The payment's `return_url`.",
                                   "required": True, "schema": {"type": "string"}}}},
    403: _html("The form expired or its CSRF token does not match the cookie: nothing is "
               "recorded."),
    404: _NOT_FOUND,
    409: _html("The payment is no longer open (decided, cancelled or expired): nothing is "
               "recorded."),
}


def _style_hash() -> str:
    html = (_TEMPLATES / "sandbox_pay.html").read_text(encoding="utf-8")
    match = re.search(r"<style>(.*?)</style>", html, re.DOTALL)
    style = match.group(1) if match else ""
    return base64.b64encode(hashlib.sha256(style.encode("utf-8")).digest()).decode("ascii")


_ENV: Final = Environment(
    loader=FileSystemLoader(_TEMPLATES),
    autoescape=select_autoescape(["html"], default_for_string=True, default=True),
    undefined=StrictUndefined,
)
_STYLE_SOURCE: Final = f"'sha256-{_style_hash()}'"
_SAFE_ORIGIN: Final = re.compile(r"https?://[A-Za-z0-9.:\[\]-]+")


def _csp(return_url: str | None) -> str:
    """The page's CSP. Browsers apply ``form-action`` to the redirect after the form post too,
    so the origin of the return URL is allowed beside this service (if it is a plain one)."""
    targets = ["'self'"]
    if return_url:
        parts = urlsplit(return_url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if _SAFE_ORIGIN.fullmatch(origin):
            targets.append(origin)
    return (f"default-src 'none'; style-src {_STYLE_SOURCE}; form-action {' '.join(targets)}; "
            "frame-ancestors 'none'; base-uri 'none'")


def _csrf_key(settings: PaymentSettings) -> bytes:
    secret = settings.sandbox_webhook_secrets[0].get_secret_value().encode("utf-8")
    return hmac.new(secret, b"sandbox-csrf", hashlib.sha256).digest()


def _csrf_mac(key: bytes, nonce: str, provider_id: str) -> str:
    return hmac.new(key, f"{nonce}.{provider_id}".encode(), hashlib.sha256).hexdigest()


def _issue_csrf(key: bytes, provider_id: str) -> str:
    nonce = secrets.token_urlsafe(18)
    return f"{nonce}.{_csrf_mac(key, nonce, provider_id)}"


def _csrf_ok(key: bytes, provider_id: str, cookie: str | None, submitted: str | None) -> bool:
    if not cookie or not submitted or len(cookie) > 200 or not cookie.isascii():
        return False
    if not submitted.isascii() or not hmac.compare_digest(cookie.encode(), submitted.encode()):
        return False
    nonce, _, mac = cookie.partition(".")
    return bool(nonce) and hmac.compare_digest(mac.encode(),
                                               _csrf_mac(key, nonce, provider_id).encode())


def _page(
    settings: PaymentSettings, locale: Locale, *, payment: Payment | None, provider_id: str,
    message: str | None = None, csrf_token: str | None = None, status: int = 200,
) -> HTMLResponse:
    texts = TEXTS[locale]
    other: Locale = "en" if locale == "de" else "de"
    action = f"{settings.base_url}/sandbox/pay/{provider_id}"
    items = [] if payment is None else [
        {"description": i.description, "amount": format_amount(i.amount, payment.currency, locale)}
        for i in payment.line_items
    ]
    html = _ENV.get_template("sandbox_pay.html").render(
        lang=locale, other_lang=other, t=texts, action=action,
        switch_href=f"{action}?lang={other}",
        description=payment.description if payment else "",
        items=items,
        total=format_amount(payment.amount, payment.currency, locale) if payment else "",
        payable=csrf_token is not None, csrf_token=csrf_token or "",
        message=texts[message] if message else "",
    )
    response = HTMLResponse(html, status_code=status, headers={
        "Content-Security-Policy": _csp(payment.return_url if payment else None),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store", "Content-Language": locale,
    })
    if csrf_token is not None:
        response.set_cookie(CSRF_COOKIE, csrf_token, max_age=_CSRF_MAX_AGE, path="/sandbox/pay",
                            secure=settings.base_url.startswith("https://"), httponly=True,
                            samesite="strict")
    return response


def _payable(payment: Payment) -> bool:
    return not payment.finished and payment.expires_at > service.now_utc()


@router.get("/sandbox/pay/{provider_payment_id}", response_class=HTMLResponse,
            summary="The sandbox provider's pay page", responses=_SHOW_ANSWERS)
async def show_pay_page(
    provider_payment_id: _ProviderId,
    session: SessionDep,
    settings: _Enabled,
    lang: Annotated[str | None, Query(max_length=10)] = None,
    accept_language: Annotated[str | None, Header()] = None,
) -> HTMLResponse:
    """The pay page; opening it marks a created payment ``started``."""
    locale = choose_locale(lang, accept_language)
    payment = None
    if re.fullmatch(_ID, provider_payment_id):
        payment = await repository.lock_by_provider_id(session, SANDBOX, provider_payment_id)
    if payment is None:
        return _page(settings, locale, payment=None, provider_id=provider_payment_id,
                     message="not_found", status=404)
    if not _payable(payment):
        return _page(settings, locale, payment=payment, provider_id=provider_payment_id,
                     message=payment.status if payment.finished else "expired")
    with resume("payment page opened", payment.journey):
        await service.start_payment(session, payment, service.now_utc())
    token = _issue_csrf(_csrf_key(settings), provider_payment_id)
    return _page(settings, locale, payment=payment, provider_id=provider_payment_id,
                 csrf_token=token)


@router.post("/sandbox/pay/{provider_payment_id}", response_class=HTMLResponse,
             summary="Pay or decline on the sandbox provider's pay page",
             responses=_SUBMIT_ANSWERS)
async def submit_pay_page(
    request: Request,
    provider_payment_id: _ProviderId,
    session: SessionDep,
    settings: _Enabled,
    action: Annotated[Literal["pay", "decline"], Form()],
    csrf: Annotated[str, Form(max_length=200)],
    lang: Annotated[str | None, Form(max_length=10)] = None,
) -> Response:
    """Pay or decline: the sandbox records the decision (and notifies the payment service by
    webhook from the worker), then the person goes back to the service's ``return_url`` (or
    sees a confirmation of the decision that stands)."""
    locale = choose_locale(lang, request.headers.get("accept-language"))
    valid_id = re.fullmatch(_ID, provider_payment_id) is not None
    if not valid_id or not _csrf_ok(_csrf_key(settings), provider_payment_id,
                                    request.cookies.get(CSRF_COOKIE), csrf):
        return _page(settings, locale, payment=None, provider_id=provider_payment_id,
                     message="session_expired", status=403)
    payment = await repository.lock_by_provider_id(session, SANDBOX, provider_payment_id)
    if payment is None:
        return _page(settings, locale, payment=None, provider_id=provider_payment_id,
                     message="not_found", status=404)
    if not _payable(payment):
        return _page(settings, locale, payment=payment, provider_id=provider_payment_id,
                     message=payment.status if payment.finished else "expired", status=409)
    decided = await record_decision(
        session, provider_payment_id=provider_payment_id,
        kind="payment.succeeded" if action == "pay" else "payment.failed",
        amount=payment.amount, currency=payment.currency,
        reason=None if action == "pay" else "declined", now=service.now_utc(),
    )
    if payment.return_url:
        return RedirectResponse(payment.return_url, status_code=303,
                                headers={"Referrer-Policy": "no-referrer"})
    return _page(settings, locale, payment=payment, provider_id=provider_payment_id,
                 message="paid" if decided.kind == "payment.succeeded" else "declined")
