"""Cost estimation: GuardDuty per data source (tiered per account, region and month), CloudTrail's own
charges, and what the pipeline costs to run (Athena, S3 storage under the lifecycle, KMS).

``cost_summary(settings, source, start, end)`` is the one call to make; ``measure`` then
``estimate`` let a notebook price what-ifs without measuring again.
"""

from pipeline.cost.estimate import CostSummary, cost_summary, estimate, resolve_period
from pipeline.cost.prices import PriceBook, load_prices
from pipeline.cost.tiers import Tier, tiered_cost
from pipeline.cost.volumes import CostInputs, measure

__all__ = [
    "CostInputs",
    "CostSummary",
    "PriceBook",
    "Tier",
    "cost_summary",
    "estimate",
    "load_prices",
    "measure",
    "resolve_period",
    "tiered_cost",
]
