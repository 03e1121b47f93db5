"""HTTP models of the preferences API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from notification_service.types import Flag

__all__ = ["PreferencesRead", "PreferencesUpdate"]


class PreferencesUpdate(BaseModel):
    """Which channels the person wants; fields left out keep their value. Messages a
    municipality must send by law (e.g. e-mail verification) are sent anyway."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"email": True, "sms": False, "inbox": True}]})

    email: Flag | None = None
    sms: Flag | None = None
    inbox: Flag | None = None


class PreferencesRead(BaseModel):
    """The person's channels (true: wanted)."""

    email: bool
    sms: bool
    inbox: bool
