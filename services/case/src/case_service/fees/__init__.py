"""The fee engine of the case service: fee rules as data (CEL expressions over form data and a
tenant's values), checked with :func:`check_rule` and priced with :func:`quote_fee`. Pure."""

from case_service.fees.errors import FeeNotComputable, InvalidFeeRule, RuleError
from case_service.fees.evaluate import QUOTE_TIME_BUDGET_SECONDS, check_rule, quote_fee
from case_service.fees.rules import (
    FEE_VALUES,
    MAX_AMOUNT,
    Collect,
    Component,
    Exemption,
    Expr,
    FeeLine,
    FeeQuote,
    FeeRule,
    FeeValue,
    FeeValues,
    FixedComponent,
    Label,
    Period,
    PerItemComponent,
    PerUnitComponent,
    Tier,
)

__all__ = [
    "FEE_VALUES",
    "MAX_AMOUNT",
    "QUOTE_TIME_BUDGET_SECONDS",
    "Collect",
    "Component",
    "Exemption",
    "Expr",
    "FeeLine",
    "FeeNotComputable",
    "FeeQuote",
    "FeeRule",
    "FeeValue",
    "FeeValues",
    "FixedComponent",
    "InvalidFeeRule",
    "Label",
    "PerItemComponent",
    "PerUnitComponent",
    "Period",
    "RuleError",
    "Tier",
    "check_rule",
    "quote_fee",
]
