"""The line-item table every part of the estimate writes into, with its dtypes fixed in one place."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import pandas as pd

from pipeline.cost.prices import PriceItem

PIPELINE = "pipeline"  # the account that runs Athena and holds the log bucket and key
COLUMNS = (
    "month",
    "service",
    "item",
    "title",
    "account_id",
    "region",
    "detail",
    "basis",
    "unit",
    "observed",
    "quantity",
    "cost_usd",
    "price_basis",
)
CATEGORY_COLUMNS = tuple(c for c in COLUMNS if c not in ("observed", "quantity", "cost_usd"))


@dataclass
class Line:
    """One priced quantity: ``quantity`` per 30 days, ``observed`` in the period (NaN if configured)."""

    month: str
    service: str
    item: str
    title: str
    account_id: str
    region: str
    detail: str
    basis: str  # measured | configured | estimated | recorded
    unit: str
    observed: float
    quantity: float
    cost_usd: float
    price_basis: str


def line(
    price: PriceItem,
    month: str,
    account: str,
    region: str,
    basis: str,
    quantity: float,
    cost: float | None = None,
    observed: float = math.nan,
    detail: str = "",
    price_region: str | None = None,
) -> Line:
    """A line priced with ``price`` (tiers of ``price_region`` or ``region``) unless ``cost`` is given."""
    if cost is None:
        cost = price.cost(quantity, price_region or region)
    return Line(
        month,
        price.key.split(".")[0],
        price.key,
        price.title,
        account,
        region,
        detail,
        basis,
        price.unit,
        float(observed),
        float(quantity),
        float(cost),
        price.basis,
    )


def frame(lines: list[Line]) -> pd.DataFrame:
    """Lines as a DataFrame: labels as categories, quantities and money as float64."""
    table = pd.DataFrame([asdict(x) for x in lines], columns=list(COLUMNS))
    table = table.astype({c: "float64" for c in ("observed", "quantity", "cost_usd")})
    return table.astype({c: "category" for c in CATEGORY_COLUMNS})
