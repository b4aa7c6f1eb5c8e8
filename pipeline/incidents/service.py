"""Incidents from configuration and the findings store: what the CLI, the tick job and reports call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pipeline.config import ConfigError, Settings
from pipeline.findings.store import FindingsStore, open_findings_store
from pipeline.incidents.correlate import Incident, correlate
from pipeline.incidents.rules import Rule, RuleError, load_rules, parse_gap
from pipeline.incidents.score import ScoreWeights
from pipeline.times import iso_z, utcnow

ROUTES = ("finding", "incident")


@dataclass(frozen=True)
class IncidentConfig:
    """``[incidents]`` checked once: rules, weights, route, lookback, paging severity."""

    rules: list[Rule]
    weights: ScoreWeights
    route: str
    lookback: timedelta
    paging_severity: str
    first_seen_days: int
    routine_days: int = 2

    @classmethod
    def from_settings(cls, settings: Settings) -> IncidentConfig:
        from pipeline.findings.severity import check_severity

        raw: dict[str, Any] = settings["incidents"]
        try:
            rules = load_rules(raw.get("rules") or None)
            weights = ScoreWeights.from_config(raw)
            lookback = parse_gap(raw.get("lookback", "7d"), "[incidents] lookback")
            paging = check_severity(raw.get("paging_severity", "high"))
        except (RuleError, ValueError) as exc:
            raise ConfigError(str(exc) if str(exc).startswith(("[", "/")) else f"[incidents] {exc}") from None
        route = raw.get("route", "finding")
        if route not in ROUTES:
            raise ConfigError(f"[incidents] route: {route!r} is not one of {', '.join(ROUTES)}")
        days = raw.get("first_seen_days", 30)
        if isinstance(days, bool) or not isinstance(days, int) or days < 0:
            raise ConfigError(f"[incidents] first_seen_days: {days!r} is not a whole number >= 0")
        routine = raw.get("routine_days", 2)
        if isinstance(routine, bool) or not isinstance(routine, int) or routine < 0:
            raise ConfigError(f"[incidents] routine_days: {routine!r} is not a whole number >= 0")
        return cls(rules, weights, route, lookback, paging, days, routine)


def store_for(settings: Settings) -> FindingsStore:
    return open_findings_store(settings["findings_store"] or str(settings.data_dir))


def incidents_from_store(settings: Settings, store: FindingsStore | None = None,
                         since: datetime | None = None, until: datetime | None = None,
                         config: IncidentConfig | None = None) -> list[Incident]:
    """Incidents active since ``since`` (default: now minus ``[incidents] lookback``), best first.

    Findings from ``first_seen_days`` before ``since`` are read too: they decide first-seen
    behaviour and can be the start of an incident that is still going on.
    """
    config = config or IncidentConfig.from_settings(settings)
    store = store or store_for(settings)
    start = since or (utcnow() - config.lookback)
    history = start - timedelta(days=config.first_seen_days)
    frame = store.read(since=iso_z(history), until=iso_z(until) if until else None)
    rows = frame.to_dict(orient="records") if len(frame) else []
    return correlate(rows, config.rules, config.weights, first_seen_days=config.first_seen_days, since=start,
                     routine_days=config.routine_days)


def find_incident(incidents: list[Incident], wanted: str) -> Incident | None:
    """By full id, or by a unique prefix of it (as with git)."""
    exact = [i for i in incidents if i.incident_id == wanted]
    if exact:
        return exact[0]
    prefixed = [i for i in incidents if i.incident_id.startswith(wanted)]
    return prefixed[0] if len(prefixed) == 1 else None
