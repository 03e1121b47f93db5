"""E-mail address normalisation: the one form stored, compared and looked up."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

__all__ = ["MAX_EMAIL_LENGTH", "normalise_email"]

MAX_EMAIL_LENGTH = 320


def normalise_email(raw: str) -> str:
    """The address in its stored form: syntax-checked (no DNS lookup), Unicode-normalised and
    lower-cased as a whole, so ``Erika@Example.ORG`` and ``erika@example.org`` are one account.

    :raises ValueError: not an e-mail address (the message never quotes the input).
    """
    if len(raw) > MAX_EMAIL_LENGTH:
        raise ValueError("not a valid e-mail address")
    try:
        checked = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError:
        raise ValueError("not a valid e-mail address") from None
    return checked.normalized.lower()
