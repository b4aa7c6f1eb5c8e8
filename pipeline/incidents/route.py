"""Route incidents instead of findings: one Jira ticket, one PagerDuty page, one Slack thread per
incident (Web API; a webhook posts one message per change), updated as findings join.

An incident travels through the ordinary sinks as a finding of its own (detection ``incident``,
``finding_id`` = the incident id, ``event_ids`` = its finding ids), so everything the sinks do
for findings holds for incidents: Jira finds the ticket again by its id label and skips a
delivery it already wrote; PagerDuty folds a trigger with the same ``dedup_key`` into the open
alert. The delivery id hashes the incident's finding ids, so an incident that grew is an update
(a new description and a comment on the same ticket, a refresh of the same page) and one that
did not is not sent again. An incident whose computed id changed after it was routed (a late
finding earlier than its first; a finding bridging two incidents) keeps the id it was routed
under, found through the findings it shares with what was delivered.

The state (``incidents`` in the state store) remembers, per sink and incident, the finding ids
delivered: a second run sends nothing, and a lost state costs only repeats that idempotent sinks
drop (Slack through a webhook, which cannot deduplicate, posts an incident again after a lost
state; through the Web API it finds its thread and the delivery by message metadata). It is saved
after each sink, and a sink failure keeps what that sink did accept.

``[incidents] route = "incident"`` sends incidents to the Jira, PagerDuty and Slack sinks and stops
their per-finding delivery; the JSON lines and Security Hub sinks keep receiving findings (they
are records, not alerts). PagerDuty pages incidents at or above ``paging_severity``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pipeline.findings.model import Finding
from pipeline.findings.severity import severity_rank
from pipeline.incidents.correlate import Incident, rank
from pipeline.runs.state import LockHeld, StateStore
from pipeline.sinks.base import Delivery, Sink, SinkError, make_delivery
from pipeline.sinks.jira import JiraSink
from pipeline.sinks.pagerduty import PagerDutySink
from pipeline.sinks.slack import SlackSink
from pipeline.sinks.slack_api import SlackApiSink
from pipeline.times import iso_z, parse_iso

INCIDENT_DETECTION = "incident"
STATE_ID = "incidents"
ALERT_SINKS = (JiraSink, PagerDutySink, SlackSink, SlackApiSink)


def _inner(sink: Sink) -> Any:
    return getattr(sink, "inner", sink)


def is_alert_sink(sink: Sink) -> bool:
    """Jira, PagerDuty and Slack (routed or not): the sinks that get incidents when routing by incident."""
    return isinstance(_inner(sink), ALERT_SINKS)


def split_sinks(sinks: list[Sink], route: str) -> tuple[list[Sink], list[Sink]]:
    """(sinks that get findings, sinks that get incidents) for ``route``."""
    if route != "incident":
        return list(sinks), []
    return [s for s in sinks if not is_alert_sink(s)], [s for s in sinks if is_alert_sink(s)]


def incident_finding(incident: Incident) -> Finding:
    """The incident in the shape the sinks deliver."""
    accounts = incident.accounts
    regions = sorted({f.region for f in incident.findings if f.region})
    context = {
        "incident_id": incident.incident_id, "score": incident.score, "score_terms": incident.score_terms,
        "tactics": incident.tactics, "sequences": incident.sequences, "narrative": incident.narrative,
        "actor_type": incident.actor_type, "principals": incident.principals,
        "access_keys": incident.access_keys, "source_addresses": incident.source_addresses,
        "accounts": accounts, "detections": incident.detections,
        "sensitive_assets": incident.sensitive_assets,
    }
    chain = " → ".join(incident.tactics) or "no ATT&CK tactic"
    return Finding(
        detection_id=INCIDENT_DETECTION, finding_id=incident.incident_id, severity=incident.severity,
        title=f"Incident (score {incident.score}): {chain}", event_ids=list(incident.finding_ids),
        account_id=accounts[0] if len(accounts) == 1 else ", ".join(accounts) or None,
        region=regions[0] if len(regions) == 1 else ", ".join(regions) or None, principal=incident.actor,
        first_seen=incident.first_seen, last_seen=incident.last_seen, event_count=len(incident.finding_ids),
        source_ip=incident.source_addresses[0] if incident.source_addresses else None,
        attack=sorted({a for f in incident.findings for a in f.attack}),
        runbook="Work the incident as one: its timeline is below; each finding's runbook is in trailguard "
                f"(trailguard incidents show {incident.incident_id}).",
        dedup_key={"incident_id": incident.incident_id}, context=context,
    )


def accepts(sink: Sink, incident: Incident, paging_severity: str) -> bool:
    """Whether ``sink`` takes ``incident``: PagerDuty at the paging severity; others by their own
    severity band, and (routed by detection) when one of the incident's findings matches."""
    rank_ = severity_rank(incident.severity)
    if isinstance(_inner(sink), PagerDutySink):
        cap = getattr(sink, "max_severity", None)
        return rank_ >= severity_rank(paging_severity) and (cap is None or rank_ <= severity_rank(cap))
    if rank_ < severity_rank(sink.min_severity):
        return False
    if sink is _inner(sink):
        return True
    return any(sink.accepts(_member(incident, f)) for f in incident.findings)


def _member(incident: Incident, view: Any) -> Finding:
    """A member finding with the incident's severity, for a routed sink's detection filter."""
    return Finding(detection_id=view.detection_id, finding_id=view.finding_id, severity=incident.severity,
                   title=view.title, event_ids=view.event_ids, account_id=view.account_id, region=view.region,
                   principal=view.principal, first_seen=view.first_seen, last_seen=view.last_seen,
                   event_count=view.event_count)


@dataclass
class RouteReport:
    """What routing did: per sink, incidents opened and updated; errors by sink."""

    opened: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    skipped: str | None = None

    def lines(self) -> list[str]:
        if self.skipped:
            return [f"incident routing: {self.skipped}"]
        names = sorted(set(self.opened) | set(self.updated) | set(self.errors))
        return [f"incidents to {n}: {self.opened.get(n, 0)} opened, {self.updated.get(n, 0)} updated"
                + (f", error: {self.errors[n]}" if n in self.errors else "") for n in names]


def _key(sink: Sink, incident_id: str) -> str:
    return f"{sink.name}|{incident_id}"


def _routed_as(sink: Sink, incident: Incident, delivered: dict[str, Any]) -> str:
    """The id ``sink`` already knows this incident by: a late finding earlier than its first, or a
    finding bridging two incidents, changes the computed id; the ticket keeps the routed one."""
    prefix = f"{sink.name}|"
    if prefix + incident.incident_id in delivered:
        return incident.incident_id
    members = set(incident.finding_ids)
    known = [(d.first_seen or d.last_seen, key[len(prefix):]) for key, d in delivered.items()
             if key.startswith(prefix) and members & set(d.event_ids)]
    return min(known)[1] if known else incident.incident_id


def route_incidents(incidents: list[Incident], sinks: list[Sink], state_store: StateStore,
                    paging_severity: str = "high", now: datetime | None = None,
                    keep: timedelta = timedelta(days=45)) -> RouteReport:
    """Deliver what is new about each incident to each sink; oldest incident first."""
    report = RouteReport()
    ordered = sorted(rank(incidents), key=lambda i: (parse_iso(i.first_seen), i.incident_id))
    try:
        with state_store.lock(STATE_ID):
            state, version = state_store.load(STATE_ID)
            for sink in sinks:
                deliveries: list[Delivery] = []
                for incident in ordered:
                    if not accepts(sink, incident, paging_severity):
                        continue
                    routed = _routed_as(sink, incident, state.delivered)
                    known = state.delivered.get(_key(sink, routed))
                    if known is not None and set(incident.finding_ids) <= set(known.event_ids):
                        continue
                    finding = incident_finding(incident)
                    if routed != incident.incident_id:
                        finding.finding_id = finding.context["routed_as"] = routed
                    deliveries.append(make_delivery(finding, is_update=known is not None))
                done = [d.delivery_id for d in deliveries]
                try:
                    if deliveries:
                        sink.deliver(deliveries)
                except SinkError as exc:
                    done = list(exc.delivered)
                    report.errors[sink.name] = str(exc)
                for delivery in deliveries:
                    if delivery.delivery_id in done:
                        f = delivery.finding
                        state.record(_key(sink, f.finding_id), f.event_ids, f.last_seen, f.first_seen)
                        bucket = report.updated if delivery.is_update else report.opened
                        bucket[sink.name] = bucket.get(sink.name, 0) + 1
                if now is not None:
                    state.prune(iso_z(now - keep))
                version = state_store.save(state, version)
    except LockHeld as exc:
        report.skipped = str(exc)
    return report
