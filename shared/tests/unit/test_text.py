"""Client text: control characters and lone surrogates are a 422, not a PostgreSQL 500, and
the error message never quotes what was sent."""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import StringConstraints, TypeAdapter, ValidationError

from city_shared.text import SINGLE_LINE, MultilineText, PlainText, Secret

PLAIN = TypeAdapter(PlainText)
MULTI = TypeAdapter(MultilineText)
SECRET = TypeAdapter(Secret)


def test_plain_text_is_trimmed() -> None:
    assert PLAIN.validate_python("  Stadtmuseum Ünterstadt ") == "Stadtmuseum Ünterstadt"


@pytest.mark.parametrize("value", ["a\x00b", "a\nb", "a\tb", "a\rb", "a\x7fb", "a\x85b",
                                   "a\ud800b"])
def test_plain_text_refuses_control_characters_and_surrogates(value: str) -> None:
    with pytest.raises(ValidationError) as caught:
        PLAIN.validate_python(value)
    assert all(value not in e["msg"] for e in caught.value.errors())


@pytest.mark.parametrize("value", ["", "   ", "x" * 201])
def test_plain_text_is_one_to_two_hundred_characters(value: str) -> None:
    with pytest.raises(ValidationError):
        PLAIN.validate_python(value)


def test_two_hundred_characters_are_fine() -> None:
    assert PLAIN.validate_python("x" * 200) == "x" * 200


def test_multiline_text_keeps_newlines_and_tabs_but_not_nul() -> None:
    assert MULTI.validate_python("Line 1\n\tLine 2\n") == "Line 1\n\tLine 2\n"
    for value in ("a\x00b", "a\rb", "a\x1bb", "a\udfffb", "x" * 5001):
        with pytest.raises(ValidationError):
            MULTI.validate_python(value)


def test_a_secret_is_taken_as_sent_but_must_be_unicode() -> None:
    assert SECRET.validate_python("  pass word\t") == "  pass word\t"
    with pytest.raises(ValidationError) as caught:
        SECRET.validate_python("pass\ud800")
    assert all("pass" not in e["msg"] for e in caught.value.errors())
    with pytest.raises(ValidationError):
        SECRET.validate_python("x" * 4097)


def test_services_compose_their_own_length() -> None:
    name = TypeAdapter(Annotated[str, StringConstraints(min_length=1, max_length=100),
                                 SINGLE_LINE])
    assert name.validate_python("Erika") == "Erika"
    with pytest.raises(ValidationError):
        name.validate_python("Eri\x00ka")
