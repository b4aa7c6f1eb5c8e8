"""Jira sink: one ticket per finding (or per dedup group), found again by its id, never duplicated.

Jira Cloud speaks REST API v3, whose rich text is the Atlassian Document Format (ADF); Jira Data
Center speaks v2 with wiki markup. ``flavor`` picks one; the content is built once as a few
neutral blocks (:func:`evidence`) and rendered to either.

Why it cannot open a ticket twice: every ticket carries its id (the ``finding_id``, or a hash of
the detection and dedup key in ``group = "dedup_group"`` mode) in a label or a configured custom
field, and the sink searches for it with JQL before creating. Every description and comment it
writes names the ``delivery_id``; a delivery already written on the ticket (a repeat after a
crash) is skipped, so the sink is idempotent. A re-delivery with more records (``is_update``)
rewrites the description with the whole evidence and comments on what changed; in group mode a
further finding of the group becomes a comment on the group's ticket.

The API token is a credential: Basic auth with the account's e-mail on Cloud, a personal access
token (Bearer) on Data Center. It never appears in messages; see :mod:`pipeline.sinks.http`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from pipeline.findings.model import Finding
from pipeline.findings.severity import check_severity
from pipeline.sinks.base import BaseSink, Delivery, SinkError
from pipeline.sinks.http import Credential, HttpClient

FLAVORS = {"cloud": "/rest/api/3", "datacenter": "/rest/api/2"}
GROUPS = ("finding", "dedup_group")
SHOWN_EVENT_IDS = 50
_CUSTOM = re.compile(r"^customfield_(\d+)$")
_URL = re.compile(r"^https?://\S+$")
_WIKI_SPECIAL = re.compile(r"([\\*_{}\[\]|^~+!#])")

# A block is (kind, value): ("heading", text), ("para", segments), ("bullets", [segments]),
# ("code", text). A segment is (text, mark): mark None, "strong", "code" or an http(s) link.
Segment = tuple[str, str | None]
Block = tuple[str, Any]


def ticket_id(finding: Finding, group: str = "finding") -> str:
    """What a ticket is keyed by: the finding id, or the detection plus its dedup key values."""
    if group == "finding":
        return finding.finding_id
    basis = json.dumps([finding.detection_id, finding.account_id, finding.dedup_key], sort_keys=True,
                       default=str)
    return hashlib.sha256(basis.encode()).hexdigest()[:32]


def label(kind: str, value: str) -> str:
    """A Jira label (no spaces, at most 255 characters)."""
    return re.sub(r"\s+", "_", f"trailguard-{kind}-{value}")[:255]


def summary(finding: Finding) -> str:
    text = (f"[{str(finding.severity).upper()}] {finding.title}: {finding.principal or '-'} in "
            f"{finding.account_id or '-'}/{finding.region or '-'}")
    text = " ".join(text.split())
    return text if len(text) <= 254 else text[:253] + "…"


def _footer(delivery: Delivery) -> Block:
    return ("para", [("trailguard finding ", None), (delivery.finding.finding_id, "code"),
                     (" · delivery ", None), (delivery.delivery_id, "code")])


def _records(finding: Finding) -> list[Block]:
    segments: list[Segment] = []
    for index, event in enumerate(finding.event_ids[:SHOWN_EVENT_IDS]):
        segments += [(", ", None)] if index else []
        segments.append((str(event), "code"))
    more = len(finding.event_ids) - SHOWN_EVENT_IDS
    if more > 0:
        segments.append((f" and {more} more", None))
    return [("heading", f"Records ({finding.event_count})"), ("para", segments or [("-", None)])]


def evidence(delivery: Delivery) -> list[Block]:
    """The description: what, who, where, when, which records, ATT&CK, runbook and context."""
    f = delivery.finding
    facts = [("Principal", f.principal), ("Account", f.account_id), ("Region", f.region),
             ("Source IP", f.source_ip), ("First seen", f.first_seen), ("Last seen", f.last_seen)]
    blocks: list[Block] = [
        ("para", [("Severity: ", "strong"), (str(f.severity).upper(), None), (" · Detection: ", "strong"),
                  (f.detection_id, "code")]),
        ("para", [(f.title, None)]),
        ("bullets", [[(f"{name}: ", "strong"), (str(value), None)] for name, value in facts if value]),
        *_records(f),
    ]
    timeline = f.context.get("narrative")  # an incident (pipeline.incidents.route): its story first
    if isinstance(timeline, list) and timeline:
        blocks[3:3] = [("heading", "Timeline"), ("bullets", [[(str(line), None)] for line in timeline[:50]])]
    if f.attack:
        links: list[Segment] = []
        for index, technique in enumerate(f.attack):
            links += [(", ", None)] if index else []
            links.append((technique, f"https://attack.mitre.org/techniques/{technique.replace('.', '/')}/"))
        blocks += [("heading", "ATT&CK"), ("para", links)]
    runbook = f.runbook.strip()
    blocks += [("heading", "Runbook"),
               ("para", [(runbook, runbook)] if _URL.match(runbook) else [(runbook or "none", None)])]
    if f.context:
        text = json.dumps(f.context, indent=2, sort_keys=True, default=str)
        blocks += [("heading", "Context"), ("code", text if len(text) <= 8000 else text[:7999] + "…")]
    return [*blocks, _footer(delivery)]


def update_note(delivery: Delivery, group: str) -> list[Block]:
    """A comment for a re-delivery: a grown finding, or (group mode) another finding of the group."""
    f = delivery.finding
    if group == "dedup_group" and not delivery.is_update:
        return [("para", [("Another finding of this group: ", "strong"), (summary(f), None)]),
                *evidence(delivery)[2:]]
    return [("para", [("Updated by trailguard: ", "strong"),
                      (f"{f.event_count} record(s) now, {f.first_seen} to {f.last_seen}.", None)]),
            *_records(f), _footer(delivery)]


def _adf_text(text: str, mark: str | None) -> list[dict[str, Any]]:
    marks = ([] if mark is None else [{"type": "link", "attrs": {"href": mark}}] if _URL.match(mark)
             else [{"type": mark}])
    nodes: list[dict[str, Any]] = []
    for index, line in enumerate(str(text).split("\n")):
        if index:
            nodes.append({"type": "hardBreak"})
        if line:  # ADF rejects empty text nodes
            nodes.append({"type": "text", "text": line, **({"marks": marks} if marks else {})})
    return nodes


def _adf_paragraph(segments: Sequence[Segment]) -> dict[str, Any]:
    return {"type": "paragraph", "content": [n for text, mark in segments for n in _adf_text(text, mark)]}


def to_adf(blocks: list[Block]) -> dict[str, Any]:
    """Blocks as an ADF document (Jira Cloud, REST v3)."""
    content: list[dict[str, Any]] = []
    for kind, value in blocks:
        if kind == "heading":
            content.append({"type": "heading", "attrs": {"level": 3}, "content": _adf_text(value, None)})
        elif kind == "para":
            content.append(_adf_paragraph(value))
        elif kind == "bullets" and value:
            content.append({"type": "bulletList", "content": [
                {"type": "listItem", "content": [_adf_paragraph(item)]} for item in value]})
        elif kind == "code":
            content.append({"type": "codeBlock", "attrs": {"language": "json"},
                            "content": [{"type": "text", "text": value}]})
    return {"type": "doc", "version": 1, "content": content}


def _wiki_segment(text: str, mark: str | None) -> str:
    plain = _WIKI_SPECIAL.sub(r"\\\1", str(text))
    if mark is None:
        return plain
    if mark == "strong":
        return f"*{plain.strip()}* " if plain.endswith(" ") else f"*{plain}*"
    if mark == "code":
        return "{{" + plain + "}}"
    return f"[{plain.replace('|', '')}|{mark}]"


def to_wiki(blocks: list[Block]) -> str:
    """Blocks as wiki markup (Jira Data Center, REST v2)."""
    out: list[str] = []
    for kind, value in blocks:
        if kind == "heading":
            out.append("h3. " + _WIKI_SPECIAL.sub(r"\\\1", value))
        elif kind == "para":
            out.append("".join(_wiki_segment(t, m) for t, m in value))
        elif kind == "bullets":
            out.append("\n".join("* " + "".join(_wiki_segment(t, m) for t, m in item) for item in value))
        elif kind == "code":
            out.append("{code:json}\n" + value.replace("{code", "{ code") + "\n{code}")
    return "\n\n".join(out)


def jira_detail(body: bytes) -> str:
    """Jira's error body (``errorMessages`` and per-field ``errors``) as one line."""
    try:
        data = json.loads(body)
        messages = [str(m) for m in data.get("errorMessages") or []]
        messages += [f"{k}: {v}" for k, v in (data.get("errors") or {}).items()]
        return "; ".join(messages) or body[:300].decode("utf-8", "replace")
    except (ValueError, AttributeError, UnicodeDecodeError):
        return body[:300].decode("utf-8", "replace")


def jql_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class JiraSink(BaseSink):
    """Opens, updates and comments on Jira issues in ``project``; idempotent (see the module doc)."""

    idempotent = True

    def __init__(self, url: str, project: str, token: Credential, *, email: str | None = None,
                 flavor: str = "cloud", issue_type: str = "Task", id_field: str = "labels",
                 group: str = "finding",
                 labels: Sequence[str] = (), priorities: Mapping[str, str] | None = None,
                 resolve_transition: str | None = None, name: str | None = None, min_severity: str = "low",
                 max_attempts: int = 5, timeout: float = 10.0, backoff: float = 1.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if flavor not in FLAVORS:
            raise ValueError(f"flavor: {flavor!r} is not one of {', '.join(FLAVORS)}")
        if group not in GROUPS:
            raise ValueError(f"group: {group!r} is not one of {', '.join(GROUPS)}")
        if id_field != "labels" and not _CUSTOM.match(id_field):
            raise ValueError(f"id_field: {id_field!r} is not 'labels' or customfield_<number>")
        if flavor == "cloud" and not email:
            raise ValueError("email: missing (Jira Cloud authenticates with an account e-mail and API token)")
        self.url, self.api = url.rstrip("/"), FLAVORS[flavor]
        self.project, self.flavor, self.issue_type, self.group = project, flavor, issue_type, group
        self.id_field, self.extra_labels = id_field, tuple(labels)
        self.priorities = {str(k).lower(): str(v) for k, v in (priorities or {}).items()}
        self.resolve_transition = resolve_transition
        self.name = name or f"jira:{project}"
        self.min_severity = check_severity(min_severity)
        self._token, self._email = token, email
        self._http = HttpClient(f"jira sink {self.name!r}", secrets=self._secrets, max_attempts=max_attempts,
                                timeout=timeout, backoff=backoff, sleep=sleep, detail=jira_detail)
        self._tickets: dict[str, str] = {}  # ticket id -> issue key, for search's eventual consistency
        self._written_here: set[str] = set()  # delivery ids this process wrote

    def _secrets(self) -> list[str]:
        try:
            token = self._token.get()
        except SinkError:
            return []
        return [token, self._auth().split(" ", 1)[1]]

    def _auth(self) -> str:
        if self._email:
            pair = f"{self._email}:{self._token.get()}".encode()
            return "Basic " + base64.b64encode(pair).decode("ascii")
        return "Bearer " + self._token.get()

    def _call(self, method: str, path: str, payload: Any = None, what: str = "") -> Any:
        response = self._http.request(method, self.url + self.api + path, payload,
                                      headers={"Authorization": self._auth()},
                                      refused=f"Jira refused {what or method + ' ' + path.split('?')[0]}")
        return response.json()

    def render(self, blocks: list[Block]) -> Any:
        return to_adf(blocks) if self.flavor == "cloud" else to_wiki(blocks)

    def _search(self, jql: str, fields: list[str]) -> list[dict[str, Any]]:
        body: dict[str, Any] = {"jql": jql, "fields": fields, "maxResults": 10}
        if self.flavor == "cloud":
            answer = self._call("POST", "/search/jql", body, "the search")
        else:
            answer = self._call("POST", "/search", {**body, "startAt": 0}, "the search")
        return list((answer or {}).get("issues") or [])

    def find(self, ticket: str) -> dict[str, Any] | None:
        """The oldest issue of the project carrying ``ticket`` (label or custom field), or None."""
        fields = ["summary", "labels", "description", "status"]
        if self.id_field == "labels":
            condition = f"labels = {jql_string(label(self._kind(), ticket))}"
        else:
            fields.append(self.id_field)
            condition = f"cf[{_CUSTOM.match(self.id_field).group(1)}] ~ {jql_string(ticket)}"  # type: ignore[union-attr]
        jql = f"project = {jql_string(self.project)} AND {condition} ORDER BY created ASC"
        issues = self._search(jql, fields)
        if self.id_field != "labels":  # ~ is a text search: keep exact matches only
            issues = [i for i in issues
                      if str((i.get("fields") or {}).get(self.id_field) or "").strip() == ticket]
        return issues[0] if issues else None

    def _kind(self) -> str:
        return "finding" if self.group == "finding" else "group"

    def labels(self, finding: Finding) -> list[str]:
        out = ["trailguard", label("detection", finding.detection_id),
               label("severity", str(finding.severity).lower()), label("finding", finding.finding_id)]
        if self.group == "dedup_group":
            out.append(label("group", ticket_id(finding, self.group)))
        return list(dict.fromkeys([*out, *self.extra_labels]))

    def _create(self, delivery: Delivery, ticket: str) -> str:
        f = delivery.finding
        fields: dict[str, Any] = {"project": {"key": self.project}, "issuetype": {"name": self.issue_type},
                                  "summary": summary(f), "description": self.render(evidence(delivery)),
                                  "labels": self.labels(f)}
        priority = self.priorities.get(str(f.severity).lower())
        if priority:
            fields["priority"] = {"name": priority}
        if self.id_field != "labels":
            fields[self.id_field] = ticket
        answer = self._call("POST", "/issue", {"fields": fields}, "the new issue")
        key = str((answer or {}).get("key") or "")
        if not key:
            raise SinkError(f"jira sink {self.name!r}: the create answer names no issue key")
        return key

    def _comments(self, key: str) -> str:
        """The latest 100 comments as JSON text, to look for a marker in."""
        answer = self._call("GET", f"/issue/{quote(key)}/comment?maxResults=100&orderBy=-created",
                            what="the comments") or {}
        return json.dumps(answer.get("comments") or [])

    def _written(self, key: str, issue: Mapping[str, Any], delivery_id: str) -> bool:
        """Whether the issue's description or one of its comments already carries this delivery."""
        if delivery_id in json.dumps((issue.get("fields") or {}).get("description")):
            return True
        return delivery_id in self._comments(key)

    def _update(self, key: str, delivery: Delivery) -> None:
        adds = [{"add": name} for name in self.labels(delivery.finding)]
        body: dict[str, Any] = {"update": {"labels": adds}}
        if self.group == "finding":
            body["fields"] = {"description": self.render(evidence(delivery))}
        self._call("PUT", f"/issue/{quote(key)}", body, f"the update of {key}")
        self.comment(key, update_note(delivery, self.group))

    def comment(self, key: str, blocks: list[Block]) -> None:
        self._call("POST", f"/issue/{quote(key)}/comment", {"body": self.render(blocks)},
                   f"a comment on {key}")

    def deliver_one(self, delivery: Delivery) -> str:
        """Create, update or skip; returns the issue key."""
        ticket = ticket_id(delivery.finding, self.group)
        key = self._tickets.get(ticket)
        if key and delivery.delivery_id in self._written_here:
            return key
        issue = {"key": key, "fields": {}} if key else self.find(ticket)
        if issue is None:
            key = self._create(delivery, ticket)
        else:
            key = str(issue.get("key") or issue["id"])  # Jira takes either
            if not self._written(key, issue, delivery.delivery_id):
                self._update(key, delivery)
        self._tickets[ticket] = key
        self._written_here.add(delivery.delivery_id)
        return key

    def deliver(self, deliveries: list[Delivery]) -> None:
        """In order; on failure the error lists what already reached Jira."""
        done: list[str] = []
        for delivery in deliveries:
            try:
                self.deliver_one(delivery)
            except SinkError as exc:
                raise SinkError(f"{exc} ({len(done)} of {len(deliveries)} finding(s) written before)",
                                delivered=done) from None
            done.append(delivery.delivery_id)

    def resolve(self, finding_ids: Sequence[str], reason: str) -> dict[str, str]:
        """Comment on each finding's ticket and, in finding mode, move it through ``resolve_transition``."""
        outcome: dict[str, str] = {}
        for fid in finding_ids:
            jql = f"project = {jql_string(self.project)} AND labels = {jql_string(label('finding', fid))}"
            issues = self._search(jql + " ORDER BY created ASC", ["status"])
            if not issues:
                outcome[fid] = "no ticket"
                continue
            key = str(issues[0].get("key") or issues[0]["id"])
            marker = f"trailguard resolved {fid}"
            if marker not in self._comments(key):
                self.comment(key, [("para", [("Resolved in trailguard: ", "strong"), (reason or "-", None)]),
                                   ("para", [(marker, "code")])])
            if self.resolve_transition and self.group == "finding":
                status = str(((issues[0].get("fields") or {}).get("status") or {}).get("name") or "")
                if status.lower() != self.resolve_transition.lower():
                    self._transition(key, status)
            outcome[fid] = f"resolved ({key})"
        return outcome

    def _transition(self, key: str, status: str) -> None:
        answer = self._call("GET", f"/issue/{quote(key)}/transitions", what=f"the transitions of {key}") or {}
        wanted = str(self.resolve_transition).lower()
        options = answer.get("transitions") or []
        names_of = lambda t: (str(t.get("id")), str(t.get("name", "")).lower(),  # noqa: E731
                              str((t.get("to") or {}).get("name", "")).lower())
        chosen = next((t for t in options if wanted in names_of(t)), None)
        if chosen is None:
            names = ", ".join(str(t.get("name")) for t in options) or "none"
            raise SinkError(f"jira sink {self.name!r}: {key} has no transition {self.resolve_transition!r} "
                            f"from status {status!r} (available: {names})")
        self._call("POST", f"/issue/{quote(key)}/transitions", {"transition": {"id": str(chosen["id"])}},
                   f"the transition of {key}")
