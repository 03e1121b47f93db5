"""FastAPI dependencies for the database session; the route that uses it commits.

The session is closed (rolling back anything uncommitted) when the request ends; it never
commits on its own (STYLE.md: one owner per transaction).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session from the app's factory for the duration of one request."""
    async with request.app.state.session_factory() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
