"""Constrained field types shared by the HTTP models and the event readers."""

from __future__ import annotations

from typing import Annotated, Final, Literal, get_args

from pydantic import Field, StringConstraints

__all__ = ["CHANNELS", "MAX_TEMPLATE_VERSION", "Channel", "EventType", "Flag", "Locale",
           "TemplateKey"]

#: A yes/no field of a request: JSON ``true`` or ``false`` only (pydantic would otherwise read
#: 0, 1, "yes" or "false" as a choice the document does not allow).
Flag = Annotated[bool, Field(strict=True)]
Channel = Literal["email", "inbox", "sms"]
CHANNELS: Final[frozenset[str]] = frozenset(get_args(Channel))
Locale = Literal["de", "en"]
TemplateKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,99}$")]
#: The highest template version number a request may name (the column is a 32-bit integer;
#: a larger number is invalid input, not a database error).
MAX_TEMPLATE_VERSION: Final = 1_000_000
EventType = Annotated[
    str, StringConstraints(max_length=200,
                           pattern=r"^city\.[a-z][a-z0-9-]*(\.[a-z][a-z0-9_-]*){1,3}\.v[1-9][0-9]*$"),
]
