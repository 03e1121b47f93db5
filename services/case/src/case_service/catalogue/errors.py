"""The domain errors of the library, the parameters and the public catalogue, each with its HTTP
status and stable ``code``. Details never quote submitted values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from city_shared.errors import Conflict, DomainError, JsonValue, NotFound

__all__ = [
    "ConcurrentChange",
    "DefinitionNotFound",
    "DuplicateService",
    "InvalidAttachments",
    "InvalidDefinition",
    "InvalidFeeValues",
    "InvalidLeikaKey",
    "InvalidParameters",
    "InvalidProcess",
    "NoParametersOn",
    "ParametersNotFound",
    "ParametersOverlap",
    "ServiceNotFound",
    "ServiceNotOffered",
    "TenantNotFound",
    "TrustLevelTooLow",
]


class ServiceNotFound(NotFound):
    """404: no such library service, or the tenant does not offer it at all (an unknown
    tenant looks the same)."""

    code = "service_not_found"
    title = "Service not found"

    def __init__(self, detail: str = "No such service in this catalogue.") -> None:
        super().__init__(detail)


class ServiceNotOffered(NotFound):
    """404: the tenant's parameters valid on ``on`` say the service is not offered."""

    code = "service_not_offered"
    title = "Service not offered"

    def __init__(self, on: date) -> None:
        super().__init__(f"The service is not offered on {on.isoformat()}.",
                         extra={"date": on.isoformat()})
        self.on = on


class NoParametersOn(NotFound):
    """404: the tenant has parameters for the service, but none valid on ``on`` (before the
    first period, after the last one, or in a gap between two)."""

    code = "no_parameters_on"
    title = "Service not available on this date"

    def __init__(self, on: date) -> None:
        super().__init__(f"The service has no valid parameters on {on.isoformat()}.",
                         extra={"date": on.isoformat()})
        self.on = on


class DefinitionNotFound(NotFound):
    """404: no such definition version."""

    code = "definition_not_found"
    title = "Definition not found"


class ParametersNotFound(NotFound):
    """404: no such parameter set in the caller's tenant (or in a department the caller may
    not read)."""

    code = "parameters_not_found"
    title = "Parameters not found"


class DuplicateService(Conflict):
    """409: a library service with this LeiKa key or slug exists."""

    code = "service_exists"
    title = "Service exists"

    def __init__(self, field: str) -> None:
        super().__init__(f"A service with this {field} exists already.", extra={"field": field})


class ParametersOverlap(Conflict):
    """409: the validity period overlaps the one of an existing parameter set of the same
    (tenant, service); ``conflicting`` names it (version and dates) when known."""

    code = "parameters_overlap"
    title = "Validity periods overlap"

    def __init__(self, *, version: int | None = None, valid_from: date | None = None,
                 valid_to: date | None = None) -> None:
        conflicting: dict[str, JsonValue] | None = None
        if version is not None and valid_from is not None:
            conflicting = {"version": version, "valid_from": valid_from.isoformat(),
                           "valid_to": valid_to.isoformat() if valid_to else None}
            until = valid_to.isoformat() if valid_to else "further notice"
            detail = (f"The period overlaps version {version} (valid from "
                      f"{valid_from.isoformat()} until {until}); end that version first.")
        else:
            detail = "The period overlaps another version written at the same time."
        super().__init__(detail, extra={"conflicting": conflicting})


class _Unprocessable(DomainError):
    status = 422

    def __init__(self, detail: str, errors: Sequence[Mapping[str, JsonValue]] = ()) -> None:
        super().__init__(detail, extra={"errors": [dict(e) for e in errors]} if errors else None)


class InvalidLeikaKey(_Unprocessable):
    """422: the key is no ``urn:de:fim:leika:leistung:<14 digits>``."""

    code = "invalid_leika_key"
    title = "Invalid LeiKa key"


class InvalidAttachments(_Unprocessable):
    """422: the attachment specs are refused (``errors`` with pointers)."""

    code = "invalid_attachments"
    title = "Invalid attachment specification"


class InvalidFeeValues(_Unprocessable):
    """422: the fee values do not fit the service's fee rule (``errors`` with pointers)."""

    code = "invalid_fee_values"
    title = "Invalid fee values"


class InvalidParameters(_Unprocessable):
    """422: parameters that cannot be saved (a period ending before it starts, revenue shares
    above the whole, ...)."""

    code = "invalid_parameters"
    title = "Invalid parameters"


class TrustLevelTooLow(_Unprocessable):
    """422: parameters may only make the definition's trust level stricter."""

    code = "trust_level_too_low"
    title = "Trust level below the definition's"

    def __init__(self, minimum: str) -> None:
        super().__init__(f"The trust level must be at least '{minimum}'.")
        self.extra["minimum"] = minimum


class InvalidDefinition(_Unprocessable):
    """422: a definition whose parts contradict each other (e.g. ``anonymous`` without
    ``public_report``)."""

    code = "invalid_definition"
    title = "Invalid service definition"


class InvalidProcess(_Unprocessable):
    """422: a process definition that is not sound (``errors`` with pointers into
    ``/process``, one per finding; see :mod:`case_service.process.validation`)."""

    code = "invalid_process"
    title = "Invalid process definition"


class TenantNotFound(NotFound):
    """404: the path names a tenant other than the caller's (tenants never see each other)."""

    code = "tenant_not_found"
    title = "Tenant not found"


class ConcurrentChange(Conflict):
    """409: other versions of the same service were written at the same moment, again and
    again; retrying the request is safe."""

    code = "concurrent_change"
    title = "Concurrent change"
