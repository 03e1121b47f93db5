"""FastAPI dependencies of the keys slice: the key ring and the issuer's clock from app state."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request

from identity_service.keys.service import KeyRing

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """Now, timezone-aware (UTC)."""
    return datetime.now(UTC)


def get_keyring(request: Request) -> KeyRing:
    """The app's :class:`KeyRing` (set by the startup hook)."""
    keyring = getattr(request.app.state, "keyring", None)
    if not isinstance(keyring, KeyRing):
        raise RuntimeError("the identity startup hook must set app.state.keyring")
    return keyring


def get_now(request: Request) -> datetime:
    """The issuer's notion of now: ``app.state.clock()`` (tests move it), else the system's."""
    clock: Clock = getattr(request.app.state, "clock", system_clock)
    return clock()


KeyRingDep = Annotated[KeyRing, Depends(get_keyring)]
Now = Annotated[datetime, Depends(get_now)]
