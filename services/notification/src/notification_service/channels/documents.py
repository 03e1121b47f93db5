"""Documents attached to e-mails: a message's ``params["documents"]`` (``filename``,
``media_type``, ``size``, ``sha256``, ``download_url``; e.g. case's decision) are fetched when
the e-mail is sent, only from the allowed sources, and checked before they are attached.

Only a URL that starts with one of :attr:`DocumentFetcher.sources` is ever requested (no
redirects, no ``..`` or encoded separators after the prefix), so an event cannot make the worker
fetch anything else (SSRF). A source may be fetched through another base (``fetch_via``: the
public prefix the links carry -> the in-cluster address). Failures are
:class:`~.base.SendError` reasons without the URL (its token is a credential): transient ones
(connection, timeout, 408/429/5xx) retry as any delivery does; the others
(``document_source_not_allowed``, ``document_checksum_mismatch``, ``document_size_mismatch``,
``document_too_large``, ``document_unavailable``, ``document_invalid``) fail the e-mail.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import httpx

from notification_service.channels.base import PermanentSendError, TemporarySendError
from notification_service.channels.qr import Attachment

__all__ = ["MAX_DOCUMENTS", "DocumentFetcher"]

MAX_DOCUMENTS: Final = 5
_SEGMENT: Final = re.compile(r"^[A-Za-z0-9_.~-]+$")
_MEDIA_TYPE: Final = re.compile(r"^([a-z]+)/([a-z0-9][a-z0-9.+-]*)$")
_UNSAFE_NAME: Final = re.compile(r"[^A-Za-z0-9_.-]+")
_SHA256: Final = re.compile(r"^[0-9a-f]{64}$")
_TRANSIENT_STATUS: Final = frozenset({408, 425, 429})


@dataclass(frozen=True)
class _Document:
    filename: str
    maintype: str
    subtype: str
    size: int
    sha256: str
    url: str


def _safe_name(raw: str, index: int) -> str:
    name = _UNSAFE_NAME.sub("-", raw).strip("-.")[:100]
    return name or f"document-{index + 1}"


@dataclass(frozen=True)
class DocumentFetcher:
    """Fetches the documents of a message. ``sources``: allowed URL prefixes (each ends with
    ``/``); ``fetch_via``: an allowed prefix -> the prefix it is fetched through; ``transport``:
    for tests (httpx ``MockTransport``)."""

    sources: Sequence[str] = ()
    fetch_via: Mapping[str, str] = field(default_factory=dict)
    max_bytes: int = 10 * 1024 * 1024
    timeout: float = 10.0
    transport: httpx.AsyncBaseTransport | None = None

    def target(self, url: str) -> str | None:
        """The URL to request for ``url``, or None when ``url`` is not from an allowed source
        (or its rest after the prefix is anything but plain path segments)."""
        for prefix in self.sources:
            if not url.startswith(prefix):
                continue
            rest = url[len(prefix):]
            segments = rest.split("/")
            if all(_SEGMENT.match(s) and s not in (".", "..") for s in segments):
                return self.fetch_via.get(prefix, prefix) + rest
        return None

    def _parse(self, raw: object) -> list[_Document]:
        if raw is None:
            return []
        if not isinstance(raw, list) or len(raw) > MAX_DOCUMENTS:
            raise PermanentSendError("document_invalid")
        documents: list[_Document] = []
        for index, item in enumerate(raw):
            if not isinstance(item, Mapping):
                raise PermanentSendError("document_invalid")
            url, size, digest = item.get("download_url"), item.get("size"), item.get("sha256")
            media_type, filename = item.get("media_type"), item.get("filename")
            if (not isinstance(url, str) or not isinstance(size, int) or isinstance(size, bool)
                    or size < 0 or not isinstance(digest, str)
                    or not _SHA256.match(digest.lower())):
                raise PermanentSendError("document_invalid")
            target = self.target(url)
            if target is None:
                raise PermanentSendError("document_source_not_allowed")
            if size > self.max_bytes:
                raise PermanentSendError("document_too_large")
            kind = _MEDIA_TYPE.match(media_type) if isinstance(media_type, str) else None
            maintype, subtype = kind.groups() if kind else ("application", "octet-stream")
            documents.append(_Document(
                _safe_name(filename if isinstance(filename, str) else "", index), maintype,
                subtype, size, digest.lower(), target))
        return documents

    async def _fetch(self, client: httpx.AsyncClient, document: _Document) -> bytes:
        digest = hashlib.sha256()
        chunks: list[bytes] = []
        received = 0
        try:
            async with client.stream("GET", document.url) as response:
                status = response.status_code
                if status >= 500 or status in _TRANSIENT_STATUS:
                    raise TemporarySendError(f"document_http_{status}")
                if status != 200:
                    raise PermanentSendError("document_unavailable")
                async for chunk in response.aiter_bytes():
                    received += len(chunk)
                    if received > document.size:
                        raise PermanentSendError("document_size_mismatch")
                    digest.update(chunk)
                    chunks.append(chunk)
        except httpx.HTTPError:
            raise TemporarySendError("document_unreachable") from None
        if received != document.size:
            raise PermanentSendError("document_size_mismatch")
        if digest.hexdigest() != document.sha256:
            raise PermanentSendError("document_checksum_mismatch")
        return b"".join(chunks)

    async def attachments(self, params: Mapping[str, object]) -> list[Attachment]:
        """The documents of ``params`` as attachments, in order; none without ``documents``.
        Every URL is checked before any is requested, so one disallowed URL means nothing is
        fetched.

        :raises PermanentSendError: a document is malformed, from a source not allowed, too
            large, unavailable (e.g. its link expired) or not the announced bytes.
        :raises TemporarySendError: the source could not be reached or answered 5xx.
        """
        documents = self._parse(params.get("documents"))
        if not documents:
            return []
        attachments: list[Attachment] = []
        async with httpx.AsyncClient(timeout=self.timeout, follow_redirects=False,
                                     transport=self.transport, trust_env=False) as client:
            for index, document in enumerate(documents):
                content = await self._fetch(client, document)
                attachments.append(Attachment(document.filename, content, document.maintype,
                                              document.subtype, f"document-{index + 1}"))
        return attachments
