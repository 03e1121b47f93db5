"""The login page's texts in German and English, and choosing between them (``ui_locales``
first, then ``Accept-Language``, else German)."""

from __future__ import annotations

from typing import Final, Literal

Locale = Literal["de", "en"]
DEFAULT_LOCALE: Final[Locale] = "de"

TEXTS: Final[dict[Locale, dict[str, str]]] = {
    "de": {
        "title": "Anmelden",
        "heading": "Anmelden",
        "client_wants": "{client} möchte Sie für {tenant} anmelden.",
        "email": "E-Mail-Adresse",
        "password": "Passwort",
        "sign_in": "Anmelden",
        "or": "oder",
        "sign_in_with": "Mit Sandbox-eID anmelden (nur Demo, Vertrauensniveau substanziell)",
        "level_required": "Für diesen Dienst ist dieses Vertrauensniveau nötig:",
        "password_too_weak": "Eine Anmeldung mit Passwort reicht dafür nicht aus.",
        "error_heading": "Anmeldung nicht möglich",
        "error_hint": "Bitte kehren Sie zur Anwendung zurück und versuchen Sie es erneut.",
        "invalid_credentials": "E-Mail-Adresse oder Passwort ist falsch.",
        "account_locked": "Zu viele fehlgeschlagene Versuche. Bitte versuchen Sie es später "
                          "erneut.",
        "session_expired": "Das Formular ist abgelaufen. Bitte melden Sie sich erneut an.",
        "not_asserted": "Die Identität konnte nicht bestätigt werden.",
        "unknown_method": "Diese Anmeldeart wird nicht angeboten.",
        "unknown_client": "Die Anwendung ist unbekannt oder deaktiviert.",
        "redirect_uri_mismatch": "Die Rücksprungadresse ist für diese Anwendung nicht "
                                 "registriert.",
        "redirect_uri_required": "Die Anfrage nennt keine Rücksprungadresse.",
        "bad_request": "Die Anfrage ist fehlerhaft.",
        "basic": "niedrig (basic)",
        "substantial": "substanziell (substantial)",
        "high": "hoch (high)",
    },
    "en": {
        "title": "Sign in",
        "heading": "Sign in",
        "client_wants": "{client} wants to sign you in for {tenant}.",
        "email": "E-mail address",
        "password": "Password",
        "sign_in": "Sign in",
        "or": "or",
        "sign_in_with": "Sign in with the sandbox eID (demo only, level substantial)",
        "level_required": "This service needs this level of assurance:",
        "password_too_weak": "A password login is not enough for it.",
        "error_heading": "Sign-in not possible",
        "error_hint": "Please go back to the application and try again.",
        "invalid_credentials": "The e-mail address or the password is wrong.",
        "account_locked": "Too many failed attempts. Please try again later.",
        "session_expired": "The form has expired. Please sign in again.",
        "not_asserted": "Your identity could not be confirmed.",
        "unknown_method": "This sign-in method is not offered.",
        "unknown_client": "The application is unknown or disabled.",
        "redirect_uri_mismatch": "The return address is not registered for this application.",
        "redirect_uri_required": "The request names no return address.",
        "bad_request": "The request is malformed.",
        "basic": "low (basic)",
        "substantial": "substantial",
        "high": "high",
    },
}


def negotiate(ui_locales: str | None, accept_language: str | None) -> Locale:
    """The first supported language of ``ui_locales`` (space-separated, OIDC), else the best
    of ``Accept-Language`` by q-value, else German."""
    for tag in (ui_locales or "").split()[:10]:
        primary = tag.split("-")[0].lower()
        if primary == "de":
            return "de"
        if primary == "en":
            return "en"
    best: tuple[float, Locale] | None = None
    for part in (accept_language or "").split(",")[:20]:
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().split("-")[0].lower()
        if primary not in ("de", "en"):
            continue
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if best is None or quality > best[0]:
            best = (quality, "de" if primary == "de" else "en")
    return best[1] if best is not None else DEFAULT_LOCALE
