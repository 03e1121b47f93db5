"""HTTP models of the keys slice."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class RotationRead(BaseModel):
    """The outcome of ``POST /admin/keys/rotate``."""

    active_kid: str
    retiring_kid: str | None
    retiring_published_until: datetime | None
    next_kid: str
