"""Staff's text search over a case's number and applicant name (the generated ``cases.search``
tsvector, ``simple`` configuration): the search text is never handed to PostgreSQL as query
syntax. :func:`prefix_query` builds a prefix tsquery from its words only; the repository adds
``plainto_tsquery`` of the whole text, which matches numbers the way the vector parsed them."""

from __future__ import annotations

import re
from typing import Final

__all__ = ["MAX_WORDS", "prefix_query"]

#: Letters and digits of any script; everything else (operators, quotes, ``_``) separates.
_WORD: Final = re.compile(r"[^\W_]+")
MAX_WORDS: Final = 8


def prefix_query(text: str) -> str | None:
    """A ``to_tsquery`` text matching every word of ``text`` as a prefix (``'erik':* &
    'muster':*``), or None if ``text`` has no word. Words are letters and digits only, so the
    result carries no operator from the input. A word of digits also matches the vector's
    signed form (``MS-2026-000123`` is parsed ``ms``, ``-2026``, ``-000123``)."""
    terms = []
    for word in _WORD.findall(text)[:MAX_WORDS]:
        term = f"'{word.lower()}':*"
        terms.append(f"({term} | '-{word}':*)" if word.isascii() and word.isdigit() else term)
    return " & ".join(terms) or None
