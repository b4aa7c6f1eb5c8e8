"""trailguard: security analytics for an AWS organization's CloudTrail and GuardDuty data.

The analyst's entry points, importable straight from the package (``from pipeline import
load_findings, event_volume``); each is loaded on first use so the CLI starts fast.

- Setup: ``load_settings``, ``open_engine``, ``ingest_source`` (``pipeline.workflow.ingest``), ``detect``
- Findings and trends: ``load_findings``, ``findings_trend``, ``week_over_week``, ``top_principals``,
  ``top_actors``, ``top_source_ips``, ``event_volume``, ``top_apis``, ``first_seen``, ``guardduty_trends``,
  ``guardduty_by_family``, ``log_coverage``, ``coverage_health``
- Investigation: ``timeline``, ``principal_timeline``, ``pivot``, ``related_guardduty``,
  ``investigate_principal``, ``investigate_actor``, ``around_finding``
- Tuning: ``hit_rates``, ``suggest_suppression``, ``suppression_impact``
- Reports: ``build_weekly_report``, ``write_weekly_report``, ``parse_week``
- Cost: ``cost_summary``, ``CostSummary`` (``trailguard cost``)
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "load_settings": "pipeline.config",
    "Settings": "pipeline.config",
    "open_engine": "pipeline.workflow",
    "ingest_source": "pipeline.workflow:ingest",  # ``pipeline.lake.ingest`` is the module
    "detect": "pipeline.workflow",
    "record_findings": "pipeline.workflow",
    "load_findings": "pipeline.reports.trends",
    "findings_trend": "pipeline.reports.trends",
    "week_over_week": "pipeline.reports.trends",
    "top_principals": "pipeline.reports.trends",
    "top_actors": "pipeline.reports.trends",
    "top_source_ips": "pipeline.reports.trends",
    "event_volume": "pipeline.reports.trends",
    "top_apis": "pipeline.reports.trends",
    "first_seen": "pipeline.reports.trends",
    "guardduty_trends": "pipeline.reports.trends",
    "guardduty_by_family": "pipeline.reports.trends",
    "log_coverage": "pipeline.reports.trends",
    "coverage_health": "pipeline.reports.health",
    "timeline": "pipeline.reports.investigate",
    "principal_timeline": "pipeline.reports.investigate",
    "pivot": "pipeline.reports.investigate",
    "related_guardduty": "pipeline.reports.investigate",
    "investigate_principal": "pipeline.reports.investigate",
    "investigate_actor": "pipeline.reports.investigate",
    "around_finding": "pipeline.reports.investigate",
    "hit_rates": "pipeline.reports.tuning",
    "suppression_impact": "pipeline.reports.tuning",
    "suggest_suppression": "pipeline.reports.tuning",
    "build_weekly_report": "pipeline.reports.weekly",
    "write_weekly_report": "pipeline.reports.weekly",
    "parse_week": "pipeline.reports.weeks",
    "cost_summary": "pipeline.cost",
    "CostSummary": "pipeline.cost",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
    module, _, attribute = module.partition(":")
    value = getattr(importlib.import_module(module), attribute or name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
