"""Rules for human text a client sends: valid Unicode, no control characters, bounded.

PostgreSQL refuses NUL and UTF-8 refuses lone surrogates: either would otherwise surface as a
500. Error messages never quote the value (it may be personal data). Lengths differ per field,
so services compose ``Annotated[str, StringConstraints(...), SINGLE_LINE]`` themselves; the
common shapes are here.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated, Final

from pydantic import AfterValidator, StringConstraints

__all__ = [
    "MULTILINE",
    "SINGLE_LINE",
    "UNICODE",
    "MultilineText",
    "PlainText",
    "Secret",
    "multiline_text",
    "single_line_text",
    "valid_unicode",
]

_CONTROL: Final = frozenset({"Cc", "Cs"})
_LINE_BREAKS: Final = frozenset("\n\t")


def valid_unicode(value: str) -> str:
    """``value`` unchanged if it encodes as UTF-8 (no lone surrogates).

    :raises ValueError: it does not.
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


def single_line_text(value: str) -> str:
    """``value`` unchanged if it is valid Unicode without control characters (NUL, tab,
    newline, DEL, C1 included).

    :raises ValueError: it is not.
    """
    valid_unicode(value)
    if any(unicodedata.category(ch) in _CONTROL for ch in value):
        raise ValueError("must not contain control characters")
    return value


def multiline_text(value: str) -> str:
    """As :func:`single_line_text`, but newline and tab are allowed (descriptions, bodies)."""
    valid_unicode(value)
    if any(unicodedata.category(ch) in _CONTROL and ch not in _LINE_BREAKS for ch in value):
        raise ValueError("must not contain control characters")
    return value


#: Validators for ``Annotated[str, StringConstraints(...), <one of these>]``.
UNICODE: Final = AfterValidator(valid_unicode)
SINGLE_LINE: Final = AfterValidator(single_line_text)
MULTILINE: Final = AfterValidator(multiline_text)

#: Human text such as a name: trimmed, 1..200 characters, one line.
PlainText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), SINGLE_LINE,
]
#: Longer human text such as a description: as sent, up to 5000 characters, lines allowed.
MultilineText = Annotated[str, StringConstraints(max_length=5000), MULTILINE]
#: A secret such as a password: taken as sent (no trimming), up to 4096 characters, valid Unicode.
Secret = Annotated[str, StringConstraints(max_length=4096), UNICODE]
