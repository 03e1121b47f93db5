"""The platform's one slug rule, for tenants, departments and other names in URLs.

A slug is 1..63 characters: a lower-case ASCII letter, then lower-case letters, digits and
hyphens. Identity creates tenants and departments with this rule, so every other service
accepts exactly it: a looser filter would only admit values that can never exist.
"""

from __future__ import annotations

import re
from typing import Annotated, Final

from fastapi import Path
from pydantic import Field, StringConstraints

__all__ = ["SLUG_MAX_LENGTH", "SLUG_PATTERN", "Slug", "SlugPath", "is_slug"]

SLUG_MAX_LENGTH: Final = 63
SLUG_PATTERN: Final = r"^[a-z][a-z0-9-]{0,62}$"
_SLUG: Final = re.compile(SLUG_PATTERN)

#: A slug in a body or query: ``Annotated[Slug | None, Query()]`` for an optional filter.
Slug = Annotated[
    str, StringConstraints(max_length=SLUG_MAX_LENGTH, pattern=SLUG_PATTERN),
    Field(examples=["museum"]),
]
#: A slug as a path parameter (e.g. ``/tenants/{tenant}``).
SlugPath = Annotated[str, Path(max_length=SLUG_MAX_LENGTH, pattern=SLUG_PATTERN)]


def is_slug(value: object) -> bool:
    """True if ``value`` is a string that follows the slug rule (for hand-written checks)."""
    return isinstance(value, str) and _SLUG.fullmatch(value) is not None
