"""The two domain errors of the fee engine: a rule that cannot be accepted, a fee that cannot be
computed for this form data. Both are 422s; neither carries submitted values."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from city_shared.errors import DomainError, JsonValue

__all__ = ["FeeNotComputable", "InvalidFeeRule", "RuleError"]


@dataclass(frozen=True, slots=True)
class RuleError:
    """One finding about a rule: ``pointer`` is a JSON pointer (RFC 6901) into the rule document,
    e.g. ``/components/0/amount``; ``detail`` is for the rule's author."""

    pointer: str
    detail: str

    def as_json(self) -> dict[str, JsonValue]:
        return {"pointer": self.pointer, "detail": self.detail}


class InvalidFeeRule(DomainError):
    """422: the rule (with the tenant's values it was checked against) cannot be used.

    Extension member ``errors``: ``[{"pointer": "/components/0/amount", "detail": "..."}]``,
    every finding at once, in document order.
    """

    status = 422
    code = "invalid_fee_rule"
    title = "Invalid fee rule"

    def __init__(self, errors: Sequence[RuleError]) -> None:
        super().__init__(
            "The fee rule has errors; see 'errors'.",
            extra={"errors": [error.as_json() for error in errors]},
        )
        self.errors = tuple(errors)


class FeeNotComputable(DomainError):
    """422: the fee cannot be computed for this form data (a field is missing or of the wrong
    type, a result out of range, limits exceeded).

    Extension member ``pointer``: the JSON pointer of the expression that failed (``None`` when
    the form data itself is beyond the engine's limits; then ``limit`` names the limit).
    """

    status = 422
    code = "fee_not_computable"
    title = "Fee not computable"

    def __init__(self, detail: str, *, pointer: str | None, limit: str | None = None) -> None:
        extra: dict[str, JsonValue] = {"pointer": pointer}
        if limit is not None:
            extra["limit"] = limit
        super().__init__(detail, extra=extra)
        self.pointer = pointer
        self.limit = limit
