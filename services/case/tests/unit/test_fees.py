"""Unit tests of the fee engine: the demo rules priced with different towns' values, and every
way a rule or a form can be refused (always as a 422 domain error, never hanging)."""

from __future__ import annotations

from typing import Any

import cel
import pytest
from pydantic import ValidationError

from case_service.fees import (
    FEE_VALUES,
    MAX_AMOUNT,
    FeeNotComputable,
    FeeQuote,
    FeeRule,
    FeeValue,
    InvalidFeeRule,
    check_rule,
    quote_fee,
)


def rule(**document: Any) -> FeeRule:
    return FeeRule.model_validate(document)


def label(text: str) -> dict[str, str]:
    return {"de": text, "en": text}


def fixed(amount: str, **extra: Any) -> dict[str, Any]:
    return {"kind": "fixed", "label": label("Fee"), "amount": amount, **extra}


def pointers(error: InvalidFeeRule) -> list[str]:
    errors = error.extra["errors"]
    assert isinstance(errors, list)
    return [entry["pointer"] for entry in errors]


BIRTH_CERTIFICATE = rule(components=[fixed("values.birth_certificate")])

DOG_TAX = rule(
    collect="by_assessment",
    period="year",
    components=[
        {
            "kind": "per_item",
            "label": label("Dog tax"),
            "items": "data.dogs",
            "tiers": [
                {"label": label("Listed breed"), "when": "item.breed in values.listed_breeds",
                 "amount": "values.listed_dog"},
                {"label": label("First dog"), "when": "index == 0", "amount": "values.first_dog"},
                {"label": label("Further dog"), "when": None, "amount": "values.further_dog"},
            ],
        }
    ],
    exemptions=[{"label": label("Assistance dog"), "when": "data.reason == 'assistance_dog'"}],
)
TOWN_A_DOGS: dict[str, FeeValue] = {"first_dog": 10800, "further_dog": 18000, "listed_dog": 60000,
               "listed_breeds": ["pitbull", "rottweiler"]}
TOWN_B_DOGS: dict[str, FeeValue] = {"first_dog": 9000, "further_dog": 15000, "listed_dog": 50000,
               "listed_breeds": ["pitbull"]}
THREE_DOGS = {"reason": "pet", "dogs": [{"breed": "poodle"}, {"breed": "beagle"},
                                        {"breed": "pitbull"}]}


def test_the_same_birth_certificate_rule_costs_what_each_town_sets() -> None:
    check_rule(BIRTH_CERTIFICATE, {"birth_certificate": 1200}, sample_data={})

    town_a = quote_fee(BIRTH_CERTIFICATE, {"birth_certificate": 1200}, {})
    town_b = quote_fee(BIRTH_CERTIFICATE, {"birth_certificate": 1500}, {})

    assert (town_a.amount, town_a.due_now, town_a.currency) == (1200, 1200, "EUR")
    assert [(ln.quantity, ln.unit_amount, ln.amount) for ln in town_b.lines] == [(1, 1500, 1500)]


def test_resident_parking_permit_is_charged_per_year() -> None:
    permit = rule(period="year", components=[fixed("values.parking_permit")])

    quote = quote_fee(permit, {"parking_permit": 3070}, {"plate": "B-XY 123"})

    assert (quote.amount, quote.period, quote.due_now) == (3070, "year", 3070)


def test_dog_tax_prices_each_dog_by_the_first_matching_tier_in_each_town() -> None:
    check_rule(DOG_TAX, TOWN_A_DOGS, sample_data=THREE_DOGS)

    town_a = quote_fee(DOG_TAX, TOWN_A_DOGS, THREE_DOGS)
    town_b = quote_fee(DOG_TAX, TOWN_B_DOGS, THREE_DOGS)

    assert town_a.amount == 10800 + 18000 + 60000
    assert [(line.label.en, line.quantity, line.amount) for line in town_a.lines] == [
        ("First dog", 1, 10800), ("Further dog", 1, 18000), ("Listed breed", 1, 60000)
    ]
    assert town_b.amount == 9000 + 15000 + 50000


def test_dogs_priced_alike_share_one_line() -> None:
    dogs = {"reason": "pet", "dogs": [{"breed": "poodle"}] * 4}

    quote = quote_fee(DOG_TAX, TOWN_A_DOGS, dogs)

    assert [(line.label.en, line.quantity, line.unit_amount, line.amount)
            for line in quote.lines] == [("First dog", 1, 10800, 10800),
                                         ("Further dog", 3, 18000, 54000)]


def test_dog_tax_is_assessed_later_so_nothing_is_due_on_submission() -> None:
    quote = quote_fee(DOG_TAX, TOWN_A_DOGS, THREE_DOGS)

    assert quote.amount > 0
    assert quote.due_now == 0
    assert quote.model_dump()["due_now"] == 0


def test_an_exemption_makes_the_fee_zero_and_says_which() -> None:
    quote = quote_fee(DOG_TAX, TOWN_A_DOGS, {**THREE_DOGS, "reason": "assistance_dog"})

    assert quote.amount == 0
    assert quote.exempt is not None
    assert quote.exempt.en == "Assistance dog"
    assert quote.lines == []


def test_per_unit_multiplies_quantity_by_amount() -> None:
    copies = rule(components=[{"kind": "per_unit", "label": label("Copy"),
                               "quantity": "data.copies", "amount": "values.copy"}])

    assert quote_fee(copies, {"copy": 1000}, {"copies": 3}).amount == 3000
    assert quote_fee(copies, {"copy": 1000}, {"copies": 0}).lines == []


def test_a_component_applies_only_when_its_condition_holds() -> None:
    express = rule(components=[
        fixed("values.base"),
        fixed("values.express", when="has(data.express) && data.express"),
    ])
    values = {"base": 1200, "express": 500}

    assert quote_fee(express, values, {"express": True}).amount == 1700
    assert quote_fee(express, values, {"express": False}).amount == 1200
    assert quote_fee(express, values, {}).amount == 1200


def test_uint_amounts_are_accepted_and_no_components_cost_nothing() -> None:
    assert quote_fee(rule(components=[fixed("12u")]), {}, {}).amount == 12
    assert quote_fee(rule(), {}, {}).amount == 0


def test_models_export_json_schemas_with_examples_that_validate() -> None:
    schema = FeeRule.model_json_schema()
    example = FeeRule.model_validate(schema["examples"][0])
    quote_schema = FeeQuote.model_json_schema(mode="serialization")

    check_rule(example, TOWN_A_DOGS, sample_data=THREE_DOGS)
    assert "due_now" in quote_schema["properties"]
    assert FeeQuote.model_validate(
        {k: v for k, v in quote_schema["examples"][0].items() if k != "due_now"}
    ).due_now == 0


def test_rule_documents_refuse_unknown_members_and_limits() -> None:
    with pytest.raises(ValidationError):
        rule(components=[fixed("1", colour="red")])
    with pytest.raises(ValidationError):
        rule(components=[fixed("1" * 501)])
    with pytest.raises(ValidationError):
        rule(components=[fixed("1")] * 21)
    with pytest.raises(ValidationError):
        FEE_VALUES.validate_python({"Fee": 1})
    with pytest.raises(ValidationError):
        FEE_VALUES.validate_python({"fee": MAX_AMOUNT + 1})
    with pytest.raises(ValidationError):
        FEE_VALUES.validate_python({"fee": True})


def test_a_syntax_error_is_reported_at_its_expression() -> None:
    broken = rule(components=[fixed("values.fee"), fixed("values.fee +")])

    with pytest.raises(InvalidFeeRule) as caught:
        check_rule(broken, {"fee": 100})

    assert caught.value.status == 422
    assert caught.value.to_problem()["code"] == "invalid_fee_rule"
    assert pointers(caught.value) == ["/components/1/amount"]
    assert "Syntax error at 1:" in str(caught.value.extra["errors"])


def test_every_value_a_rule_reads_must_be_set() -> None:
    without_listed_dog = {k: v for k, v in TOWN_A_DOGS.items() if k != "listed_dog"}

    with pytest.raises(InvalidFeeRule) as caught:
        check_rule(DOG_TAX, without_listed_dog)

    assert pointers(caught.value) == ["/components/0/tiers/0/amount"]
    assert "values.listed_dog" in str(caught.value.extra["errors"])


def test_values_read_by_a_computed_key_or_unknown_variables_are_refused() -> None:
    sneaky = rule(components=[fixed("values['fe' + 'e']"), fixed("item.price"),
                              fixed("values['fee']")])

    with pytest.raises(InvalidFeeRule) as caught:
        check_rule(sneaky, {"fee": 1})

    assert pointers(caught.value) == ["/components/0/amount", "/components/1/amount"]


def test_sample_data_is_quoted_once() -> None:
    with pytest.raises(InvalidFeeRule) as caught:
        check_rule(DOG_TAX, TOWN_A_DOGS, sample_data={"reason": "pet", "dogs": 3})

    assert pointers(caught.value) == ["/components/0/items"]


@pytest.mark.parametrize(
    ("amount", "data"),
    [
        ("data.x", {"x": 12.0}),
        ("-5", {}),
        ("data.x", {"x": "1200"}),
        ("data.x", {"x": True}),
        ("data.x", {"x": None}),
        ("data.x", {"x": 2**70}),
        ("data.missing", {}),
        ("data.x * 2", {"x": "a"}),
        ("9223372036854775807 + data.x", {"x": 1}),
        ("10 / data.x", {"x": 0}),
        ("int(data.x)", {"x": "twelve"}),
        ("data.x[3]", {"x": [1]}),
    ],
)
def test_an_amount_that_is_not_a_non_negative_int_is_not_computable(
    amount: str, data: dict[str, object]
) -> None:
    with pytest.raises(FeeNotComputable) as caught:
        quote_fee(rule(components=[fixed("values.base"), fixed(amount)]), {"base": 1}, data)

    problem = caught.value.to_problem()
    assert (problem["status"], problem["code"]) == (422, "fee_not_computable")
    assert problem["pointer"] in {"/components/1/amount", None}
    assert "twelve" not in str(problem)
    assert "1200" not in str(problem)


def test_items_that_are_not_a_list_or_too_many_are_not_computable() -> None:
    doubled = rule(components=[{**DOG_TAX.model_dump()["components"][0],
                                "items": "data.dogs + data.dogs"}])
    for dogs in ("poodle", {"a": 1}):
        with pytest.raises(FeeNotComputable) as caught:
            quote_fee(DOG_TAX, TOWN_A_DOGS, {"reason": "pet", "dogs": dogs})
        assert caught.value.pointer == "/components/0/items"
    assert quote_fee(doubled, TOWN_A_DOGS, {"dogs": [{"breed": "x"}] * 50}).amount > 0
    with pytest.raises(FeeNotComputable) as caught:
        quote_fee(doubled, TOWN_A_DOGS, {"dogs": [{"breed": "x"}] * 51})
    assert caught.value.pointer == "/components/0/items"


def test_an_item_no_tier_prices_is_not_computable() -> None:
    only_listed = rule(components=[{
        "kind": "per_item", "label": label("Dog"), "items": "data.dogs",
        "tiers": [{"label": label("Listed"), "when": "item.breed == 'pitbull'", "amount": "1"}],
    }])

    with pytest.raises(FeeNotComputable) as caught:
        quote_fee(only_listed, {}, {"dogs": [{"breed": "pitbull"}, {"breed": "poodle"}]})

    assert caught.value.pointer == "/components/0/tiers"


def test_a_condition_that_is_not_a_bool_is_not_computable() -> None:
    truthy = rule(components=[fixed("1", when="data.count")])

    with pytest.raises(FeeNotComputable) as caught:
        quote_fee(truthy, {}, {"count": 1})

    assert caught.value.pointer == "/components/0/when"


def test_a_total_above_the_maximum_is_not_computable() -> None:
    expensive = rule(components=[fixed("values.fee"), fixed("values.fee")])
    values = {"fee": MAX_AMOUNT}

    assert quote_fee(rule(components=[fixed("values.fee")]), values, {}).amount == MAX_AMOUNT
    with pytest.raises(FeeNotComputable) as caught:
        quote_fee(expensive, values, {})
    assert caught.value.pointer == "/components/1"


def test_an_unchecked_rule_with_a_syntax_error_is_not_computable() -> None:
    with pytest.raises(FeeNotComputable) as caught:
        quote_fee(rule(components=[fixed("1 +")]), {}, {})

    assert caught.value.pointer == "/components/0/amount"


def nested(depth: int) -> dict[str, object]:
    data: dict[str, object] = {}
    for _ in range(depth):
        data = {"a": data}
    return data


@pytest.mark.parametrize(
    ("data", "limit"),
    [
        (nested(100_000), "depth"),  # this deep, the native library would crash the process
        ({"l": list(range(201))}, "collection"),
        ({"s": "x" * 10_001}, "string"),
        ({f"k{i}": list(range(100)) for i in range(100)}, "size"),
        ({"x": float("nan")}, "number"),
        ({"x": object()}, "type"),
        ({1: 2}, "type"),
    ],
)
def test_form_data_beyond_the_limits_is_not_computable(data: Any, limit: str) -> None:
    with pytest.raises(FeeNotComputable) as caught:
        quote_fee(BIRTH_CERTIFICATE, {"birth_certificate": 1200}, data)

    assert caught.value.limit == limit
    assert caught.value.pointer is None


# --- hostile expressions stay bounded ---------------------------------------------------------

ZEROS = "[" + ",".join(["0"] * 100) + "]"


def test_nested_comprehensions_map_and_computed_patterns_are_refused_before_they_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    twenty = "[" + ",".join(["0"] * 20) + "]"
    # 20**5 iterations: seconds of native work, if it ran.
    hostile = f"{twenty}.exists(a, {twenty}.exists(b, {twenty}.exists(c, {twenty}.exists(d, "
    hostile += f"{twenty}.exists(e, e == 1)))))"
    refused = [hostile, "[1].filter(x, x > 0) // .filter(y, y)", f"size({twenty}.map(x, x))",
               "data.s.matches(data.s + data.s)", "size([1].filter(x, [1].//\nexists(y, y)))"]

    with pytest.raises(InvalidFeeRule) as caught:
        check_rule(rule(components=[fixed("1", when=expr) for expr in refused]), {})
    assert pointers(caught.value) == [f"/components/{i}/when" for i in range(len(refused))]

    compiled: list[str] = []
    real_compile = cel.compile
    monkeypatch.setattr(cel, "compile", lambda e: compiled.append(e) or real_compile(e))
    with pytest.raises(FeeNotComputable):
        quote_fee(rule(components=[fixed("1", when=hostile)]), {}, {})
    assert hostile not in compiled


def test_one_comprehension_and_literal_patterns_are_allowed() -> None:
    listed = rule(components=[
        fixed("values.fee", when="data.dogs.exists(d, d.breed in values.listed)"),
        fixed("values.fee", when="data.plate.matches('^[A-Z]{1,3}-[A-Z]{1,2} [0-9]{1,4}$')"),
    ])
    values: dict[str, FeeValue] = {"fee": 100, "listed": ["pitbull"]}
    data = {"dogs": [{"breed": "pitbull"}], "plate": "B-XY 123"}

    check_rule(listed, values, sample_data=data)
    assert quote_fee(listed, values, data).amount == 200


def test_many_costly_evaluations_stop_at_the_time_budget() -> None:
    costly = f"size({ZEROS}.filter(x, x == 0)) > 1000"
    tiers: list[dict[str, Any]] = [{"label": label("Never"), "when": costly, "amount": "1"}] * 9
    tiers.append({"label": label("Always"), "when": None, "amount": "1"})
    slow = rule(components=[{"kind": "per_item", "label": label("Item"), "items": "data.l",
                             "tiers": tiers}] * 20)
    data = {"l": list(range(100))}

    with pytest.raises(FeeNotComputable) as caught:
        quote_fee(slow, {}, data, time_budget_seconds=0.2)

    assert caught.value.limit == "time"
    # Negative control: the same rule with one item finishes, so the budget is what stopped it.
    assert quote_fee(slow, {}, {"l": [0]}, time_budget_seconds=60.0).amount == 20


def test_compiled_programs_are_reused_across_quotes(monkeypatch: pytest.MonkeyPatch) -> None:
    quote_fee(DOG_TAX, TOWN_A_DOGS, THREE_DOGS)
    compiled: list[str] = []
    real_compile = cel.compile

    def counting_compile(expression: str) -> cel.Program:
        compiled.append(expression)
        return real_compile(expression)

    monkeypatch.setattr(cel, "compile", counting_compile)
    for _ in range(100):
        quote_fee(DOG_TAX, TOWN_A_DOGS, THREE_DOGS)

    assert compiled == []
