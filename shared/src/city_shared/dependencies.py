"""FastAPI dependencies for the database session: the session of the request's unit of work.

:class:`city_shared.request_work.RequestWorkMiddleware` opens it for every request and commits
it when the route returns (rolls it back when the route raises); the route and what it calls
never commit (ADR 0011: one owner per transaction).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Final

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["WORK_SESSION_KEY", "SessionDep", "get_session"]

#: Where the request's unit of work keeps its session on the ASGI scope.
WORK_SESSION_KEY: Final = "city_shared.request_work.session"


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work session."""
    session = request.scope.get(WORK_SESSION_KEY)
    if not isinstance(session, AsyncSession):
        raise RuntimeError("no unit of work for this request: RequestWorkMiddleware missing")
    yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
