"""Who acted and what a finding points at, from what findings carry.

A finding of the identity work carries a resolved ``actor`` (and ``actor_type``); that wins. A
finding without one gets an actor derived here: the principal ARN (an assumed-role session is the
role plus its session name; an IAM user, root or federated user is itself), or for a GuardDuty
finding the IAM user, role or instance it is about. Besides the actor, a finding yields entity
keys (``kind:value``) that correlation rules join on: the IAM user, the access key, the instance,
the source address and the resources it names.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from pipeline.incidents.tactics import finding_tactics

GUARDDUTY = "guardduty_finding"
_ASSUMED = re.compile(r"^arn:aws[a-z-]*:sts::(\d{12}):assumed-role/([^/]+)/(.+)$")
_USER = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):user/(?:.*/)?([^/]+)$")
_ROOT = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):root$")
_FEDERATED = re.compile(r"^arn:aws[a-z-]*:sts::(\d{12}):federated-user/(.+)$")
_KEY = re.compile(r"^(AKIA|ASIA)[A-Z0-9]{12,}$")
#: Context fields that hold the access key the actor used (not one it created).
ACTOR_KEY_FIELDS = ("actor_access_key", "accesskeyid", "user_access_key", "access_key_id")


@dataclass
class FindingView:
    """The parts of a finding (a store row, a :class:`Finding` or a plain dict) correlation reads."""

    finding_id: str
    detection_id: str
    severity: str
    title: str
    first_seen: str
    last_seen: str
    account_id: str | None = None
    region: str | None = None
    principal: str | None = None
    source_ip: str | None = None
    event_count: int = 1
    attack: list[str] = field(default_factory=list)
    context: dict[str, Any] = field(default_factory=dict)
    event_ids: list[str] = field(default_factory=list)
    actor: str | None = None
    actor_type: str | None = None

    @classmethod
    def of(cls, item: Any) -> FindingView:
        """From a dict (a store row, JSON) or any object with the finding's attributes."""
        data = item if isinstance(item, dict) else {k: getattr(item, k, None) for k in _FIELDS}
        context = data.get("context") or {}
        if isinstance(context, str):
            context = json.loads(context) if context.strip() else {}
        first = str(data.get("first_seen") or "")
        last = str(data.get("last_seen") or first)
        if data.get("detection_id") == GUARDDUTY and context.get("activity_first_seen"):
            # A GuardDuty finding's time is its latest update (hours later for a recurring one);
            # the activity it reports is what lines up with the CloudTrail findings.
            first = str(context["activity_first_seen"])
            last = str(context.get("activity_last_seen") or first)
        return cls(
            finding_id=str(data["finding_id"]), detection_id=str(data.get("detection_id") or "finding"),
            severity=str(data.get("severity") or "low").lower(), title=str(data.get("title") or ""),
            first_seen=first, last_seen=last,
            account_id=_text(data.get("account_id")), region=_text(data.get("region")),
            principal=_text(data.get("principal")), source_ip=_text(data.get("source_ip")),
            event_count=int(data.get("event_count") or 1), attack=[str(a) for a in data.get("attack") or []],
            context=dict(context), event_ids=[str(e) for e in data.get("event_ids") or []],
            actor=_text(data.get("actor")), actor_type=_text(data.get("actor_type")),
        )

    @property
    def is_guardduty(self) -> bool:
        return self.detection_id == GUARDDUTY

    @property
    def tactics(self) -> list[str]:
        return finding_tactics(self.attack, self.context.get("finding_type") if self.is_guardduty else None)


_FIELDS = tuple(FindingView.__dataclass_fields__)


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value).strip()
    return text or None


def _account_of(view: FindingView) -> str:
    return view.account_id or "-"


def derive_actor(view: FindingView) -> tuple[str | None, str]:
    """(actor, actor_type) for a finding without a resolved one."""
    if view.is_guardduty:
        ctx = view.context
        name = _text(ctx.get("user_name")) or (view.principal if ctx.get("resource_type") == "AccessKey"
                                               else None)
        kind = str(ctx.get("user_type") or "")
        if name and name not in ("GeneratedFindingUserName",):
            if kind == "Root" or name == "Root":
                return f"arn:aws:iam::{_account_of(view)}:root", "root"
            if kind == "AssumedRole":
                return f"arn:aws:iam::{_account_of(view)}:role/{name}", "role"
            return f"arn:aws:iam::{_account_of(view)}:user/{name}", "user"
        instance = _text(ctx.get("instance_id")) or (
            view.principal if str(view.principal or "").startswith("i-") else None)
        if instance:
            return f"instance:{_account_of(view)}/{instance}", "instance"
        return (view.principal, "resource") if view.principal else (None, "unknown")
    principal = view.principal or ""
    match = _ASSUMED.match(principal)
    if match:
        return f"arn:aws:sts::{match.group(1)}:assumed-role/{match.group(2)}/{match.group(3)}", "role_session"
    if _USER.match(principal):
        return principal, "user"
    if _ROOT.match(principal):
        return principal, "root"
    if _FEDERATED.match(principal):
        return principal, "federated"
    return (principal or None), ("service" if principal.endswith(".amazonaws.com") else "unknown")


def actor_of(view: FindingView) -> tuple[str | None, str]:
    """The resolved actor when the finding has one, else the derived one."""
    if view.actor:
        return view.actor, view.actor_type or "resolved"
    return derive_actor(view)


def _user_key(account: str, name: str) -> str:
    return f"user:{account}/{name}"


def identity_keys(view: FindingView) -> dict[str, set[str]]:
    """Entity keys by kind (actor, user, access_key, instance): who acted."""
    actor, _ = actor_of(view)
    keys: dict[str, set[str]] = {"actor": set(), "user": set(), "access_key": set(), "instance": set()}
    if actor:
        keys["actor"].add(f"actor:{actor}")
    for candidate in (actor, view.principal if not view.is_guardduty else None):
        match = _USER.match(candidate or "")
        if match:
            keys["user"].add(_user_key(match.group(1), match.group(2)))
    ctx = view.context
    if view.is_guardduty:
        name = _text(ctx.get("user_name"))
        if name and ctx.get("user_type", "IAMUser") == "IAMUser" and name != "GeneratedFindingUserName":
            keys["user"].add(_user_key(_account_of(view), name))
        instance = _text(ctx.get("instance_id"))
        if instance and instance != "i-99999999":
            keys["instance"].add(f"instance:{_account_of(view)}/{instance}")
    for name in ACTOR_KEY_FIELDS:
        value = _text(ctx.get(name))
        if value and _KEY.match(value) and not (name == "access_key_id" and _creates_key(view)):
            keys["access_key"].add(f"access_key:{value}")
    return keys


def _creates_key(view: FindingView) -> bool:
    """A CreateAccessKey finding's ``access_key_id`` is the key it made, not the one it used."""
    return view.detection_id == "iam_access_key_created" or ctx_event(view) == "CreateAccessKey"


def ctx_event(view: FindingView) -> str | None:
    value = view.context.get("event_name")
    return value if isinstance(value, str) else None


def created_key(kind: str, value: str, view: FindingView) -> str | None:
    """The entity key of something ``view``'s actor created (a user name is per account)."""
    if kind == "user":
        match = _USER.match(value)
        return _user_key(match.group(1), match.group(2)) if match else _user_key(_account_of(view), value)
    if kind == "access_key":
        return f"access_key:{value}" if _KEY.match(value) else None
    return f"{kind}:{value}"


def indicator_values(view: FindingView, resource_fields: tuple[str, ...]) -> dict[str, set[str]]:
    """Source addresses and named resources (raw values; rules decide which to ignore)."""
    addresses = {view.source_ip} if view.source_ip else set()
    for name in ("source_ips", "remote_ip"):
        value = view.context.get(name)
        addresses.update(str(v) for v in (value if isinstance(value, list) else [value]) if v)
    resources = set()
    for name in resource_fields:
        value = view.context.get(name)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and item.strip():
                resources.add(f"{_account_of(view)}/{name}/{item.strip()}")
    records = set() if view.is_guardduty else set(view.event_ids)  # GuardDuty's ids are its findings'
    return {"source_ip": addresses, "resource": resources, "record": records}
