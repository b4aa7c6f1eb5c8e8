"""Findings into incidents: join rules link findings that share an entity within a gap, link rules
hand what an actor created to the actor, sequence rules raise incidents that follow a kill chain.

How the joining works: every finding yields entity keys (``actor:...``, ``user:ACCT/NAME``,
``access_key:AKIA...``, ``ip:1.2.3.4``, ...), each with the gap of the rule that named it. For
each key its findings are walked in time order; a finding joins the previous ones when it starts
before the latest ``end + gap`` among them. Joined findings are one incident (union-find, so
joins are transitive: the intruder's key links its CloudTrail findings, GuardDuty's finding about
the same user or address links in beside them).

Everything is a pure function of the findings given, so a scheduled runner and a batch run that
stored the same findings get the same incidents, and the incident id (a hash of the earliest
finding's id) is the same on every run.
"""

from __future__ import annotations

import fnmatch
import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pipeline.findings.severity import severity_rank, worst
from pipeline.incidents.entities import (
    FindingView,
    actor_of,
    created_key,
    identity_keys,
    indicator_values,
)
from pipeline.incidents.routine import PREFIX as ROUTINE
from pipeline.incidents.routine import routine_findings
from pipeline.incidents.rules import IDENTITY_KEYS, Rule
from pipeline.incidents.score import ScoreWeights, score_terms, sensitive_assets, total
from pipeline.incidents.tactics import TACTICS
from pipeline.times import parse_iso


@dataclass
class Incident:
    """One attack, one story: the findings that belong together and what they add up to."""

    incident_id: str
    actor: str | None
    actor_type: str
    finding_ids: list[str]
    first_seen: str
    last_seen: str
    severity: str
    score: int
    tactics: list[str]
    sequences: list[str]
    principals: list[str]
    access_keys: list[str]
    source_addresses: list[str]
    accounts: list[str]
    detections: list[str]
    sensitive_assets: list[str]
    first_seen_actor: bool
    score_terms: dict[str, int]
    narrative: list[str]
    joined_by: list[str] = field(default_factory=list)
    routine: bool = False  # every finding is its actor's routine (pipeline/incidents/routine.py)
    routine_findings: list[str] = field(default_factory=list)  # those of its findings that are
    findings: list[FindingView] = field(default_factory=list, repr=False)

    def to_dict(self, with_findings: bool = False) -> dict[str, Any]:
        data = asdict(self)
        data.pop("findings")
        if with_findings:
            data["findings"] = [asdict(f) for f in self.findings]
        return data

    @property
    def headline(self) -> str:
        chain = " → ".join(self.tactics) or "no ATT&CK tactic"
        return f"{self.actor or 'unknown actor'}: {len(self.finding_ids)} finding(s), {chain}"


def incident_id(first_finding_id: str) -> str:
    """Stable: the incident is named after its earliest finding (by first_seen, then id)."""
    return "inc-" + hashlib.sha256(f"incident:{first_finding_id}".encode()).hexdigest()[:20]


def _time(text: str) -> datetime:
    return parse_iso(text)


class _Union:
    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, item: int) -> int:
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item

    def join(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _ignored(address: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(address, p) for p in patterns)


def entity_keys(view: FindingView, rules: list[Rule]) -> list[tuple[str, timedelta, str]]:
    """(key, gap, rule id) for every key the join and link rules see on this finding."""
    out: list[tuple[str, timedelta, str]] = []
    identities = identity_keys(view)
    for rule in rules:
        if rule.kind == "join":
            indicators = indicator_values(view, rule.resource_fields)
            for kind in rule.keys:
                if kind in IDENTITY_KEYS:
                    out += [(key, rule.gap, rule.id) for key in identities[kind]]
                elif kind == "source_ip":
                    out += [(f"ip:{a}", rule.gap, rule.id) for a in indicators["source_ip"]
                            if not _ignored(a, rule.ignore_addresses)]
                elif kind == "record":
                    out += [(f"record:{r}", rule.gap, rule.id) for r in indicators["record"]]
                else:
                    out += [(f"resource:{r}", rule.gap, rule.id) for r in indicators["resource"]]
        elif rule.kind == "link":
            # The user side: whoever acts as a created entity (no gap of its own; the creator's reaches).
            for kind in dict.fromkeys(e.entity for e in rule.creates):
                out += [(key, timedelta(0), rule.id) for key in identities[kind]]
            for entry in rule.creates:
                value = view.context.get(entry.field)
                if entry.detection == view.detection_id and isinstance(value, str) and value:
                    key = created_key(entry.entity, value, view)
                    if key:
                        out.append((key, rule.gap, rule.id))
    return out


def _groups(views: list[FindingView], rules: list[Rule],
            routine: set[str] = frozenset()) -> tuple[list[list[int]], dict[int, set[str]]]:
    """Indices of joined findings (each group in time order) and, per finding, the rules that joined it.

    A routine finding's keys are its own (``routine:...``): it joins only other routine findings,
    except through a record it shares with another finding (two findings of one record are one thing).
    """
    widest: dict[str, dict[int, tuple[timedelta, str]]] = {}
    for index, view in enumerate(views):
        own = ROUTINE if view.finding_id in routine else ""
        for key, gap, rule_id in entity_keys(view, rules):
            key = key if key.startswith("record:") else own + key
            held = widest.setdefault(key, {})
            if index not in held or gap > held[index][0]:  # one key, two rules: the wider gap counts
                held[index] = (gap, rule_id)
    occurrences = {key: [(i, gap, rule) for i, (gap, rule) in held.items()] for key, held in widest.items()}
    union, why = _Union(len(views)), {i: set() for i in range(len(views))}
    starts = [_time(v.first_seen) for v in views]
    ends = [max(_time(v.last_seen), s) for v, s in zip(views, starts, strict=True)]
    for items in occurrences.values():
        items.sort(key=lambda item: (starts[item[0]], item[0]))
        reach: datetime | None = None
        anchor = -1
        for index, gap, rule_id in items:
            if reach is not None and starts[index] <= reach:
                why[index].add(rule_id)
                why[anchor].add(rule_id)
                union.join(anchor, index)
            anchor = index if reach is None or starts[index] > reach else anchor
            reach = max(reach, ends[index] + gap) if reach is not None and starts[index] <= reach \
                else ends[index] + gap
    groups: dict[int, list[int]] = {}
    for index in range(len(views)):
        groups.setdefault(union.find(index), []).append(index)
    return list(groups.values()), why


def matches_sequence(tactics_in_order: list[str], steps: tuple[str, ...]) -> bool:
    """Whether ``steps`` occur in this order (not necessarily adjacent)."""
    position = 0
    for tactic in tactics_in_order:
        if position < len(steps) and tactic == steps[position]:
            position += 1
    return position == len(steps)


def _narrative(views: list[FindingView]) -> list[str]:
    """One line per finding: when, what, the detail that matters, which tactic."""
    lines = []
    day = None
    for view in views:
        stamp = _time(view.first_seen)
        when = stamp.strftime("%H:%M") if stamp.date() == day else stamp.strftime("%Y-%m-%d %H:%M")
        day = stamp.date()
        ctx = view.context
        detail = [str(ctx[k]) for k in ("finding_type", "event_name", "target_user")
                  if isinstance(ctx.get(k), str)]
        if view.event_count > 1:
            detail.append(f"{view.event_count} records")
        if view.source_ip:
            detail.append(f"from {view.source_ip}")
        tactics = ", ".join(view.tactics) or "-"
        lines.append(f"{when} {view.title}" + (f" ({'; '.join(detail)})" if detail else "") + f" [{tactics}]")
    return lines


def _values(view: FindingView) -> list[str]:
    """What a finding touched, for the sensitive-asset patterns: its account, its principal and
    every ARN among its context values (policy, trail, bucket, key, secret ...)."""
    out = [v for v in (view.principal, view.account_id, actor_of(view)[0]) if v]
    for value in view.context.values():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and item.startswith("arn:"):
                out.append(item)
    return out


def _actor(views: list[FindingView]) -> tuple[str | None, str]:
    """The incident's actor: the most frequent identity among CloudTrail findings, else any."""
    ranked = [actor_of(v) for v in views if not v.is_guardduty] or [actor_of(v) for v in views]
    ranked = [a for a in ranked if a[0]]
    if not ranked:
        return None, "unknown"
    counts = Counter(a for a in ranked)
    return max(counts, key=lambda a: (counts[a], -ranked.index(a)))


def build_incident(views: list[FindingView], joined_by: set[str], sequences: list[Rule],
                   weights: ScoreWeights, history: Mapping[str, list[datetime]],
                   first_seen_days: int, routine: set[str] = frozenset()) -> Incident:
    """One incident from its findings (in time order)."""
    actor, actor_type = _actor(views)
    timeline = [t for v in views for t in v.tactics]
    tactics = list(dict.fromkeys(timeline))
    matched = [r for r in sequences if matches_sequence(timeline, r.steps)]
    severity = worst([v.severity for v in views] + [r.raise_to for r in matched], "low")
    keys = {k for v in views for k in identity_keys(v)["access_key"]}
    keys |= {f"access_key:{v.context['access_key_id']}" for v in views
             if isinstance(v.context.get("access_key_id"), str)}
    first = _time(views[0].first_seen)
    horizon = first - timedelta(days=first_seen_days)
    earlier = [t for t in history.get(actor or "", []) if horizon <= t < first]
    sensitive = sensitive_assets(dict.fromkeys(s for v in views for s in _values(v)), weights.sensitive)
    terms = score_terms(weights, worst([v.severity for v in views], "low"), len(tactics), len(matched),
                        len(sensitive), first_seen=not earlier)
    return Incident(
        incident_id=incident_id(views[0].finding_id), actor=actor, actor_type=actor_type,
        finding_ids=[v.finding_id for v in views], first_seen=views[0].first_seen,
        last_seen=max((v.last_seen for v in views), key=_time), severity=severity, score=total(terms),
        tactics=sorted(tactics, key=lambda t: (timeline.index(t), TACTICS.index(t))),
        sequences=[r.id for r in matched],
        principals=sorted({v.principal for v in views if v.principal}),
        access_keys=sorted(k.removeprefix("access_key:") for k in keys),
        source_addresses=sorted({v.source_ip for v in views if v.source_ip}),
        accounts=sorted({v.account_id for v in views if v.account_id}),
        detections=list(dict.fromkeys(v.detection_id for v in views)),
        sensitive_assets=sensitive, first_seen_actor=not earlier, score_terms=terms,
        narrative=_narrative(views), joined_by=sorted(joined_by), findings=list(views),
        routine=all(v.finding_id in routine for v in views),
        routine_findings=[v.finding_id for v in views if v.finding_id in routine],
    )


def correlate(findings: Iterable[Any], rules: list[Rule], weights: ScoreWeights, *,
              first_seen_days: int = 30, since: datetime | None = None,
              routine_days: int = 0) -> list[Incident]:
    """Incidents of ``findings`` (Finding objects, store rows or dicts), best first.

    ``since``: findings before it are history only (first-seen behaviour, joins), and incidents
    that ended before it are left out. ``routine_days``: see :mod:`pipeline.incidents.routine`
    (0, the default here, keeps every finding joinable; ``[incidents] routine_days`` sets it).
    """
    views = sorted((FindingView.of(f) for f in findings), key=lambda v: (_time(v.first_seen), v.finding_id))
    views = list({v.finding_id: v for v in views}.values())
    routine = routine_findings(views, routine_days=routine_days, first_seen_days=first_seen_days)
    groups, why = _groups(views, rules, routine)
    history: dict[str, list[datetime]] = {}
    for view in views:
        actor = actor_of(view)[0]
        if actor:
            history.setdefault(actor, []).append(_time(view.first_seen))
    sequences = [r for r in rules if r.kind == "sequence"]
    incidents = []
    for group in groups:
        members = [views[i] for i in group]
        incident = build_incident(members, {r for i in group for r in why[i]}, sequences, weights, history,
                                  first_seen_days, routine)
        if since is None or _time(incident.last_seen) >= since:
            incidents.append(incident)
    return rank(incidents)


def rank(incidents: list[Incident]) -> list[Incident]:
    """Highest score first; then the worse severity, the more recent, the id."""
    return sorted(incidents, key=lambda i: (-i.score, -severity_rank(i.severity),
                                            -_time(i.last_seen).timestamp(), i.incident_id))
