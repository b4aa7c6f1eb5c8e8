"""``trailguard resolve``: close delivered findings in the incident tools (PagerDuty, Jira).

A thin layer over :func:`pipeline.sinks.factory.resolve_findings`. Finding ids are checked
against the findings store first, so a mistyped id is an error rather than a silent no-op
(PagerDuty accepts a resolve for any key); ``--unchecked`` skips that for findings the store
does not hold (e.g. the response function's notifications).
"""

from __future__ import annotations

from typing import Annotated

import typer

from pipeline.cli_common import ConfigOption, guarded, settings_for
from pipeline.config import ConfigError
from pipeline.console import console, err_console, table


@guarded
def resolve(
    finding_ids: Annotated[list[str], typer.Argument(help="Finding ids (see trailguard findings).")],
    reason: Annotated[str, typer.Option(help="Why: recorded on the Jira ticket.")] = "",
    unchecked: Annotated[bool, typer.Option("--unchecked", help="Accept ids not in the store.")] = False,
    config: ConfigOption = None,
) -> None:
    """Resolve findings: PagerDuty alerts resolved, Jira tickets commented (and transitioned)."""
    from pipeline.findings_store import open_findings_store
    from pipeline.sinks.factory import resolve_findings

    settings = settings_for(config)
    ids = list(dict.fromkeys(i.strip() for i in finding_ids if i.strip()))
    if not ids:
        raise ConfigError("FINDING_IDS: give at least one finding id")
    if not unchecked:
        location = settings["findings_store"] or str(settings.data_dir)
        frame = open_findings_store(location).read()
        known = set(frame["finding_id"]) if len(frame) else set()
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise ConfigError(f"finding {unknown[0]} is not in the findings store {location} "
                              "(check the id with trailguard findings, or pass --unchecked)")
    results = resolve_findings(settings, ids, reason)
    console.print(table(f"Resolved {len(ids)} finding(s)", ["sink", "finding", "outcome"],
                        [(r.sink, r.finding_id, r.outcome) for r in results]))
    failed = {r.sink: r.error for r in results if r.error}
    for sink, error in failed.items():
        err_console.print(f"{sink}: {error}", markup=False, highlight=False, soft_wrap=True)
    if failed:
        raise typer.Exit(1)
