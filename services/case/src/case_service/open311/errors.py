"""The domain errors of the Open311 slice, each with its HTTP status and stable ``code``.

Open311 routes render them (and every other error they raise) in the GeoReport v2 shape, see
:mod:`case_service.open311.responses`. Details never quote submitted values.
"""

from __future__ import annotations

from city_shared.errors import DomainError, Forbidden, NotFound

__all__ = [
    "AttributeInvalid",
    "FormatNotSupported",
    "InvalidParameter",
    "JurisdictionNotFound",
    "LocationRequired",
    "NotACitizen",
    "RequestNotFound",
    "ServiceCodeNotFound",
    "TooManyReports",
]


class JurisdictionNotFound(NotFound):
    """404: no public reports are offered under this tenant (unknown or without parameters)."""

    code = "jurisdiction_not_found"
    title = "Jurisdiction not found"


class ServiceCodeNotFound(NotFound):
    """404: no public-report service with this ``service_code`` is offered in the tenant today."""

    code = "service_code_not_found"
    title = "Service code not found"


class RequestNotFound(NotFound):
    """404: no Open311 report with this ``service_request_id`` in the tenant."""

    code = "service_request_not_found"
    title = "Service request not found"


class FormatNotSupported(NotFound):
    """404: only the JSON format (``.json``) is offered; XML is not."""

    code = "format_not_supported"
    title = "Format not supported"

    def __init__(self) -> None:
        super().__init__("Only the JSON format is offered: use the .json resource.")


class InvalidParameter(DomainError):
    """400: a parameter is malformed (its name is in the detail, never its value)."""

    status = 400
    code = "invalid_parameter"
    title = "Invalid parameter"


class LocationRequired(InvalidParameter):
    """400: a report needs ``lat`` and ``long``, or ``address_string``."""

    code = "location_required"
    title = "Location required"

    def __init__(self) -> None:
        super().__init__("A location is required: lat and long, or address_string.")


class AttributeInvalid(InvalidParameter):
    """400: an ``attribute[code]`` names no attribute of the service or has an unusable value."""

    code = "attribute_invalid"
    title = "Invalid attribute"


class NotACitizen(Forbidden):
    """403: reports are made anonymously or by a citizen of the tenant, not by other tokens."""

    code = "forbidden"
    title = "Forbidden"


class TooManyReports(DomainError):
    """429: this client address reached the number of reports it may make per window;
    ``Retry-After`` says when the oldest one leaves the window."""

    status = 429
    code = "too_many_reports"
    title = "Too many reports"

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(
            "Too many reports from this address. Please retry later.",
            headers={"Retry-After": str(retry_after_seconds)},
        )
        self.retry_after_seconds = retry_after_seconds
