"""E-mail over SMTP (aiosmtplib). The ``Message-ID`` is derived from the delivery id, so a
message sent twice (see :mod:`notification_service.deliveries.sending`) is recognisable as the
same one by the receiving side."""

from __future__ import annotations

import email.utils
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

import aiosmtplib

from notification_service.channels.base import PermanentSendError, TemporarySendError
from notification_service.channels.qr import Attachment

__all__ = ["EmailSender", "OutgoingEmail", "SmtpSender"]


@dataclass(frozen=True)
class OutgoingEmail:
    """One e-mail to one address."""

    delivery_id: uuid.UUID
    to: str
    subject: str
    text: str
    html: str | None = None
    attachments: Sequence[Attachment] = field(default_factory=tuple)
    locale: str = "de"


class EmailSender:
    """The interface the delivery job sends e-mail through."""

    async def send(self, mail: OutgoingEmail) -> None:
        """Hand ``mail`` to the mail system; returns once it was accepted.

        :raises TemporarySendError: worth retrying later.
        :raises PermanentSendError: retrying will not help.
        """
        raise NotImplementedError


class SmtpSender(EmailSender):
    """Sends through one SMTP server (no authentication; the local sink or a relay)."""

    def __init__(self, host: str, port: int, sender: str, *, timeout: float = 10.0,
                 message_id_domain: str = "notification.city-platform.example") -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.timeout = timeout
        self.message_id_domain = message_id_domain

    def message_id(self, delivery_id: uuid.UUID) -> str:
        """``<delivery id@domain>``: stable across retries of one delivery."""
        return f"<{delivery_id}@{self.message_id_domain}>"

    def build(self, mail: OutgoingEmail) -> email.message.EmailMessage:
        """The MIME message: text, optional HTML alternative, attachments."""
        message = email.message.EmailMessage()
        message["From"] = self.sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message["Date"] = email.utils.formatdate(localtime=False, usegmt=True)
        message["Message-ID"] = self.message_id(mail.delivery_id)
        message["Content-Language"] = mail.locale
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(mail.text)
        if mail.html is not None:
            message.add_alternative(mail.html, subtype="html")
        for attachment in mail.attachments:
            message.add_attachment(attachment.content, maintype=attachment.maintype,
                                   subtype=attachment.subtype, filename=attachment.filename,
                                   cid=f"<{attachment.content_id}>")
        return message

    async def send(self, mail: OutgoingEmail) -> None:
        message = self.build(mail)
        try:
            await aiosmtplib.send(message, hostname=self.host, port=self.port,
                                  timeout=self.timeout, start_tls=False, use_tls=False)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            if codes and all(500 <= c < 600 for c in codes):
                raise PermanentSendError(f"smtp_{codes[0]}") from None
            raise TemporarySendError(f"smtp_{codes[0] if codes else 'refused'}") from None
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600:
                raise PermanentSendError(f"smtp_{exc.code}") from None
            raise TemporarySendError(f"smtp_{exc.code}") from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            raise TemporarySendError("smtp_unreachable") from None
