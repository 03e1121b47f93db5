"""The fee rule document and the quote it produces, as pydantic models (their JSON schemas carry
examples for the library API's OpenAPI). Shape only: expressions are checked by
:func:`case_service.fees.check_rule`."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal, TypeAlias

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    StringConstraints,
    TypeAdapter,
    computed_field,
)
from pydantic.config import JsonValue

__all__ = [
    "FEE_VALUES",
    "MAX_AMOUNT",
    "Collect",
    "Component",
    "Exemption",
    "Expr",
    "FeeLine",
    "FeeQuote",
    "FeeRule",
    "FeeValue",
    "FeeValues",
    "FixedComponent",
    "Label",
    "PerItemComponent",
    "PerUnitComponent",
    "Period",
    "Tier",
]

#: The largest amount (cents) a value, a line or a quote may have: 10 million euros.
MAX_AMOUNT = 10_000_000_00

#: A CEL expression. Variables: ``data`` (form data), ``values`` (the tenant's fee values) and, in
#: the tiers of a ``per_item`` component, ``item`` and ``index``.
Expr: TypeAlias = Annotated[
    str,
    StringConstraints(min_length=1, max_length=500),
    Field(examples=["values.birth_certificate", "data.copies", "data.reason == 'assistance_dog'"]),
]

ValueName: TypeAlias = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
_ShortText: TypeAlias = Annotated[StrictStr, StringConstraints(max_length=200)]
#: One tenant value: an amount in cents, a short text, or a list of short texts.
FeeValue: TypeAlias = (
    Annotated[StrictInt, Field(ge=0, le=MAX_AMOUNT)]
    | _ShortText
    | Annotated[list[_ShortText], Field(max_length=200)]
)
#: The values a tenant sets for one rule (part of its versioned parameters).
FeeValues: TypeAlias = Annotated[dict[ValueName, FeeValue], Field(max_length=100)]
#: Validates a tenant's values (where parameters are stored): ``FEE_VALUES.validate_python(raw)``.
FEE_VALUES: TypeAdapter[dict[str, int | str | list[str]]] = TypeAdapter(FeeValues)

_Text: TypeAlias = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class Collect(StrEnum):
    """When the fee is due: with the submission, or assessed later (an annual tax)."""

    ON_SUBMISSION = "on_submission"
    BY_ASSESSMENT = "by_assessment"


class Period(StrEnum):
    """Whether the amount is charged once or per year."""

    ONCE = "once"
    YEAR = "year"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Label(_Model):
    """A text shown to people, in German and English."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"de": "Gebühr", "en": "Fee"}]})

    de: _Text
    en: _Text


class FixedComponent(_Model):
    """One line of ``amount`` cents."""

    kind: Literal["fixed"] = "fixed"
    label: Label
    amount: Expr
    when: Expr | None = None


class PerUnitComponent(_Model):
    """One line of ``quantity`` times ``amount`` cents (e.g. copies of a certificate)."""

    kind: Literal["per_unit"] = "per_unit"
    label: Label
    quantity: Expr
    amount: Expr
    when: Expr | None = None


class Tier(_Model):
    """Prices an item when ``when`` holds (``None``: always); ``item`` and ``index`` are bound."""

    label: Label
    when: Expr | None = None
    amount: Expr


class PerItemComponent(_Model):
    """Each element of the list ``items`` is priced by the first tier whose ``when`` holds; an
    element no tier matches makes the fee not computable."""

    kind: Literal["per_item"] = "per_item"
    label: Label
    items: Expr
    tiers: Annotated[list[Tier], Field(min_length=1, max_length=10)]
    when: Expr | None = None


Component: TypeAlias = Annotated[
    FixedComponent | PerUnitComponent | PerItemComponent, Field(discriminator="kind")
]


class Exemption(_Model):
    """When ``when`` holds, nothing is due and the quote names this exemption."""

    label: Label
    when: Expr


_DOG_TAX_EXAMPLE: dict[str, JsonValue] = {
    "collect": "by_assessment",
    "period": "year",
    "components": [
        {
            "kind": "per_item",
            "label": {"de": "Hundesteuer", "en": "Dog tax"},
            "items": "data.dogs",
            "tiers": [
                {
                    "label": {"de": "Listenhund", "en": "Listed breed"},
                    "when": "item.breed in values.listed_breeds",
                    "amount": "values.listed_dog",
                },
                {
                    "label": {"de": "Erster Hund", "en": "First dog"},
                    "when": "index == 0",
                    "amount": "values.first_dog",
                },
                {
                    "label": {"de": "Weiterer Hund", "en": "Further dog"},
                    "when": None,
                    "amount": "values.further_dog",
                },
            ],
        }
    ],
    "exemptions": [
        {
            "label": {"de": "Assistenzhund", "en": "Assistance dog"},
            "when": "has(data.reason) && data.reason == 'assistance_dog'",
        }
    ],
}


class FeeRule(_Model):
    """A fee as data: platform-wide per administrative service; amounts come from ``values``.

    No components means no fee. The total is the sum of the lines; any true exemption makes
    it 0.
    """

    model_config = ConfigDict(json_schema_extra={"examples": [_DOG_TAX_EXAMPLE]})

    collect: Collect = Collect.ON_SUBMISSION
    period: Period = Period.ONCE
    components: Annotated[list[Component], Field(max_length=20)] = []
    exemptions: Annotated[list[Exemption], Field(max_length=20)] = []


class FeeLine(_Model):
    """One line of a quote: ``amount == quantity * unit_amount`` cents."""

    label: Label
    quantity: int
    unit_amount: int
    amount: int


class FeeQuote(_Model):
    """What a fee comes to for one form. ``amount`` is in minor units of ``currency``;
    ``due_now`` is what must be paid with the submission (0 when assessed later)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "amount": 28800,
                    "currency": "EUR",
                    "collect": "by_assessment",
                    "period": "year",
                    "exempt": None,
                    "lines": [
                        {
                            "label": {"de": "Erster Hund", "en": "First dog"},
                            "quantity": 1,
                            "unit_amount": 10800,
                            "amount": 10800,
                        },
                        {
                            "label": {"de": "Weiterer Hund", "en": "Further dog"},
                            "quantity": 1,
                            "unit_amount": 18000,
                            "amount": 18000,
                        },
                    ],
                    "due_now": 0,
                }
            ]
        }
    )

    amount: int
    currency: str
    collect: Collect
    period: Period
    exempt: Label | None = None
    lines: list[FeeLine] = []

    @computed_field  # type: ignore[prop-decorator]
    @property
    def due_now(self) -> int:
        """The amount if it is collected on submission, else 0."""
        return self.amount if self.collect is Collect.ON_SUBMISSION else 0
