"""Routine findings: what an actor's detections report about it day after day is its baseline, not
part of someone's attack, so correlation does not join it to the actor's other findings.

Why: the same admin runs SSM commands or deploys Lambda code most days, and a detection that fires
on that is noise for this actor (the weekly report's tuning section counts it per actor). If such
a finding joined by actor, every change the admin makes within the hour after a routine command
would become one incident with it: the demo's admins merged their labelled changes with background
SSM findings that way. A finding is *routine* when the same detection reported the same actor on
at least ``routine_days`` distinct earlier days within ``first_seen_days`` before it.

Only earlier findings count (never later ones), so whether a finding is routine does not change as
the store grows: a scheduled tick and a batch run that stored the same findings agree, and an
incident never loses a finding it already had because of what happened afterwards. GuardDuty
findings are never routine (GuardDuty baselines its own findings), nor are high and critical ones
(what incidents exist for: a daily root sign-in or trail change is a problem to fix, not a baseline
to hide). ``routine_days = 0`` turns this off.

Routine findings still correlate with each other (the admin's three SSM commands in ten minutes are
one routine incident); they keep their own keys, prefixed ``routine:``, so they neither pull an
attack's findings in nor are pulled into one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta

from pipeline.findings.severity import severity_rank
from pipeline.incidents.entities import FindingView, actor_of
from pipeline.times import parse_iso

PREFIX = "routine:"


def routine_findings(views: Sequence[FindingView], *, routine_days: int, first_seen_days: int) -> set[str]:
    """The ids of ``views`` that are routine for their actor (see the module docstring)."""
    if routine_days <= 0:
        return set()
    days: dict[tuple[str, str], list[date]] = {}
    for view in views:
        actor = actor_of(view)[0]
        if actor and _eligible(view):
            days.setdefault((actor, view.detection_id), []).append(parse_iso(view.first_seen).date())
    routine = set()
    for view in views:
        actor = actor_of(view)[0]
        if not actor or not _eligible(view):
            continue
        today = parse_iso(view.first_seen).date()
        horizon = today - timedelta(days=first_seen_days)
        earlier = {d for d in days[(actor, view.detection_id)] if horizon <= d < today}
        if len(earlier) >= routine_days:
            routine.add(view.finding_id)
    return routine


def _eligible(view: FindingView) -> bool:
    return not view.is_guardduty and severity_rank(view.severity) < severity_rank("high")


def noise_by_actor(views: Iterable[FindingView], routine: set[str]) -> dict[str, int]:
    """Routine findings per actor: the count the weekly report's tuning section shows."""
    counts: dict[str, int] = {}
    for view in views:
        if view.finding_id in routine:
            actor = actor_of(view)[0] or "-"
            counts[actor] = counts.get(actor, 0) + 1
    return counts
