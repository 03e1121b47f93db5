"""What a channel adapter reports: delivered, or a failure that is worth retrying or not."""

from __future__ import annotations

__all__ = ["PermanentSendError", "SendError", "TemporarySendError"]


class SendError(Exception):
    """The channel did not accept the message; ``reason`` is a short code without personal
    data (e.g. ``smtp_unreachable``, ``smtp_550``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason[:64]


class TemporarySendError(SendError):
    """Worth retrying later (connection refused, 4xx)."""


class PermanentSendError(SendError):
    """Retrying will not help (5xx: the address is refused)."""
