"""Estimate every Athena query's scan before it runs, and refuse one that is over budget.

``[athena] max_scan`` is the default budget per query (e.g. ``"10GB"``); a detection can have
its own (``[detections.<id>] max_scan = "2GB"``). The workgroup's per-query cutoff is honoured
too: Athena would cancel such a query only after charging for what it had scanned. The estimate
is made whether or not a limit applies, so each run records it beside the bytes Athena billed
(cost per detection in the weekly report); listings are cached for a few minutes, so the
detections of one tick list each partition prefix once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlglot
from sqlglot import exp

from pipeline.catalog.athena import catalog_settings
from pipeline.catalog.specs import LOGICAL_TABLES, CatalogError, load_specs
from pipeline.config import ConfigError, Settings
from pipeline.detections.spec import Detection
from pipeline.engines.base import EngineError
from pipeline.engines.scan_estimate import (
    BudgetExceeded,
    ListingCache,
    check_budget,
    columns_read,
    estimate_partitions,
    estimate_scan,
    parse_size,
    workgroup_cutoff,
)
from pipeline.engines.templating import partition_days

_UNSET = object()


def _size(value: Any, where: str) -> int | None:
    if value in (None, "", 0):
        return None
    try:
        return parse_size(value)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None


class ScanGuard:
    """Estimates each query's scan from the S3 objects of the partitions its window touches."""

    def __init__(self, settings: Settings, s3_client: Any, athena_client: Any) -> None:
        self.settings, self.s3, self.athena = settings, s3_client, athena_client
        self.catalog = catalog_settings(settings)
        self.default_budget = _size(settings["athena"].get("max_scan"), "athena.max_scan")
        self.workgroup = str(settings["athena"]["workgroup"])
        self.use_parquet = bool(settings["athena"].get("use_parquet"))
        self._cutoff: Any = _UNSET
        self.listings = ListingCache()

    def budget_for(self, detection: Detection) -> int | None:
        override = self.settings.detection_overrides(detection.id).get("max_scan")
        return _size(override, f"detections.{detection.id}.max_scan") or self.default_budget

    def cutoff(self) -> int | None:
        if self._cutoff is _UNSET:
            self._cutoff = workgroup_cutoff(self.athena, self.workgroup)
        return self._cutoff

    def check(self, detection: Detection, sql: str, start: datetime, end: datetime) -> int | None:
        """The estimated bytes of ``sql``; raises ``BudgetExceeded`` when over a limit.

        With no limit to enforce, an estimate that cannot be made (no projection lists configured,
        no permission to list the bucket) is ``None`` rather than an error: it is a record, not a gate.
        """
        budget, cutoff = self.budget_for(detection), self.cutoff()
        try:
            return self._estimate(detection, sql, start, end, budget, cutoff)
        except (CatalogError, EngineError) as exc:
            if budget is None and cutoff is None and not isinstance(exc, BudgetExceeded):
                return None
            raise

    def check_hot(self, batches: list[str]) -> int:
        """The hot-tier fetch of a tick: every object under the batches it names (a ``SELECT *``).

        Checked against ``[athena] max_scan`` and the workgroup cutoff like any detection; over
        either, the tick's hot detections are not run (``BudgetExceeded`` names the estimate).
        """
        spec = load_specs()["cloudtrail_hot"]
        estimate = estimate_partitions(self.s3, self.catalog, spec, batches, cache=self.listings)
        check_budget("hot_tier", estimate, self.default_budget, self.cutoff(), workgroup=self.workgroup)
        return estimate.bytes

    def _estimate(self, detection: Detection, sql: str, start: datetime, end: datetime,
                  budget: int | None, cutoff: int | None) -> int:
        specs = load_specs()
        days = partition_days(start, end)
        read = tables_read(sql)
        total = 0
        for logical in detection.tables:
            raw, parquet_name = LOGICAL_TABLES[logical]
            # The table the rendered SQL names (the Parquet twin once its days are compacted).
            chosen = parquet_name if parquet_name in read or (self.use_parquet and raw not in read) else raw
            spec = specs[chosen]
            parquet = spec.format == "parquet"
            estimate = estimate_scan(self.s3, self.catalog, spec, days,
                                     columns_read(sql, spec) if parquet else None, cache=self.listings)
            check_budget(detection.id, estimate, budget, cutoff, workgroup=self.workgroup)
            total += estimate.bytes
        return total


def tables_read(sql: str) -> set[str]:
    """Names of the tables a rendered query reads (unqualified, lower case)."""
    try:
        trees = [t for t in sqlglot.parse(sql, read="athena") if t is not None]
    except sqlglot.errors.ParseError:
        return set()
    return {t.name.lower() for tree in trees for t in tree.find_all(exp.Table)}
