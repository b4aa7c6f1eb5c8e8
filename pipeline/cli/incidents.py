"""``trailguard incidents``: findings correlated into incidents, ranked; ``show`` one; ``route`` them."""

from __future__ import annotations

import json
import re
import sys
from datetime import datetime, timedelta
from typing import Annotated

import typer
from rich.markup import escape

from pipeline.cli.common import ConfigOption, guarded, parse_when, settings_for
from pipeline.cli.console import console, table
from pipeline.config import ConfigError
from pipeline.times import utcnow

incidents_app = typer.Typer(help="Incidents: findings correlated by actor, indicator and time, scored.")
_RELATIVE = re.compile(r"^(\d+)([mhd])$")
FORMATS = ("table", "json")
SinceOption = Annotated[str | None, typer.Option(
    help="Incidents active since: a duration back from now (30m, 12h, 7d) or an ISO 8601 time "
         "(default: the lookback setting of the incidents section).")]


def parse_since(text: str | None) -> datetime | None:
    """``7d``/``12h``/``30m`` before now, or an ISO time; None for the configured lookback."""
    if text is None:
        return None
    match = _RELATIVE.match(text.strip())
    if match:
        unit = {"m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
        return utcnow() - timedelta(**{unit: int(match.group(1))})
    try:
        return parse_when(text, "--since")
    except ConfigError:
        raise ConfigError(f"--since {text!r} is neither a duration (7d, 12h, 30m) nor an ISO 8601 time") \
            from None


def _load(config, since: str | None):  # noqa: ANN001, ANN202 - Path | None, list[Incident]
    from pipeline.incidents.service import incidents_from_store

    settings = settings_for(config)
    return settings, incidents_from_store(settings, since=parse_since(since))


@incidents_app.callback(invoke_without_command=True)
@guarded
def incidents(
    ctx: typer.Context,
    since: SinceOption = None,
    output_format: Annotated[str, typer.Option("--format", help="table, or json (JSON lines).")] = "table",
    config: ConfigOption = None,
) -> None:
    """List incidents, best first: actor, span, tactics, score, severity and a one-line story."""
    if ctx.invoked_subcommand is not None:
        return
    if output_format not in FORMATS:
        raise ConfigError(f"--format {output_format!r} is not one of {', '.join(FORMATS)}")
    _, found = _load(config, since)
    if output_format == "json":
        for incident in found:
            sys.stdout.write(json.dumps(incident.to_dict(), sort_keys=True, default=str) + "\n")
        return
    rows = [(i.incident_id, i.score, i.severity, i.actor or "-", len(i.finding_ids), i.first_seen,
             i.last_seen, " → ".join(i.tactics) or "-", ", ".join(i.accounts)) for i in found]
    columns = ["incident", "score", "severity", "actor", "findings", "first seen", "last seen", "tactics",
               "accounts"]
    console.print(table(f"{len(found)} incident(s)", columns, rows))


@incidents_app.command("show")
@guarded
def show(
    incident_id: Annotated[str, typer.Argument(help="Incident id (or a unique prefix).")],
    since: SinceOption = None,
    output_format: Annotated[str, typer.Option("--format", help="text, or json.")] = "text",
    config: ConfigOption = None,
) -> None:
    """One incident: who, what it spans, the score's terms, and the timeline with each finding's records."""
    from pipeline.incidents.service import find_incident

    if output_format not in ("text", "json"):
        raise ConfigError(f"--format {output_format!r} is not one of text, json")
    _, found = _load(config, since)
    incident = find_incident(found, incident_id)
    if incident is None:
        raise ConfigError(f"no incident {incident_id!r} in the period (see trailguard incidents; "
                          "widen --since)")
    if output_format == "json":
        sys.stdout.write(json.dumps(incident.to_dict(with_findings=True), sort_keys=True, default=str) + "\n")
        return
    say = lambda text: console.print(escape(text), highlight=False, soft_wrap=True)  # noqa: E731
    say(f"{incident.incident_id}  {incident.severity.upper()}  score {incident.score}")
    say(incident.headline)
    for name, values in (("principals", incident.principals), ("access keys", incident.access_keys),
                         ("source addresses", incident.source_addresses), ("accounts", incident.accounts),
                         ("sequences", incident.sequences), ("sensitive assets", incident.sensitive_assets),
                         ("joined by", incident.joined_by)):
        say(f"{name}: {', '.join(values) or '-'}")
    say(f"from {incident.first_seen} to {incident.last_seen}")
    say("score: " + " + ".join(f"{term} {points}" for term, points in incident.score_terms.items())
        + f" = {incident.score} (capped at 100)")
    say("timeline:")
    for line, view in zip(incident.narrative, incident.findings, strict=True):
        say(f"  {line}")
        shown = ", ".join(view.event_ids[:10]) + (f" and {len(view.event_ids) - 10} more"
                                                  if len(view.event_ids) > 10 else "")
        say(f"      {view.detection_id} {view.finding_id} {view.severity}; records: {shown or '-'}")


@incidents_app.command("route")
@guarded
def route(since: SinceOption = None, config: ConfigOption = None) -> None:
    """Deliver incidents now to the Jira, PagerDuty and Slack sinks (what each scheduled tick does
    when the incidents section says route = "incident"); what was already delivered is not sent again."""
    from pipeline.incidents.route import route_incidents, split_sinks
    from pipeline.incidents.service import IncidentConfig, incidents_from_store
    from pipeline.runs.state import open_state_store
    from pipeline.sinks.factory import build_sinks

    settings = settings_for(config)
    incident_config = IncidentConfig.from_settings(settings)
    _, sinks = split_sinks(build_sinks(settings), "incident")
    if not sinks:
        raise ConfigError("sinks: no Jira, PagerDuty or Slack sink is configured to route incidents to")
    found = incidents_from_store(settings, since=parse_since(since), config=incident_config)
    state = open_state_store(settings["state"] or str(settings.data_dir / "state"))
    report = route_incidents(found, sinks, state, incident_config.paging_severity, utcnow())
    for line in report.lines():
        console.print(escape(line), highlight=False)
    if report.errors:
        raise typer.Exit(1)
