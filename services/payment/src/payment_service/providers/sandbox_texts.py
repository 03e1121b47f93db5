"""The sandbox pay page's texts in German and English, and choosing between them (``lang``
query or form field first, then ``Accept-Language``, else German)."""

from __future__ import annotations

from typing import Final, Literal

__all__ = ["DEFAULT_LOCALE", "TEXTS", "Locale", "choose_locale", "format_amount"]

Locale = Literal["de", "en"]
DEFAULT_LOCALE: Final[Locale] = "de"

TEXTS: Final[dict[Locale, dict[str, str]]] = {
    "de": {
        "title": "Bezahlen (Sandbox)",
        "heading": "Bezahlen",
        "sandbox_notice": "Testumgebung: Es wird kein Geld bewegt.",
        "total": "Gesamt",
        "pay": "Bezahlen",
        "decline": "Ablehnen",
        "other_language": "English",
        "succeeded": "Diese Zahlung ist bereits bezahlt.",
        "failed": "Diese Zahlung wurde abgelehnt.",
        "cancelled": "Diese Zahlung wurde abgebrochen.",
        "expired": "Diese Zahlung ist abgelaufen.",
        "paid": "Vielen Dank, Ihre Zahlung wird bestätigt.",
        "declined": "Die Zahlung wurde abgelehnt.",
        "session_expired": "Das Formular ist abgelaufen. Bitte öffnen Sie die Seite erneut.",
        "not_found": "Diese Zahlung gibt es nicht.",
    },
    "en": {
        "title": "Pay (sandbox)",
        "heading": "Pay",
        "sandbox_notice": "Test environment: no money is moved.",
        "total": "Total",
        "pay": "Pay",
        "decline": "Decline",
        "other_language": "Deutsch",
        "succeeded": "This payment has already been paid.",
        "failed": "This payment was declined.",
        "cancelled": "This payment was cancelled.",
        "expired": "This payment has expired.",
        "paid": "Thank you, your payment is being confirmed.",
        "declined": "The payment was declined.",
        "session_expired": "The form has expired. Please open the page again.",
        "not_found": "There is no such payment.",
    },
}


def choose_locale(explicit: str | None, accept_language: str | None) -> Locale:
    """``explicit`` if it is ``de`` or ``en``, else the first of them in ``Accept-Language``
    (ignoring weights), else German."""
    if explicit in ("de", "en"):
        return explicit  # type: ignore[return-value]
    for part in (accept_language or "")[:200].split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in ("de", "en"):
            return tag  # type: ignore[return-value]
    return DEFAULT_LOCALE


def format_amount(amount: int, currency: str, locale: Locale) -> str:
    """``1300, EUR`` -> ``13,00 EUR`` (de) or ``13.00 EUR`` (en)."""
    separator = "," if locale == "de" else "."
    return f"{amount // 100}{separator}{amount % 100:02d} {currency}"
