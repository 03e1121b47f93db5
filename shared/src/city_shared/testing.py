"""Test support every service uses (no pytest dependency): a service app running in-process,
and reading HTML pages like a browser.

:func:`serve_in_process` starts the app's lifespan, optionally makes it trust a test
:class:`~city_shared.auth.testing.TokenFactory` instead of identity's JWKS, and yields an
``httpx.AsyncClient`` talking to it through ASGI. :func:`html_forms` lists a page's forms with
their fields and buttons (identity's login page, payment's checkout page).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from html.parser import HTMLParser

import httpx
from fastapi import FastAPI

from city_shared.auth.testing import TokenFactory


@asynccontextmanager
async def serve_in_process(
    app: FastAPI, *, base_url: str, tokens: TokenFactory | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """Run ``app`` (lifespan included) for the duration of the block."""
    async with app.router.lifespan_context(app):
        if tokens is not None:
            # Set after startup: the lifespan installs the real verifier.
            app.state.token_verifier = tokens.verifier()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield client


@dataclass
class HtmlForm:
    """A form of a page as a browser would submit it (buttons listed apart)."""

    action: str
    fields: dict[str, str]
    buttons: list[tuple[str, str]]


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[HtmlForm] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(HtmlForm(values.get("action", ""), {}, []))
        elif tag == "input" and self.forms and "name" in values:
            self.forms[-1].fields[values["name"]] = values.get("value", "")
        elif tag == "button" and self.forms and "name" in values:
            self.forms[-1].buttons.append((values["name"], values.get("value", "")))


def html_forms(html: str) -> list[HtmlForm]:
    """The forms of an HTML page with their fields and buttons."""
    parser = _FormParser()
    parser.feed(html)
    return parser.forms
