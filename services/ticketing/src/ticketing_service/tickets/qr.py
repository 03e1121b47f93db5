"""QR images of ticket payloads (segno): PNG and SVG bytes, and an SVG data URI for pages."""

from __future__ import annotations

import base64
import io
from typing import Final

import segno

__all__ = ["PNG_MEDIA_TYPE", "SVG_MEDIA_TYPE", "png", "svg", "svg_data_uri"]

PNG_MEDIA_TYPE: Final = "image/png"
SVG_MEDIA_TYPE: Final = "image/svg+xml"
# Error correction M: survives smudges and glare of a phone screen; the payload (~300 bytes)
# still fits a version a gate scanner reads easily.
_ERROR: Final = "m"


def _code(payload: str) -> segno.QRCode:
    return segno.make_qr(payload, error=_ERROR, boost_error=False)


def png(payload: str, *, scale: int = 4) -> bytes:
    """A PNG of the QR code of ``payload`` with the standard quiet zone."""
    buffer = io.BytesIO()
    _code(payload).save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()


def svg(payload: str, *, scale: int = 4) -> bytes:
    """An SVG of the QR code of ``payload`` (XML declaration included)."""
    buffer = io.BytesIO()
    _code(payload).save(buffer, kind="svg", scale=scale, border=4)
    return buffer.getvalue()


def svg_data_uri(payload: str) -> str:
    """``data:image/svg+xml;base64,...`` of the QR code (for ``<img src>`` in a page or PDF)."""
    return f"data:{SVG_MEDIA_TYPE};base64,{base64.b64encode(svg(payload)).decode('ascii')}"
