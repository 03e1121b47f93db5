"""The GeoReport v2 response bodies (JSON format), field names exactly as the specification
(wiki.open311.org/GeoReport_v2) spells them. Every field is always present; unknown values are
``null``. Request bodies are form-encoded and parsed in :mod:`case_service.open311.intake`."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Final, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from case_service.open311.attributes import Datatype

__all__ = [
    "AttributeRead",
    "AttributeValueRead",
    "Open311ErrorRead",
    "RequestCreatedRead",
    "ServiceDefinitionRead",
    "ServiceRead",
    "ServiceRequestRead",
    "Timestamp",
]

_EXAMPLE_TIME = "2026-04-01T09:30:00+00:00"
_ISO_DATE_TIME: Final = re.compile(r"\d{4}-\d{2}-\d{2}([Tt ].+)?")


def _iso_only(value: object) -> object:
    if isinstance(value, datetime) or (isinstance(value, str) and _ISO_DATE_TIME.fullmatch(value)):
        return value
    raise ValueError("expected a date-time as in 2026-04-01T09:30:00Z")


#: A query's date-time (``start_date``, ``end_date``) as ISO 8601 / W3C; pydantic's lax mode
#: would read a number (``0.5``) as a Unix time, which the documented format forbids.
Timestamp = Annotated[datetime, BeforeValidator(_iso_only)]


class _Read(BaseModel):
    model_config = ConfigDict(frozen=True)


class ServiceRead(_Read):
    """An entry of ``GET services.json``: a public-report service offered in the tenant today.
    ``service_code`` is the library service's slug."""

    model_config = ConfigDict(frozen=True, json_schema_extra={"example": {
        "service_code": "strassenschaden", "service_name": "Straßenschaden melden",
        "description": "Schlaglöcher, defekte Straßenlaternen oder Schilder melden.",
        "metadata": True, "type": "realtime", "keywords": "Straße,Schlagloch",
        "group": "traffic"}})

    service_code: str
    service_name: str
    description: str
    metadata: bool
    """True: the service has attributes (``GET services/{service_code}.json``)."""
    type: Literal["realtime", "batch", "blackbox"] = "realtime"
    keywords: str
    """Comma-separated, as the specification has it."""
    group: str
    """The responsible department's slug."""


class AttributeValueRead(_Read):
    """One choice of a list attribute."""

    key: str
    name: str


class AttributeRead(_Read):
    """One attribute of a service definition."""

    variable: bool = True
    code: str
    datatype: Datatype
    required: bool
    datatype_description: str | None
    order: int
    description: str
    values: list[AttributeValueRead] = Field(default_factory=list)


class ServiceDefinitionRead(_Read):
    """``GET services/{service_code}.json``."""

    service_code: str
    attributes: list[AttributeRead]


class RequestCreatedRead(_Read):
    """The one entry of the answer to ``POST requests.json``: ``service_request_id`` is the
    case number. ``token`` is not used (requests are realtime)."""

    model_config = ConfigDict(frozen=True, json_schema_extra={"example": {
        "service_request_id": "MS-2026-000123", "service_notice": "...",
        "account_id": None}})

    service_request_id: str
    service_notice: str | None
    account_id: str | None = None


class ServiceRequestRead(_Read):
    """An entry of ``GET requests.json`` / ``GET requests/{id}.json``. Never personal data:
    no e-mail, names or phone of the reporter."""

    model_config = ConfigDict(frozen=True, json_schema_extra={"example": {
        "service_request_id": "MS-2026-000123", "status": "open", "status_notes": None,
        "service_name": "Straßenschaden melden", "service_code": "strassenschaden",
        "description": "Tiefes Schlagloch vor Hausnummer 12.", "agency_responsible": "traffic",
        "service_notice": None, "requested_datetime": _EXAMPLE_TIME,
        "updated_datetime": _EXAMPLE_TIME, "expected_datetime": "2026-04-15T09:30:00+00:00",
        "address": "Hauptstraße 12", "address_id": None, "zipcode": None, "lat": 50.11,
        "long": 8.68, "media_url": None}})

    service_request_id: str
    status: Literal["open", "closed"]
    status_notes: str | None
    service_name: str
    service_code: str
    description: str | None
    agency_responsible: str
    service_notice: str | None
    requested_datetime: datetime
    updated_datetime: datetime
    expected_datetime: datetime | None
    address: str | None
    address_id: str | None
    zipcode: str | None
    lat: float | None
    long: float | None
    media_url: str | None


class Open311ErrorRead(_Read):
    """An entry of an Open311 error answer: ``code`` is the HTTP status."""

    code: int
    description: str
