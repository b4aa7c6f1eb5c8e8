"""Tiered price maths: how much a quantity costs when each band of it has its own rate.

Kept apart from the price data and the volumes so the one piece of arithmetic every line item
relies on can be tested on its own, at and across every band boundary.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Tier:
    """One price band: ``rate`` dollars per ``per`` units, up to ``upto`` units in total (None: no end)."""

    rate: float
    upto: float | None = None


def tiered_cost(quantity: float, tiers: Sequence[Tier], per: float = 1.0) -> float:
    """Dollars for ``quantity`` units, each band priced at its own rate.

    ``upto`` bounds are cumulative (GuardDuty's "first 500 GB, next 2,000 GB" is written
    ``upto: 500`` then ``upto: 2500``). The quantity must be the volume of one tier scope
    (for GuardDuty: one account, one region, one month); callers never pool scopes.
    """
    if quantity < 0:
        raise ValueError(f"quantity {quantity!r} is negative")
    total, floor = 0.0, 0.0
    for tier in tiers:
        ceiling = quantity if tier.upto is None else min(quantity, tier.upto)
        if ceiling > floor:
            total += (ceiling - floor) * tier.rate / per
        if tier.upto is None or quantity <= tier.upto:
            break
        floor = tier.upto
    return total


def marginal_rate(quantity: float, tiers: Sequence[Tier], per: float = 1.0) -> float:
    """The rate of the band the next unit after ``quantity`` falls in (for what-if answers)."""
    for tier in tiers:
        if tier.upto is None or quantity < tier.upto:
            return tier.rate / per
    return tiers[-1].rate / per
