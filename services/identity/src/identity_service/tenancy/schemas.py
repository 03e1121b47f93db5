"""HTTP models of departments: ``DepartmentCreate`` / ``DepartmentUpdate`` / ``DepartmentRead``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints
from pydantic.config import JsonDict

from city_shared.slugs import Slug
from city_shared.text import PlainText

__all__ = ["CostCentre", "DepartmentCreate", "DepartmentRead", "DepartmentUpdate"]

CostCentre = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9-]{0,31}$")]

_EXAMPLE: JsonDict = {"slug": "library", "name": "Stadtbibliothek", "cost_centre": "BIB-4200"}


class DepartmentCreate(BaseModel):
    """A new department of the caller's tenant; the tenant is never part of the body."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_EXAMPLE]})

    slug: Slug
    name: PlainText
    cost_centre: CostCentre


class DepartmentUpdate(BaseModel):
    """Fields to change; omitted fields stay as they are. The slug never changes."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "Stadt- und Kreisbibliothek"}]}
    )

    name: PlainText | None = None
    cost_centre: CostCentre | None = None


class DepartmentRead(BaseModel):
    """A department as the admin API shows it."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [{**_EXAMPLE, "tenant": "musterstadt",
                          "created_at": "2026-11-26T10:00:00Z"}]
        },
    )

    tenant: str
    slug: str
    name: str
    cost_centre: str
    created_at: datetime
