"""Correlation rules as data: ``rules/incidents/*.yaml``, one rule a file, each with examples.

Three kinds, each a few keys (checked here, one line naming the file and key when wrong):

- ``join``: findings sharing an entity key of the listed ``keys`` kinds (``actor``, ``user``,
  ``access_key``, ``instance``, ``source_ip``, ``resource``, ``record``) join when they lie within ``gap`` of
  each other. ``ignore_addresses`` (globs) and ``resource_fields`` (context fields naming a
  resource) tune the indicator kinds.
- ``link``: ``creates`` lists (detection, context field, entity kind): what a finding's actor
  created (a key, a user) belongs to the actor for ``gap`` after it.
- ``sequence``: ``steps`` are ATT&CK tactics; an incident whose findings cover them in this order
  is raised to ``raise_to``.

Rules live beside the package like ``queries/`` and ``glue/`` (not in ``queries/``, which holds
SQL only); ``[incidents] rules`` points at another folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from pipeline.findings.severity import check_severity
from pipeline.incidents.tactics import check_tactic
from pipeline.paths import INCIDENT_RULES_DIR

KINDS = ("join", "link", "sequence")
IDENTITY_KEYS = ("actor", "user", "access_key", "instance")
INDICATOR_KEYS = ("source_ip", "resource", "record")
_GAP = re.compile(r"^(\d+)\s*([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_ID = re.compile(r"^[a-z][a-z0-9_]*$")


class RuleError(ValueError):
    """A rule file that makes no sense; the message names the file and the key."""


def parse_gap(text: Any, where: str = "gap") -> timedelta:
    """``90s``, ``30m``, ``6h``, ``7d`` as a timedelta."""
    match = _GAP.match(str(text).strip())
    if not match:
        raise RuleError(f"{where}: {text!r} is not a duration like 30m, 6h or 7d")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


@dataclass(frozen=True)
class Creates:
    detection: str
    field: str
    entity: str


@dataclass
class Rule:
    """One correlation or sequence rule as loaded; ``examples`` are checked by the tests."""

    id: str
    kind: str
    title: str
    description: str
    path: Path
    keys: tuple[str, ...] = ()
    gap: timedelta = timedelta(hours=1)
    ignore_addresses: tuple[str, ...] = ()
    resource_fields: tuple[str, ...] = ()
    creates: tuple[Creates, ...] = ()
    steps: tuple[str, ...] = ()
    raise_to: str = "critical"
    examples: list[dict[str, Any]] = field(default_factory=list)


def _strings(data: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = data.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise RuleError(f"{where}: {key} must be a list of strings")
    return tuple(value)


def parse_rule(path: Path, data: Any) -> Rule:
    """A rule from its YAML mapping; RuleError names the file and key at fault."""
    where = str(path)
    if not isinstance(data, dict):
        raise RuleError(f"{where}: not a YAML mapping")
    rule_id, kind = data.get("id"), data.get("kind")
    if not isinstance(rule_id, str) or not _ID.match(rule_id) or rule_id != path.stem:
        raise RuleError(f"{where}: id must be the file name ({path.stem!r}), lower case")
    if kind not in KINDS:
        raise RuleError(f"{where}: kind {kind!r} is not one of {', '.join(KINDS)}")
    known = {"id", "kind", "title", "description", "examples", "keys", "gap", "ignore_addresses",
             "resource_fields", "creates", "steps", "raise_to"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise RuleError(f"{where}: unknown key {unknown[0]!r}")
    examples = data.get("examples") or []
    if not isinstance(examples, list) or not examples:
        raise RuleError(f"{where}: examples: at least one example is required")
    rule = Rule(rule_id, kind, str(data.get("title") or rule_id), str(data.get("description") or ""), path,
                examples=examples)
    if kind in ("join", "link"):
        rule.gap = parse_gap(data.get("gap", "1h"), f"{where}: gap")
    if kind == "join":
        rule.keys = _strings(data, "keys", where)
        bad = [k for k in rule.keys if k not in IDENTITY_KEYS + INDICATOR_KEYS]
        if not rule.keys or bad:
            known_keys = ", ".join(IDENTITY_KEYS + INDICATOR_KEYS)
            raise RuleError(f"{where}: keys: {bad or 'none'} (known: {known_keys})")
        rule.ignore_addresses = _strings(data, "ignore_addresses", where)
        rule.resource_fields = _strings(data, "resource_fields", where)
    elif kind == "link":
        entries = data.get("creates") or []
        if not isinstance(entries, list) or not entries:
            raise RuleError(f"{where}: creates: a list of {{detection, field, entity}} is required")
        for entry in entries:
            if not isinstance(entry, dict) or set(entry) != {"detection", "field", "entity"}:
                raise RuleError(f"{where}: creates: {entry!r} needs exactly detection, field and entity")
            if entry["entity"] not in ("user", "access_key"):
                raise RuleError(f"{where}: creates: entity {entry['entity']!r} is not user or access_key")
        rule.creates = tuple(Creates(str(e["detection"]), str(e["field"]), str(e["entity"])) for e in entries)
    else:
        try:
            rule.steps = tuple(check_tactic(s) for s in _strings(data, "steps", where))
            rule.raise_to = check_severity(data.get("raise_to", "critical"))
        except ValueError as exc:
            raise RuleError(f"{where}: {exc}") from None
        if len(rule.steps) < 2:
            raise RuleError(f"{where}: steps: a sequence needs at least two tactics")
    return rule


def load_rules(directory: Path | str | None = None) -> list[Rule]:
    """Every rule in ``directory`` (default ``rules/incidents``), sorted by id."""
    folder = Path(directory) if directory else INCIDENT_RULES_DIR
    if not folder.is_dir():
        raise RuleError(f"{folder}: no such rules folder")
    rules = []
    for path in sorted(folder.glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise RuleError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
        rules.append(parse_rule(path, data))
    if not rules:
        raise RuleError(f"{folder}: no *.yaml rules")
    return rules
