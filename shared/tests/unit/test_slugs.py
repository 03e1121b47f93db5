"""One slug rule for the platform: what identity creates, every service accepts, nothing more."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from city_shared.slugs import SLUG_PATTERN, Slug, is_slug

SLUG = TypeAdapter(Slug)


@pytest.mark.parametrize("value", ["a", "museum", "stuttgart", "buergeramt-mitte", "k2",
                                   "a" * 63, "a-"])
def test_slugs_identity_creates_are_accepted(value: str) -> None:
    assert SLUG.validate_python(value) == value
    assert is_slug(value)


@pytest.mark.parametrize("value", ["", "1museum", "-museum", "Museum", "mus eum", "mus_eum",
                                   "müseum", "museum\n", "a" * 64, "mus.eum"])
def test_everything_else_is_refused(value: str) -> None:
    with pytest.raises(ValidationError):
        SLUG.validate_python(value)
    assert not is_slug(value)


def test_is_slug_refuses_non_strings() -> None:
    assert not is_slug(None)
    assert not is_slug(42)


def test_the_pattern_is_the_one_identity_published() -> None:
    """Pinned: changing it would strand tenants and departments that already exist."""
    assert SLUG_PATTERN == r"^[a-z][a-z0-9-]{0,62}$"
