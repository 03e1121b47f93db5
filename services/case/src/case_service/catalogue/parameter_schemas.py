"""HTTP models of a tenant's parameters: ``ParametersCreate`` (a new version), ``ParametersEnd``
(closing a period), ``ParametersRead``. Shapes only; the rules are checked in
:mod:`case_service.catalogue.parameters`."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from case_service.catalogue.demo_library import LIBRARY
from case_service.catalogue.models import ServiceParameters
from case_service.catalogue.schemas import LocalizedText, TrustLevel
from case_service.fees import MAX_AMOUNT
from city_shared.slugs import Slug

__all__ = ["ParameterTexts", "ParametersCreate", "ParametersEnd", "ParametersList",
           "ParametersRead", "RevenueShare"]

_PARKING = LIBRARY[0]
_MS = _PARKING.parameters["musterstadt"]
_Text = Annotated[str, StringConstraints(max_length=200)]
_CostCentre = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,31}$"),
                        Field(examples=["BB-1100"])]
_CREATE_EXAMPLE: dict[str, Any] = {
    "service_id": str(_PARKING.id), "department": _MS.department, "valid_from": "2027-01-01",
    "valid_to": None, "offered": True, "cost_centre": _MS.cost_centre,
    "revenue_shares": _MS.revenue_shares, "fee_values": {"permit": 3570}, "currency": "EUR",
    "trust_level": None, "texts": _MS.texts, "retention_days": _MS.retention_days,
    "part_departments": _MS.part_departments}


class RevenueShare(BaseModel):
    """A part of each fee booked to another department's cost centre: either a fixed
    ``amount`` (cents, booked up to what is left of the fee) or a ``percent`` of the fee
    (rounded down). The percentages of all shares add up to at most 100; the rest goes to the
    responsible department's ``cost_centre``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"department": "traffic", "cost_centre": "SVB-6600", "percent": 30}]})

    department: Slug
    cost_centre: _CostCentre
    amount: Annotated[int, Field(ge=1, le=MAX_AMOUNT)] | None = None
    percent: Annotated[int, Field(ge=1, le=100)] | None = None

    @model_validator(mode="after")
    def _one_of(self) -> Self:
        if (self.amount is None) == (self.percent is None):
            raise ValueError("set exactly one of amount and percent")
        return self


class ParameterTexts(BaseModel):
    """Local texts shown with the service, each in German and English."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_MS.texts]})

    office_address: LocalizedText | None = None
    opening_hours: LocalizedText | None = None
    legal_basis: LocalizedText | None = None


class ParametersCreate(BaseModel):
    """A new parameter version of a service for the caller's tenant, valid on
    ``[valid_from, valid_to)`` (``valid_to`` None: until further notice). ``fee_values`` are the
    ``values.<name>`` the service's fee rule reads (amounts in cents, texts, lists of texts).
    ``part_departments``: which department answers each part of the service's process (part
    key -> department slug; a part not named is answered by ``department`` itself)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_CREATE_EXAMPLE]})

    service_id: uuid.UUID
    department: Slug
    valid_from: date
    valid_to: date | None = None
    offered: bool = True
    cost_centre: _CostCentre
    revenue_shares: Annotated[list[RevenueShare], Field(max_length=10)] = []
    fee_values: Annotated[dict[str, Any], Field(max_length=100)] = {}
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = "EUR"
    trust_level: TrustLevel | None = None
    texts: ParameterTexts = ParameterTexts()
    retention_days: Annotated[int, Field(ge=1, le=36500)]
    part_departments: Annotated[dict[_Text, _Text], Field(max_length=20)] = {}


class ParametersEnd(BaseModel):
    """Close (or move the end of) a period: valid until the day before ``valid_to``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"valid_to": "2027-01-01"}]})

    valid_to: date


class ParametersRead(BaseModel):
    """One parameter version (immutable but for the end of its period)."""

    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [{
        "id": "3f0c7d1e-2b4a-5c6d-8e9f-0a1b2c3d4e5f", "tenant": "musterstadt", "version": 1,
        **_CREATE_EXAMPLE, "valid_from": "2026-01-01", "fee_values": _MS.fee_values,
        "created_at": "2026-01-01T08:00:00Z", "created_by": "seed:demo-library"}]})

    id: uuid.UUID
    tenant: str
    department: str
    service_id: uuid.UUID
    version: int
    valid_from: date
    valid_to: date | None
    offered: bool
    cost_centre: str
    revenue_shares: list[dict[str, Any]]
    fee_values: dict[str, Any]
    currency: str
    trust_level: str | None
    texts: dict[str, Any]
    retention_days: int
    part_departments: dict[str, str]
    created_at: datetime
    created_by: str

    @classmethod
    def of(cls, parameters: ServiceParameters) -> ParametersRead:
        return cls.model_validate(parameters)


class ParametersList(BaseModel):
    """Parameter versions the caller may read, by service and version."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "items": [ParametersRead.model_json_schema()["examples"][0]]}]})

    items: list[ParametersRead]
