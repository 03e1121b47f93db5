"""The document fetcher without I/O (httpx ``MockTransport``): which URLs it requests at all,
through which base, and how each kind of failure is classified."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import pytest

from notification_service.channels.base import PermanentSendError, TemporarySendError
from notification_service.channels.documents import DocumentFetcher

SOURCE = "https://case.example.org/documents/signed/"
PDF = b"%PDF-1.7 test document"


class Recorder:
    """A transport that answers with ``respond`` and records every URL requested."""

    def __init__(self, respond: Any = None) -> None:
        self.urls: list[str] = []
        self.respond = respond or (lambda request: httpx.Response(200, content=PDF))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(str(request.url))
        response: httpx.Response = self.respond(request)
        return response


def fetcher(recorder: Recorder, **overrides: Any) -> DocumentFetcher:
    return DocumentFetcher(**{"sources": (SOURCE,), "transport": httpx.MockTransport(recorder),
                              **overrides})


def params(url: str = SOURCE + "eyJ0.abc-_1", **overrides: Any) -> dict[str, Any]:
    document = {"filename": "Bescheid MS/1.pdf", "media_type": "application/pdf",
                "size": len(PDF), "sha256": hashlib.sha256(PDF).hexdigest(),
                "download_url": url, **overrides}
    return {"documents": [document]}


@pytest.mark.parametrize("url", [
    "https://case.example.org/documents/signed/../admin",
    "https://case.example.org/documents/signed/a/../../admin",
    "https://case.example.org/documents/signed/%2e%2e%2fadmin",
    "https://case.example.org/documents/signed/x?redirect=http://evil",
    "https://case.example.org/documents/signed-not/x",
    "https://case.example.org.evil.net/documents/signed/x",
    "http://case.example.org/documents/signed/x",
    "https://case.example.org/documents/signed/",
    "file:///etc/passwd",
])
async def test_urls_outside_the_sources_are_never_requested(url: str) -> None:
    recorder = Recorder()
    with pytest.raises(PermanentSendError) as info:
        await fetcher(recorder).attachments(params(url))
    assert info.value.reason == "document_source_not_allowed"
    assert url not in str(info.value)
    assert recorder.urls == []


async def test_a_document_is_fetched_through_its_mapped_base_and_attached() -> None:
    recorder = Recorder()
    via = {SOURCE: "http://case/documents/signed/"}
    [attachment] = await fetcher(recorder, fetch_via=via).attachments(params())
    assert recorder.urls == ["http://case/documents/signed/eyJ0.abc-_1"]
    assert (attachment.filename, attachment.maintype, attachment.subtype) == (
        "Bescheid-MS-1.pdf", "application", "pdf")
    assert attachment.content == PDF


async def test_no_documents_means_no_request() -> None:
    recorder = Recorder()
    assert await fetcher(recorder).attachments({"tickets": []}) == []
    assert recorder.urls == []


async def test_one_disallowed_url_means_none_is_fetched() -> None:
    recorder = Recorder()
    documents = params()["documents"] + params("http://169.254.169.254/latest/")["documents"]
    with pytest.raises(PermanentSendError):
        await fetcher(recorder).attachments({"documents": documents})
    assert recorder.urls == []


@pytest.mark.parametrize(("respond", "overrides", "error", "reason"), [
    (lambda r: httpx.Response(200, content=PDF + b"more"), {}, PermanentSendError,
     "document_size_mismatch"),
    (lambda r: httpx.Response(200, content=PDF[:-1]), {}, PermanentSendError,
     "document_size_mismatch"),
    (lambda r: httpx.Response(200, content=PDF), {"sha256": "ab" * 32}, PermanentSendError,
     "document_checksum_mismatch"),
    (lambda r: httpx.Response(404), {}, PermanentSendError, "document_unavailable"),
    (lambda r: httpx.Response(302, headers={"Location": "http://169.254.169.254/"}), {},
     PermanentSendError, "document_unavailable"),
    (lambda r: httpx.Response(503), {}, TemporarySendError, "document_http_503"),
    (lambda r: httpx.Response(429), {}, TemporarySendError, "document_http_429"),
])
async def test_failures_are_classified(respond: Any, overrides: dict[str, Any],
                                       error: type[Exception], reason: str) -> None:
    recorder = Recorder(respond)
    with pytest.raises(error) as info:
        await fetcher(recorder).attachments(params(**overrides))
    assert getattr(info.value, "reason", None) == reason
    assert len(recorder.urls) == 1  # never followed the redirect


async def test_an_unreachable_source_is_temporary() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(TemporarySendError) as info:
        await fetcher(Recorder(refuse)).attachments(params())
    assert info.value.reason == "document_unreachable"


@pytest.mark.parametrize(("documents", "reason"), [
    ("not a list", "document_invalid"),
    ([{"download_url": SOURCE + "x"}], "document_invalid"),
    (params(size=-1)["documents"], "document_invalid"),
    (params(sha256="xyz")["documents"], "document_invalid"),
    (params()["documents"] * 6, "document_invalid"),
    (params(size=11 * 1024 * 1024)["documents"], "document_too_large"),
])
async def test_malformed_or_oversized_documents_fail_without_a_request(
    documents: Any, reason: str,
) -> None:
    recorder = Recorder()
    with pytest.raises(PermanentSendError) as info:
        await fetcher(recorder).attachments({"documents": documents})
    assert info.value.reason == reason
    assert recorder.urls == []
