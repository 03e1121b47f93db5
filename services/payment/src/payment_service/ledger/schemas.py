"""HTTP models of the ledger API: balances per account and department. Amounts in minor
units; ``balance`` is ``debit - credit`` (revenue accounts carry a credit balance, so theirs is
negative; a clearing account's is what the provider holds)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

__all__ = ["AccountBalanceRead", "CurrencyTotals", "LedgerBalances"]


class AccountBalanceRead(BaseModel):
    """One account's movements for one department in one currency."""

    account: str
    department: str | None
    currency: str
    debit: int
    credit: int
    balance: int


class CurrencyTotals(BaseModel):
    """All debits and credits in one currency; they are equal in a sound ledger."""

    currency: str
    debit: int
    credit: int


class LedgerBalances(BaseModel):
    """Balances of the tenant's ledger for the departments the caller may read, within the
    value dates (inclusive). ``balanced``: debits equal credits in every currency."""

    tenant: str
    departments: list[str] | None
    value_from: date | None
    value_to: date | None
    accounts: list[AccountBalanceRead]
    totals: list[CurrencyTotals]
    balanced: bool
