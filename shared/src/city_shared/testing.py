"""Test support every service uses (no pytest dependency): a service app running in-process.

:func:`serve_in_process` starts the app's lifespan, optionally makes it trust a test
:class:`~city_shared.auth.testing.TokenFactory` instead of identity's JWKS, and yields an
``httpx.AsyncClient`` talking to it through ASGI.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

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
