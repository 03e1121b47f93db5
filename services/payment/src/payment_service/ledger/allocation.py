"""Integer splitting of an amount across line items (largest remainder method).

Pure functions, no I/O: the ledger uses them to spread a refund over a payment's line items so
that the shares are whole cents, never exceed what each line item has left, and always add up.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["split_proportionally"]


def split_proportionally(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` into integer shares proportional to ``weights`` (largest remainder).

    Contract: ``sum(result) == total``; a zero weight gets zero; when ``total <= sum(weights)``
    no share exceeds its weight. Ties in the remainder go to the larger weight, then to the
    earlier position, so the split is deterministic.

    :raises ValueError: ``total`` or a weight is negative, or ``total > 0`` with no positive
        weight to carry it.
    """
    if total < 0 or any(w < 0 for w in weights):
        raise ValueError("total and weights must not be negative")
    base = sum(weights)
    if total == 0:
        return [0] * len(weights)
    if base == 0:
        raise ValueError("a positive total needs at least one positive weight")
    shares = [total * w // base for w in weights]
    remainders = [total * w % base for w in weights]
    leftover = total - sum(shares)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], -weights[i], i))
    for i in order[:leftover]:
        shares[i] += 1
    return shares
