"""The payment's entity tag and ``If-Match`` (RFC 9110, section 13.1.1).

The ETag of a payment is its ``version`` as a strong tag, ``"<version>"``. The version grows
with every change of the payment (status, payer erasure, a refund submitted or finished), so a
client that decided on a refund from what it read fails with 412 when anything changed since.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["if_match_satisfied", "payment_etag"]

_TAG: Final = re.compile(r'\s*(W/)?"([\x21\x23-\x7e]*)"\s*')
_MAX_HEADER: Final = 1024


def payment_etag(version: int) -> str:
    """The ``ETag`` header value of a payment at ``version``."""
    return f'"{version}"'


def if_match_satisfied(header: str | None, version: int) -> bool:
    """True if the ``If-Match`` header allows a change of the payment at ``version``.

    No header and ``*`` match (the payment exists). Otherwise the header is a comma-separated
    list of entity tags compared strongly: a weak tag (``W/"3"``) never matches, and neither
    does a malformed header, so the request fails safe with 412.
    """
    if header is None or header.strip() == "*":
        return True
    if len(header) > _MAX_HEADER:
        return False
    wanted = payment_etag(version)
    position = 0
    while position < len(header):
        found = _TAG.match(header, position)
        if found is None:
            return False
        if found.group(1) is None and f'"{found.group(2)}"' == wanted:
            return True
        position = found.end()
        if position < len(header):
            if header[position] != ",":
                return False
            position += 1
    return False
