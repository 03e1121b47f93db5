"""The two use cases of the fee engine: :func:`check_rule` (is a rule usable with a tenant's
values?) and :func:`quote_fee` (what does it come to for this form?). Pure: no I/O, no clock
besides the time budget of a quote."""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator, Mapping
from typing import Final

import cel

from case_service.fees.errors import FeeNotComputable, InvalidFeeRule, RuleError
from case_service.fees.expressions import (
    ExpressionError,
    InputTooLarge,
    check_bounded,
    compile_expression,
    evaluate_amount,
    evaluate_bool,
    evaluate_list,
    free_variables,
    value_references,
)
from case_service.fees.rules import (
    MAX_AMOUNT,
    Component,
    FeeLine,
    FeeQuote,
    FeeRule,
    FeeValue,
    FixedComponent,
    Label,
    PerItemComponent,
    PerUnitComponent,
)

__all__ = ["QUOTE_TIME_BUDGET_SECONDS", "check_rule", "quote_fee"]

#: Wall time one quote may take. Each evaluation is bounded by the static limits (see
#: :mod:`case_service.fees.expressions`); this bounds their number times their cost.
QUOTE_TIME_BUDGET_SECONDS: Final = 1.0

_RULE_SCOPE: Final = frozenset({"data", "values"})
_TIER_SCOPE: Final = frozenset({"data", "values", "item", "index"})


def _expressions(rule: FeeRule) -> Iterator[tuple[str, str, frozenset[str]]]:
    """Every expression of ``rule`` in document order: (JSON pointer, source, variables)."""
    for i, exemption in enumerate(rule.exemptions):
        yield f"/exemptions/{i}/when", exemption.when, _RULE_SCOPE
    for i, component in enumerate(rule.components):
        at = f"/components/{i}"
        if component.when is not None:
            yield f"{at}/when", component.when, _RULE_SCOPE
        if isinstance(component, PerUnitComponent):
            yield f"{at}/quantity", component.quantity, _RULE_SCOPE
        if isinstance(component, FixedComponent | PerUnitComponent):
            yield f"{at}/amount", component.amount, _RULE_SCOPE
        if isinstance(component, PerItemComponent):
            yield f"{at}/items", component.items, _RULE_SCOPE
            for t, tier in enumerate(component.tiers):
                if tier.when is not None:
                    yield f"{at}/tiers/{t}/when", tier.when, _TIER_SCOPE
                yield f"{at}/tiers/{t}/amount", tier.amount, _TIER_SCOPE


@functools.lru_cache(maxsize=4096)
def _scope_error(expression: str, scope: frozenset[str]) -> str | None:
    """Why ``expression`` cannot be used where ``scope`` is bound, or ``None``."""
    try:
        compile_expression(expression)
    except ExpressionError as exc:
        return str(exc)
    unknown = free_variables(expression) - scope
    if unknown:
        return (
            f"Unknown variable(s) {', '.join(sorted(unknown))}; "
            f"available here: {', '.join(sorted(scope))}."
        )
    return None


def check_rule(
    rule: FeeRule,
    values: Mapping[str, FeeValue],
    *,
    sample_data: Mapping[str, object] | None = None,
) -> None:
    """Accept ``rule`` for use with ``values`` or raise :class:`InvalidFeeRule` listing every
    finding: syntax errors, the engine's limits, unknown variables, ``values.<name>`` not set
    in ``values`` (or ``values`` indexed by a computed key, which could not be checked) and,
    given ``sample_data``, what one quote of it fails on."""
    errors: list[RuleError] = []
    for pointer, expression, scope in _expressions(rule):
        problem = _scope_error(expression, scope)
        if problem is not None:
            errors.append(RuleError(pointer, problem))
            continue
        names, dynamic = value_references(expression)
        errors.extend(
            RuleError(pointer, f"values.{name} is not set in the values.")
            for name in sorted(names - values.keys())
        )
        if dynamic:
            errors.append(RuleError(pointer, "Read values by name (values.x), not computed keys."))
    if not errors and sample_data is not None:
        try:
            quote_fee(rule, values, sample_data)
        except FeeNotComputable as exc:
            errors.append(RuleError(exc.pointer or "", f"With the sample data: {exc.detail}"))
    if errors:
        raise InvalidFeeRule(errors)


class _Evaluation:
    """Evaluates one rule's expressions for one form, within a deadline; every failure becomes
    :class:`FeeNotComputable` with the expression's pointer."""

    def __init__(self, context: cel.Context, deadline: float) -> None:
        self.context = context
        self.deadline = deadline

    def _admit(self, pointer: str, expression: str, scope: frozenset[str]) -> None:
        if time.monotonic() > self.deadline:
            raise FeeNotComputable(
                "The fee took too long to compute.", pointer=pointer, limit="time"
            )
        problem = _scope_error(expression, scope)
        if problem is not None:
            raise FeeNotComputable(f"The expression at {pointer}: {problem}", pointer=pointer)

    def amount(self, pointer: str, expression: str, scope: frozenset[str] = _RULE_SCOPE) -> int:
        self._admit(pointer, expression, scope)
        try:
            return evaluate_amount(expression, self.context)
        except ExpressionError as exc:
            raise FeeNotComputable(f"The expression at {pointer}: {exc}", pointer=pointer) from None

    def holds(self, pointer: str, expression: str, scope: frozenset[str] = _RULE_SCOPE) -> bool:
        self._admit(pointer, expression, scope)
        try:
            return evaluate_bool(expression, self.context)
        except ExpressionError as exc:
            raise FeeNotComputable(f"The expression at {pointer}: {exc}", pointer=pointer) from None

    def items(self, pointer: str, expression: str) -> list[object]:
        self._admit(pointer, expression, _RULE_SCOPE)
        try:
            return list(evaluate_list(expression, self.context))
        except ExpressionError as exc:
            raise FeeNotComputable(f"The expression at {pointer}: {exc}", pointer=pointer) from None

    def bind_item(self, pointer: str, item: object, index: int) -> None:
        try:
            self.context.add_variable("item", item)
            self.context.add_variable("index", index)
        except Exception:
            raise FeeNotComputable(
                f"Item {index} of {pointer} cannot be evaluated.", pointer=pointer
            ) from None


def _component_lines(
    run: _Evaluation, at: str, component: Component
) -> list[FeeLine]:
    """The lines of one applicable component (no line for a quantity of 0)."""
    if isinstance(component, FixedComponent):
        unit = run.amount(f"{at}/amount", component.amount)
        return [FeeLine(label=component.label, quantity=1, unit_amount=unit, amount=unit)]
    if isinstance(component, PerUnitComponent):
        quantity = run.amount(f"{at}/quantity", component.quantity)
        unit = run.amount(f"{at}/amount", component.amount)
        if quantity == 0:
            return []
        return [
            FeeLine(label=component.label, quantity=quantity, unit_amount=unit,
                    amount=quantity * unit)
        ]
    # Items priced alike (same tier, same amount) share a line, in order of first appearance.
    counts: dict[tuple[int, int], int] = {}
    for index, item in enumerate(run.items(f"{at}/items", component.items)):
        run.bind_item(f"{at}/items", item, index)
        for t, tier in enumerate(component.tiers):
            tier_at = f"{at}/tiers/{t}"
            if tier.when is None or run.holds(f"{tier_at}/when", tier.when, _TIER_SCOPE):
                unit = run.amount(f"{tier_at}/amount", tier.amount, _TIER_SCOPE)
                counts[t, unit] = counts.get((t, unit), 0) + 1
                break
        else:
            raise FeeNotComputable(
                f"No tier of {at} prices item {index}.", pointer=f"{at}/tiers"
            )
    labels: list[Label] = [tier.label for tier in component.tiers]
    return [
        FeeLine(label=labels[t], quantity=quantity, unit_amount=unit, amount=quantity * unit)
        for (t, unit), quantity in counts.items()
    ]


def quote_fee(
    rule: FeeRule,
    values: Mapping[str, FeeValue],
    data: Mapping[str, object],
    *,
    currency: str = "EUR",
    time_budget_seconds: float = QUOTE_TIME_BUDGET_SECONDS,
) -> FeeQuote:
    """What ``rule`` comes to for the form ``data`` with the tenant's ``values``.

    Exemptions are evaluated first: the first that holds gives a quote of 0 without lines
    naming it. Otherwise every component whose ``when`` holds (or has none) adds its lines.
    Raises :class:`FeeNotComputable` (and nothing else) when an expression fails for this data,
    gives the wrong type, the total exceeds :data:`MAX_AMOUNT`, the inputs exceed the engine's
    limits, or the time budget runs out. Deterministic for the same inputs within the budget.
    """
    try:
        check_bounded(values, "fee values")
        check_bounded(data, "form data")
        context = cel.Context(variables={"data": data, "values": values})
    except InputTooLarge as exc:
        raise FeeNotComputable(str(exc), pointer=None, limit=exc.limit) from None
    except Exception:
        raise FeeNotComputable("The form data cannot be evaluated.", pointer=None) from None
    run = _Evaluation(context, time.monotonic() + time_budget_seconds)
    for i, exemption in enumerate(rule.exemptions):
        if run.holds(f"/exemptions/{i}/when", exemption.when):
            return FeeQuote(amount=0, currency=currency, collect=rule.collect,
                            period=rule.period, exempt=exemption.label, lines=[])
    lines: list[FeeLine] = []
    total = 0
    for i, component in enumerate(rule.components):
        at = f"/components/{i}"
        if component.when is not None and not run.holds(f"{at}/when", component.when):
            continue
        for line in _component_lines(run, at, component):
            total += line.amount
            if total > MAX_AMOUNT:
                raise FeeNotComputable(
                    f"The fee exceeds the maximum of {MAX_AMOUNT} cents at {at}.", pointer=at
                )
            lines.append(line)
    return FeeQuote(amount=total, currency=currency, collect=rule.collect, period=rule.period,
                    lines=lines)
