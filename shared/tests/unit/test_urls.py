"""A URL a client gives us to use later: absolute http(s), a host, kept exactly as sent."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from city_shared.urls import URL_MAX_LENGTH, HttpUrlText

URL = TypeAdapter(HttpUrlText)


@pytest.mark.parametrize("value", ["https://tickets.musterstadt.example/orders/paid",
                                   "http://127.0.0.1:3000", "https://a.example/p?q=1#f",
                                   "HTTPS://A.EXAMPLE/"])
def test_absolute_http_urls_are_kept_as_sent(value: str) -> None:
    assert URL.validate_python(value) == value


@pytest.mark.parametrize("value", ["", "/orders/paid", "tickets.example/paid",
                                   "javascript:alert(1)", "ftp://files.example/x",
                                   "https:///no-host", "https://a.example/ b",
                                   "https://a.example/\x00", "https://a.example/\n",
                                   "https://[::1/broken", "https://a.example/\ud800",
                                   "https://a.example/" + "x" * URL_MAX_LENGTH])
def test_anything_else_is_refused(value: str) -> None:
    with pytest.raises(ValidationError):
        URL.validate_python(value)
