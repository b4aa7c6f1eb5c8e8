"""``trailguard resolve``: mark findings resolved in the findings store (who and why), and close
them in the incident tools that can (PagerDuty, Jira). With no such sink configured, the local
status is the whole of it: triage works without a ticket tool.

A thin layer over :func:`pipeline.sinks.factory.resolve_findings`. Finding ids are checked
against the findings store first, so a mistyped id is an error rather than a silent no-op
(PagerDuty accepts a resolve for any key); ``--unchecked`` skips that for findings the store
does not hold (e.g. the response function's notifications).

``--suppressed`` resolves what a suppression added after the fact covers: suppressions act
inside the SQL, so they stop *new* findings, but a page already open stays open until resolved.
:func:`pipeline.detections.suppressions.suppressed_findings` decides that from what a delivered finding
records (principal, account, region, source IP, and the context columns), and only when it can
decide every field of the rule: a rule on a field the finding does not carry (a user agent,
say) resolves nothing.
"""

from __future__ import annotations

from typing import Annotated

import typer

from pipeline.cli.common import ConfigOption, guarded, settings_for
from pipeline.cli.console import console, err_console, info, table
from pipeline.config import ConfigError
from pipeline.detections.suppressions import suppressed_findings


@guarded
def resolve(
    finding_ids: Annotated[list[str] | None,
                           typer.Argument(metavar="ID", help="Finding ids (see trailguard findings).")]
    = None,
    reason: Annotated[str, typer.Option(help="Why: kept with the status and on the Jira ticket.")] = "",
    by: Annotated[str | None,
                  typer.Option(metavar="NAME", help="Who decided (default: your login name).")] = None,
    suppressed: Annotated[bool, typer.Option("--suppressed", help="Also every stored finding an active "
                                             "suppression covers.")] = False,
    unchecked: Annotated[bool, typer.Option("--unchecked", help="Accept ids not in the store.")] = False,
    config: ConfigOption = None,
) -> None:
    """Resolve findings: status resolved in the store; PagerDuty alerts resolved, Jira tickets commented."""
    from pipeline.cli.findings import who
    from pipeline.findings.store import open_findings_store
    from pipeline.sinks.factory import build_sinks, resolve_findings
    from pipeline.times import iso_z_precise, utcnow

    settings = settings_for(config)
    reasons = {i.strip(): reason for i in finding_ids or [] if i.strip()}
    if not reasons and not suppressed:
        raise ConfigError("FINDING_IDS: give at least one finding id, or --suppressed")
    if not unchecked or suppressed:
        location = settings.findings_store
        frame = open_findings_store(location).read()
        known = set(frame["finding_id"]) if len(frame) else set()
        unknown = [i for i in reasons if i not in known and not unchecked]
        if unknown:
            raise ConfigError(f"finding {unknown[0]} is not in the findings store {location} "
                              "(check the id with trailguard findings, or pass --unchecked)")
        if suppressed:
            reasons |= {k: v for k, v in suppressed_findings(settings, frame).items() if k not in reasons}
    if not reasons:
        console.print("no finding to resolve: no active suppression covers a stored finding")
        return
    store = open_findings_store(settings["findings_store"] or str(settings.data_dir))
    stored = [i for i in reasons if i in known] if not unchecked or suppressed else list(reasons)
    for why in dict.fromkeys(reasons.values()):
        chosen = [i for i in stored if reasons[i] == why]
        store.set_status(chosen, "resolved", who(by), why, iso_z_precise(utcnow()))
    can_resolve = any(callable(getattr(s, "resolve", None)) for s in build_sinks(settings))
    results = []
    for why in dict.fromkeys(reasons.values()) if can_resolve else ():  # one call per reason, on its tickets
        results += resolve_findings(settings, [i for i, r in reasons.items() if r == why], why)
    rows = [(r.sink, r.finding_id, r.outcome) for r in results]
    rows += [("findings store", i, "resolved") for i in stored]
    console.print(table(f"Resolved {len(reasons)} finding(s)", ["sink", "finding", "outcome"], rows))
    if not can_resolve:
        info("no configured sink can resolve findings (jira, pagerduty): "
             "the status is kept in the findings store only")
    failed = {r.sink: r.error for r in results if r.error}
    for sink, error in failed.items():
        err_console.print(f"{sink}: {error}", markup=False, highlight=False, soft_wrap=True)
    if failed:
        raise typer.Exit(1)
