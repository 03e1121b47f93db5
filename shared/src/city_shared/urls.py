"""The rule for a URL a client sends for us to use later (e.g. a ``return_url``).

Absolute ``http`` or ``https`` with a host, no whitespace or control characters, at most 2000
characters. Which origins are allowed is each service's business (payment checks its list).
"""

from __future__ import annotations

from typing import Annotated, Final
from urllib.parse import urlsplit

from pydantic import AfterValidator, StringConstraints

from city_shared.text import SINGLE_LINE

__all__ = ["URL_MAX_LENGTH", "HttpUrlText", "http_url"]

URL_MAX_LENGTH: Final = 2000


def http_url(value: str) -> str:
    """``value`` unchanged if it is an absolute http(s) URL with a host and no whitespace.

    :raises ValueError: it is not (the message never quotes the value).
    """
    if any(ch.isspace() for ch in value):
        raise ValueError("must not contain whitespace")
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        raise ValueError("must be an absolute http(s) URL") from None
    if parts.scheme not in ("http", "https") or not host:
        raise ValueError("must be an absolute http(s) URL")
    return value


#: An absolute http(s) URL as text (kept exactly as sent; pydantic's ``HttpUrl`` would
#: normalise it, e.g. add a trailing slash).
HttpUrlText = Annotated[
    str, StringConstraints(min_length=1, max_length=URL_MAX_LENGTH), SINGLE_LINE,
    AfterValidator(http_url),
]
