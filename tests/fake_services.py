"""Fake HTTP services on 127.0.0.1: Jira, PagerDuty, a Slack incoming webhook and the Slack Web API.

The fixtures that start them are in tests/conftest.py; this module holds the servers themselves.
Jira and PagerDuty follow the documented request and response shapes, strictly checked.

Each fake validates what the real API validates for the calls trailguard makes (authentication,
required fields, ADF documents on Jira Cloud, wiki strings on Data Center, Events API v2 event
fields) and answers with the real error bodies: Jira's ``errorMessages``/``errors``, PagerDuty's
``status``/``message``/``errors``. ``down = True`` answers 503 to everything (an outage);
``script`` queues exact responses (429 with ``Retry-After``, 500, ...) for the next requests.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Reply = tuple[int, dict[str, str], Any]


@dataclass
class FakeService:
    """Shared plumbing: a threaded server, a request log, outages and scripted replies."""

    url: str = ""
    down: bool = False
    script: list[Reply] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str],
               body: Any) -> Reply:  # pragma: no cover - overridden
        raise NotImplementedError

    def dispatch(self, method: str, raw_path: str, headers: dict[str, str], data: bytes) -> Reply:
        parts = urlsplit(raw_path)
        try:
            body = json.loads(data) if data else None
        except ValueError:
            return 400, {}, {"errorMessages": ["Unexpected character in the request body"]}
        with self.lock:
            self.requests.append({"method": method, "path": parts.path, "headers": headers, "body": body})
            if self.down:
                return 503, {}, "Service Unavailable"
            if self.script:
                return self.script.pop(0)
            return self.handle(method, parts.path, parse_qs(parts.query), headers, body)


def _serve(service: FakeService) -> Iterator[FakeService]:
    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, headers, reply = service.dispatch(self.command, self.path, dict(self.headers), data)
            payload = b"" if reply is None else (reply if isinstance(reply, bytes) else
                                                 reply.encode() if isinstance(reply, str) else
                                                 json.dumps(reply).encode())
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if isinstance(reply, (dict, list)):
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = _any  # noqa: N815 - http.server naming

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    service.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield service
    finally:
        server.shutdown()
        server.server_close()


# --- Jira -----------------------------------------------------------------------------------------

JIRA_EMAIL, JIRA_TOKEN = "secbot@example.com", "jira-SECRET-token-0123456789"
ADF_MARKS = {"strong", "em", "code", "link", "strike", "underline"}
ADF_BLOCKS = {"paragraph", "heading", "bulletList", "orderedList", "listItem", "codeBlock", "rule",
              "blockquote"}
NOT_FOUND = {"errorMessages": ["Issue does not exist or you do not have permission to see it."], "errors": {}}
_JQL = re.compile(r'^project = "(?P<project>[^"]+)" AND (?:labels = "(?P<label>[^"]+)"|'
                  r'cf\[(?P<cf>\d+)\] ~ "(?P<value>[^"]+)")(?: ORDER BY created ASC)?$')


def adf_problem(doc: Any) -> str | None:
    """Why ``doc`` is not a valid ADF document, or None (the checks Jira Cloud makes that matter here)."""
    if not isinstance(doc, dict) or doc.get("type") != "doc" or doc.get("version") != 1:
        return "Operation value must be an Atlassian Document (see the Atlassian Document Format)"

    def walk(node: Any) -> str | None:
        if not isinstance(node, dict) or not isinstance(node.get("type"), str):
            return "INVALID_INPUT: node without a type"
        kind = node["type"]
        if kind == "text":
            if not isinstance(node.get("text"), str) or not node["text"]:
                return "INVALID_INPUT: text nodes must be non-empty"
            for mark in node.get("marks", []):
                if mark.get("type") not in ADF_MARKS:
                    return f"INVALID_INPUT: unknown mark {mark.get('type')}"
                href = str(mark.get("attrs", {}).get("href", ""))
                if mark["type"] == "link" and not href.startswith("http"):
                    return "INVALID_INPUT: link without href"
            return None
        if kind not in ADF_BLOCKS | {"hardBreak"}:
            return f"INVALID_INPUT: unknown node type {kind}"
        if kind == "heading" and not 1 <= node.get("attrs", {}).get("level", 0) <= 6:
            return "INVALID_INPUT: heading level"
        return next((p for child in node.get("content", []) if (p := walk(child))), None)

    content = doc.get("content")
    if not isinstance(content, list):
        return "INVALID_INPUT: doc without content"
    return next((p for node in content if (p := walk(node))), None)


def adf_text(doc: Any) -> str:
    """All the text of an ADF document (or a wiki string), for assertions."""
    if isinstance(doc, str):
        return doc
    if isinstance(doc, dict):
        return doc.get("text", "") + "".join(adf_text(c) for c in doc.get("content", []))
    return ""


@dataclass
class FakeJira(FakeService):
    """Jira Cloud (``/rest/api/3``, ADF, Basic auth) or Data Center (``/rest/api/2``, wiki, Bearer)."""

    flavor: str = "cloud"
    projects: tuple[str, ...] = ("SEC",)
    issue_types: tuple[str, ...] = ("Task", "Bug")
    priorities: tuple[str, ...] = ("Highest", "High", "Medium", "Low")
    custom_fields: tuple[str, ...] = ("customfield_10050",)
    issues: dict[str, dict[str, Any]] = field(default_factory=dict)
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(10001))

    @property
    def api(self) -> str:
        return "/rest/api/3" if self.flavor == "cloud" else "/rest/api/2"

    def authorized(self, headers: dict[str, str]) -> bool:
        given = headers.get("Authorization", "")
        if self.flavor == "cloud":
            return given == "Basic " + base64.b64encode(f"{JIRA_EMAIL}:{JIRA_TOKEN}".encode()).decode()
        return given == f"Bearer {JIRA_TOKEN}"

    def rich_text_problem(self, value: Any) -> str | None:
        if self.flavor == "cloud":
            return adf_problem(value)
        return None if isinstance(value, str) else "Operation value must be a string"

    def check_fields(self, fields: dict[str, Any], creating: bool) -> dict[str, str]:
        errors: dict[str, str] = {}
        if creating:
            if (fields.get("project") or {}).get("key") not in self.projects:
                errors["project"] = "valid project is required"
            if (fields.get("issuetype") or {}).get("name") not in self.issue_types:
                errors["issuetype"] = "Specify an issue type"
            summary = fields.get("summary")
            if not isinstance(summary, str) or not summary.strip():
                errors["summary"] = "You must specify a summary of the issue."
            elif len(summary) > 255 or "\n" in summary:
                errors["summary"] = "Summary must be less than 255 characters and on one line."
        if "description" in fields and (problem := self.rich_text_problem(fields["description"])):
            errors["description"] = problem
        labels = fields.get("labels", [])
        if not isinstance(labels, list) or any(not isinstance(x, str) or " " in x or len(x) > 255
                                               for x in labels):
            errors["labels"] = "The label must not contain spaces and be at most 255 characters."
        if "priority" in fields and (fields["priority"] or {}).get("name") not in self.priorities:
            errors["priority"] = "The priority selected is invalid."
        for name in fields:
            if name.startswith("customfield_") and name not in self.custom_fields:
                errors[name] = f"Field '{name}' cannot be set. It is not on the appropriate screen."
        return errors

    def handle(self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str],
               body: Any) -> Reply:
        if not self.authorized(headers):
            return 401, {}, "Client must be authenticated to access this resource."
        if not path.startswith(self.api + "/"):
            return 404, {}, {"errorMessages": ["null for uri: " + path], "errors": {}}
        route = path[len(self.api):]
        search = "/search/jql" if self.flavor == "cloud" else "/search"
        if method == "POST" and route == search:
            return self.search(body or {})
        if method == "POST" and route == "/issue":
            return self.create((body or {}).get("fields") or {})
        match = re.fullmatch(r"/issue/([A-Z]+-\d+)(/comment|/transitions)?", route)
        if not match:
            return 404, {}, {"errorMessages": ["null for uri: " + path], "errors": {}}
        issue = self.issues.get(match.group(1))
        if issue is None:
            return 404, {}, NOT_FOUND
        return self.on_issue(method, issue, match.group(2) or "", body or {})

    def search(self, body: dict[str, Any]) -> Reply:
        match = _JQL.match(str(body.get("jql", "")))
        if not match:
            return 400, {}, {"errorMessages": [f"Error in the JQL Query: {body.get('jql')!r}"], "errors": {}}
        if match["project"] not in self.projects:
            return 400, {}, {"errorMessages": [f"The value '{match['project']}' does not exist for the field "
                                               "'project'."], "errors": {}}
        if match["cf"] and f"customfield_{match['cf']}" not in self.custom_fields:
            return 400, {}, {"errorMessages": [f"Field 'cf[{match['cf']}]' does not exist."], "errors": {}}
        found = [i for i in self.issues.values() if i["fields"]["project"]["key"] == match["project"] and (
            match["label"] in i["fields"].get("labels", []) if match["label"]
            else match["value"] in str(i["fields"].get(f"customfield_{match['cf']}", "")))]
        wanted = body.get("fields") or ["*navigable"]
        issues = [{"id": i["id"], "key": i["key"], "fields": {k: v for k, v in i["fields"].items()
                                                             if k in wanted or "*navigable" in wanted}}
                  for i in found[: int(body.get("maxResults", 50))]]
        if self.flavor == "cloud":
            return 200, {}, {"issues": issues, "isLast": True}
        return 200, {}, {"startAt": 0, "maxResults": body.get("maxResults", 50), "total": len(found),
                         "issues": issues}

    def create(self, fields: dict[str, Any]) -> Reply:
        errors = self.check_fields(fields, creating=True)
        if errors:
            return 400, {}, {"errorMessages": [], "errors": errors}
        number = next(self.ids)
        key = f"{fields['project']['key']}-{len(self.issues) + 1}"
        self.issues[key] = {"id": str(number), "key": key, "comments": [],
                            "fields": {**fields, "status": {"name": "To Do"}}}
        return 201, {}, {"id": str(number), "key": key, "self": f"{self.url}{self.api}/issue/{number}"}

    def on_issue(self, method: str, issue: dict[str, Any], tail: str, body: dict[str, Any]) -> Reply:
        if tail == "" and method == "PUT":
            fields = body.get("fields") or {}
            errors = self.check_fields(fields, creating=False)
            if errors:
                return 400, {}, {"errorMessages": [], "errors": errors}
            issue["fields"].update(fields)
            for op in (body.get("update") or {}).get("labels", []):
                if "add" in op and op["add"] not in issue["fields"].setdefault("labels", []):
                    issue["fields"]["labels"].append(op["add"])
            return 204, {}, None
        if tail == "/comment" and method == "GET":
            comments = list(reversed(issue["comments"]))
            return 200, {}, {"startAt": 0, "maxResults": 100, "total": len(comments), "comments": comments}
        if tail == "/comment" and method == "POST":
            if problem := self.rich_text_problem(body.get("body")):
                return 400, {}, {"errorMessages": [], "errors": {"comment": problem}}
            comment = {"id": str(next(self.ids)), "body": body["body"]}
            issue["comments"].append(comment)
            return 201, {}, comment
        if tail == "/transitions" and method == "GET":
            done = issue["fields"]["status"]["name"] == "Done"
            options = [] if done else [{"id": "31", "name": "Done", "to": {"name": "Done"}}]
            progress = {"id": "21", "name": "In Progress", "to": {"name": "In Progress"}}
            return 200, {}, {"transitions": [progress, *options]}
        if tail == "/transitions" and method == "POST":
            chosen = (body.get("transition") or {}).get("id")
            if chosen not in ("21", "31"):
                return 400, {}, {"errorMessages": ["It seems that you have tried to perform a workflow "
                                                   "operation that is not valid."], "errors": {}}
            issue["fields"]["status"] = {"name": "Done" if chosen == "31" else "In Progress"}
            return 204, {}, None
        return 405, {}, {"errorMessages": ["Method not allowed"], "errors": {}}


def serve_jira(flavor: str = "cloud") -> Iterator[FakeJira]:
    yield from _serve(FakeJira(flavor=flavor))  # type: ignore[misc]


# --- PagerDuty ------------------------------------------------------------------------------------

PD_KEY = "R0ut1ngKeySECRET0123456789abcdef"  # integration keys are 32 characters
PD_SEVERITIES = {"critical", "error", "warning", "info"}


def invalid(*errors: str) -> Reply:
    return 400, {}, {"status": "invalid event", "message": "Event object is invalid", "errors": list(errors)}


@dataclass
class FakePagerDuty(FakeService):
    """Events API v2 (``POST /v2/enqueue``): triggers open or refresh an incident per dedup_key."""

    incidents: dict[str, dict[str, Any]] = field(default_factory=dict)  # dedup_key -> incident
    opened: list[str] = field(default_factory=list)  # dedup keys, one per incident ever opened

    def handle(self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str],
               body: Any) -> Reply:
        if method != "POST" or path != "/v2/enqueue":
            return 404, {}, {"status": "not found", "message": "Not Found"}
        if not isinstance(body, dict):
            return invalid("Event object must be a JSON object")
        key, action, dedup = body.get("routing_key"), body.get("event_action"), body.get("dedup_key")
        if not isinstance(key, str) or len(key) != 32:
            return invalid("Length of 'routing_key' is incorrect (should be 32 characters)")
        if key != PD_KEY:
            return invalid("Invalid routing key")
        if action not in ("trigger", "acknowledge", "resolve"):
            return invalid("'event_action' is invalid (must be one of: trigger, acknowledge, resolve)")
        if dedup is not None and (not isinstance(dedup, str) or len(dedup) > 255):
            return invalid("'dedup_key' must be a string of at most 255 characters")
        if action == "trigger":
            payload = body.get("payload") or {}
            problems = [f"'payload.{name}' is missing or blank" for name in ("summary", "source", "severity")
                        if not str(payload.get(name) or "").strip()]
            if payload.get("severity") and payload["severity"] not in PD_SEVERITIES:
                problems.append("'payload.severity' must be one of critical, error, warning, info")
            if len(str(payload.get("summary", ""))) > 1024:
                problems.append("'payload.summary' must be at most 1024 characters")
            if problems:
                return invalid(*problems)
            dedup = dedup or f"generated-{len(self.opened)}"
            incident = self.incidents.get(dedup)
            if incident is None or incident["status"] == "resolved":
                incident = {"status": "triggered", "alerts": []}
                self.incidents[dedup] = incident
                self.opened.append(dedup)
            incident["alerts"].append(payload)
        elif dedup is None:
            return invalid("'dedup_key' is required for acknowledge and resolve")
        elif dedup in self.incidents:
            self.incidents[dedup]["status"] = "resolved" if action == "resolve" else "acknowledged"
        return 202, {}, {"status": "success", "message": "Event processed", "dedup_key": dedup}


def serve_pagerduty() -> Iterator[FakePagerDuty]:
    yield from _serve(FakePagerDuty())  # type: ignore[misc]


# --- Slack incoming webhook -----------------------------------------------------------------------

SLACK_TOKEN = "xoxb-SECRET-TOKEN-1234"


@dataclass
class Webhook:
    """Scripted responses, recorded requests."""

    url: str
    responses: list[tuple[int, dict[str, str], bytes]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)


def serve_webhook() -> Iterator[Webhook]:
    """A Slack incoming webhook whose URL ends in the secret ``SLACK_TOKEN`` (as the real ones do)."""
    state = Webhook(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server naming
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            state.requests.append(
                {"path": self.path, "headers": dict(self.headers), "body": json.loads(body)})
            status, headers, reply = state.responses.pop(0) if state.responses else (200, {}, b"ok")
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/services/T000/B000/{SLACK_TOKEN}"
    yield state
    server.shutdown()
    server.server_close()



# --- Slack Web API --------------------------------------------------------------------------------

SLACK_BOT_TOKEN, SLACK_CHANNEL = "xoxb-SECRET-bot-token-5678", "C0TRAILGD"


@dataclass
class FakeSlackApi(FakeService):
    """``chat.postMessage``, ``conversations.history`` and ``conversations.replies`` on one channel,
    as Slack answers them: HTTP 200 with ``ok: false`` and an error code for refusals
    (``invalid_auth``, ``channel_not_found``, ``thread_not_found``, ``no_text``), message metadata
    only with ``include_all_metadata``, newest first, paged by ``cursor``."""

    messages: list[dict[str, Any]] = field(default_factory=list)  # every message, oldest first
    clock: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def threads(self) -> dict[str, list[dict[str, Any]]]:
        """Top-level ts -> the thread's messages (root first)."""
        out = {m["ts"]: [m] for m in self.messages if "thread_ts" not in m}
        for message in self.messages:
            if "thread_ts" in message:
                out[message["thread_ts"]].append(message)
        return out

    def handle(self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str],
               body: Any) -> Reply:
        if headers.get("Authorization") != f"Bearer {SLACK_BOT_TOKEN}":
            return 200, {}, {"ok": False, "error": "invalid_auth"}
        args = {k: v[0] for k, v in query.items()} | (body if isinstance(body, dict) else {})
        if args.get("channel") != SLACK_CHANNEL:
            return 200, {}, {"ok": False, "error": "channel_not_found"}
        meta = str(args.get("include_all_metadata")) == "true"

        def shown(message: dict[str, Any]) -> dict[str, Any]:
            return message if meta else {k: v for k, v in message.items() if k != "metadata"}

        if path == "/api/chat.postMessage" and method == "POST":
            if not args.get("text") and not args.get("blocks"):
                return 200, {}, {"ok": False, "error": "no_text"}
            thread = args.get("thread_ts")
            if thread is not None and thread not in self.threads():
                return 200, {}, {"ok": False, "error": "thread_not_found"}
            message = {"ts": f"1700000000.{next(self.clock):06d}", "text": args.get("text"),
                       "blocks": args.get("blocks"), "metadata": args.get("metadata")}
            if thread is not None:
                message["thread_ts"] = thread
            self.messages.append(message)
            return 200, {}, {"ok": True, "channel": SLACK_CHANNEL, "ts": message["ts"], "message": message}
        if path == "/api/conversations.history" and method == "GET":
            items = [m for m in reversed(self.messages) if "thread_ts" not in m]
        elif path == "/api/conversations.replies" and method == "GET":
            items = self.threads().get(str(args.get("ts")))
            if items is None:
                return 200, {}, {"ok": False, "error": "thread_not_found"}
        else:
            return 404, {}, "Not Found"
        start, limit = int(args.get("cursor") or 0), int(args.get("limit") or 100)
        page = items[start:start + limit]
        more = start + limit < len(items)
        return 200, {}, {"ok": True, "messages": [shown(m) for m in page], "has_more": more,
                         "response_metadata": {"next_cursor": str(start + limit) if more else ""}}


def serve_slack_api() -> Iterator[FakeSlackApi]:
    yield from _serve(FakeSlackApi())  # type: ignore[misc]
