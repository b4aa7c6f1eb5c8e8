"""Incident routing as part of a scheduled tick: after the detections stored their findings, the
tick correlates the last ``[incidents] lookback`` of the store and routes what changed.

Because correlation reads the store (not the tick's deliveries), a killed tick, a late file or a
catch-up window only moves *when* a finding joins its incident, never *which* incident it joins:
the ticks converge on the incidents a batch run over the same period finds.
"""

from __future__ import annotations

from datetime import datetime

from pipeline.config import ConfigError
from pipeline.incidents.route import route_incidents
from pipeline.incidents.service import IncidentConfig, incidents_from_store
from pipeline.runs.scheduler import DetectionTick, Runner, TickJob, TickReport
from pipeline.sinks.base import Sink

JOB_ID = "incidents"


class IncidentTickJob:
    """A :data:`~pipeline.runs.scheduler.TickJob` routing incidents to ``sinks``."""

    def __init__(self, sinks: list[Sink], config: IncidentConfig) -> None:
        self.sinks, self.config = sinks, config

    def __call__(self, runner: Runner, now: datetime, report: TickReport) -> None:
        outcome = DetectionTick(JOB_ID)
        try:
            incidents = incidents_from_store(runner.settings, runner.store, since=now - self.config.lookback,
                                             config=self.config)
            routed = route_incidents(incidents, self.sinks, runner.state, self.config.paging_severity, now)
        except (ConfigError, OSError, ValueError) as exc:
            outcome.error = str(exc)
        else:
            outcome.new, outcome.updated = sum(routed.opened.values()), sum(routed.updated.values())
            outcome.skipped = routed.skipped
            outcome.error = "; ".join(f"{n}: {e}" for n, e in routed.errors.items()) or None
        report.ran.append(outcome)


def incident_tick_job(sinks: list[Sink], config: IncidentConfig) -> TickJob:
    """The tick job for ``make_runner``."""
    return IncidentTickJob(sinks, config)
