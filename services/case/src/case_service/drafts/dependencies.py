"""Request dependencies of the drafts and attachments routes: settings, the caller's language,
and the blob store."""

from __future__ import annotations

from typing import Annotated

import httpx
from fastapi import Depends, Header, Request

from case_service.attachments.storage import BlobStorage, blob_storage
from case_service.forms import Locale
from case_service.settings import CaseSettings

__all__ = ["HttpDep", "LocaleDep", "SettingsDep", "StorageDep", "pick_locale"]


def _settings(request: Request) -> CaseSettings:
    settings = request.app.state.settings
    if not isinstance(settings, CaseSettings):
        raise RuntimeError("the app was not built by case_service.main.create_app")
    return settings


def _http(request: Request) -> httpx.AsyncClient | None:
    """The app's shared HTTP client (built in the lifespan), None outside a running app."""
    client = getattr(request.app.state, "http", None)
    return client if isinstance(client, httpx.AsyncClient) else None


def pick_locale(accept_language: str | None) -> Locale:
    """The first of ``de``/``en`` by preference in an ``Accept-Language`` header; ``de``
    when it names neither (or is absent or malformed)."""
    ranked: list[tuple[float, int, Locale]] = []
    for index, part in enumerate((accept_language or "").split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if primary in ("de", "en") and quality > 0:
            ranked.append((-quality, index, "de" if primary == "de" else "en"))
    return min(ranked)[2] if ranked else "de"


def _locale(accept_language: Annotated[str | None, Header(max_length=500)] = None) -> Locale:
    return pick_locale(accept_language)


def _storage(settings: Annotated[CaseSettings, Depends(_settings)]) -> BlobStorage:
    return blob_storage(settings)


SettingsDep = Annotated[CaseSettings, Depends(_settings)]
LocaleDep = Annotated[Locale, Depends(_locale)]
StorageDep = Annotated[BlobStorage, Depends(_storage)]
HttpDep = Annotated[httpx.AsyncClient | None, Depends(_http)]
