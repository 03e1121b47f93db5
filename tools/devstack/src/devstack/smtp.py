"""An SMTP sink for outgoing mail: accepts every message on 127.0.0.1 and files it as `.eml`.

Contract: each accepted message becomes one file `<mailbox>/<ns timestamp>-<uuid>.eml`, written
atomically (temp file + rename) before the server answers 250, so a sender that got 250 finds its
message with `messages()`. The envelope (MAIL FROM / RCPT TO, which Bcc makes differ from the
headers) is recorded in `X-Envelope-From` / `X-Envelope-To` headers prepended to the message.
No AUTH, no TLS, no relaying. Standalone:
`python -m devstack.smtp --port 1025 --mailbox .local/mail` (runs until SIGINT/SIGTERM).
"""

from __future__ import annotations

import argparse
import asyncio
import email.policy
import os
import signal
import threading
import time
import uuid
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from types import FrameType

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


def read_mailbox(mailbox_dir: Path) -> list[EmailMessage]:
    """Every message filed in `mailbox_dir`, oldest first (empty when the directory is absent)."""
    parser = BytesParser(policy=email.policy.default)
    messages: list[EmailMessage] = []
    for path in sorted(Path(mailbox_dir).glob("*.eml")):
        with path.open("rb") as handle:
            messages.append(parser.parse(handle))
    return messages


class MailboxHandler:
    """aiosmtpd handler that files each message in a directory."""

    def __init__(self, mailbox_dir: Path) -> None:
        self.mailbox_dir = Path(mailbox_dir)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        content = envelope.original_content
        if content is None:
            raw = envelope.content
            content = raw.encode() if isinstance(raw, str) else (raw or b"")
        headers = (
            f"X-Envelope-From: {envelope.mail_from or ''}\r\n"
            f"X-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n"
        ).encode()
        await asyncio.to_thread(self._file, headers + content)
        return "250 Message accepted for delivery"

    def _file(self, data: bytes) -> Path:
        self.mailbox_dir.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns():020d}-{uuid.uuid4().hex}.eml"
        temp = self.mailbox_dir / f".{name}.tmp"
        temp.write_bytes(data)
        final = self.mailbox_dir / name
        os.replace(temp, final)
        return final


class SmtpServer:
    """An SMTP sink on `host:port` serving from its own thread; start/stop are blocking calls."""

    def __init__(self, mailbox_dir: Path, port: int, host: str = "127.0.0.1") -> None:
        self.mailbox_dir = Path(mailbox_dir)
        self.port = port
        self.host = host
        self._controller: Controller | None = None

    def start(self) -> None:
        """Bind and serve; returns once the server answers. A no-op when already started."""
        if self._controller is not None:
            return
        self.mailbox_dir.mkdir(parents=True, exist_ok=True)
        controller = Controller(
            MailboxHandler(self.mailbox_dir),
            hostname=self.host,
            port=self.port,
            server_hostname="devstack-smtp",
        )
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        """Stop serving; filed messages stay. A no-op when not started."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def messages(self) -> list[EmailMessage]:
        """Every message received so far (including by earlier runs on this mailbox)."""
        return read_mailbox(self.mailbox_dir)

    def clear(self) -> None:
        """Delete every filed message."""
        for path in self.mailbox_dir.glob("*.eml"):
            path.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="SMTP sink that files mail as .eml files")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--mailbox", type=Path, default=Path(".local/mail"))
    args = parser.parse_args(argv)
    server = SmtpServer(args.mailbox, args.port, args.host)
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    server.start()
    print(f"SMTP sink on {args.host}:{args.port}, mailbox {args.mailbox.resolve()}", flush=True)
    try:
        stopping.wait()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
