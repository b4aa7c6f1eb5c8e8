"""The fixtures every test folder shares: generated organizations, the moto server, fake services.

Generated organizations (``pipeline.demo``), each made once per session and only read by tests;
a test that changes files takes a copy (``small_org_copy``):

- ``small_org``: 5,000 events over two days from 2026-11-01, with signed digests (integrity,
  scheduled runs, compaction, cost volumes).
- ``demo_org``: 40,000 events over two full ISO weeks from Monday 2026-11-02 (the generator's own
  checks, reports, labelled detection, pruning); ``demo_detected`` is every detection run over it
  and stored, as ``trailguard demo`` does.

AWS: one moto server on 127.0.0.1 for the session. Tests marked ``aws`` get fake credentials,
no profile or config file, no instance metadata and a freshly reset moto state; the environment
is set per test with ``monkeypatch``, so it never leaks into unmarked tests. Every client gets
``endpoint_url`` explicitly.

Fake HTTP services (tests/fake_services.py): ``jira``, ``jira_dc``, ``pagerduty``, ``webhook``,
``slack_api``.
"""

from __future__ import annotations

import http.client
import json
import shutil
import threading
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from moto.server import ThreadedMotoServer

from pipeline.config import Settings
from pipeline.demo import DemoManifest, generate_demo
from pipeline.demo.digests import demo_keys_file
from pipeline.engines.base import Engine
from pipeline.workflow import DetectOutcome, detect, lake_for, open_engine, record_findings
from tests.fake_services import (
    FakeJira,
    FakePagerDuty,
    FakeSlackApi,
    Webhook,
    serve_jira,
    serve_pagerduty,
    serve_slack_api,
    serve_webhook,
)
from tests.helpers import DEMO_ORG, ORG_END, ORG_START, REGION, SMALL_ORG, cloudtrail_records, settings_for

# --- generated organizations ----------------------------------------------------------------------

# Generating and detecting over the two-week organization takes a while: every test that uses it
# is marked slow here, so ``make test-fast`` never builds it.
TWO_WEEK_FIXTURES = frozenset({"demo_org", "demo_detected", "raw_records"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if TWO_WEEK_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)



@dataclass
class GeneratedOrg:
    """A generated organization: its folder (laid out like the bucket), manifest, progress calls."""

    root: Path
    manifest: DemoManifest
    progress: list[tuple[int, int]] = field(default_factory=list)


def _generate(root: Path, **arguments: Any) -> GeneratedOrg:
    progress: list[tuple[int, int]] = []
    manifest = generate_demo(root, progress=lambda done, total: progress.append((done, total)), **arguments)
    return GeneratedOrg(root, manifest, progress)


@pytest.fixture(scope="session")
def small_org(tmp_path_factory: pytest.TempPathFactory) -> GeneratedOrg:
    """Two small days with digests. Read only: tests that change files use ``small_org_copy``."""
    return _generate(tmp_path_factory.mktemp("small-org") / "org", **SMALL_ORG)


@pytest.fixture
def small_org_copy(small_org: GeneratedOrg, tmp_path: Path) -> Path:
    """This test's own copy of ``small_org`` (``tmp_path/org``), free to tamper with."""
    copy = Path(shutil.copytree(small_org.root, tmp_path / "org"))
    shutil.copy(demo_keys_file(small_org.root), demo_keys_file(copy))  # trusted keys live beside, not inside
    return copy


@pytest.fixture(scope="session")
def generated(small_org: GeneratedOrg) -> tuple[Path, Any]:
    """small_org as the scheduled-run simulations take it: tests copy ``root / "org"`` before ticking."""
    return small_org.root.parent, small_org.manifest


@pytest.fixture(scope="session")
def demo_org(tmp_path_factory: pytest.TempPathFactory) -> GeneratedOrg:
    """Two full ISO weeks of a labelled organization. Read only."""
    return _generate(tmp_path_factory.mktemp("demo-org") / "org", **DEMO_ORG)


@dataclass
class DetectedOrg:
    """``demo_org`` after every detection ran over it and its findings were stored."""

    root: Path  # state (lake, findings store) is under root/data
    demo: Path
    settings: Settings
    outcome: DetectOutcome


@pytest.fixture(scope="session")
def demo_detected(demo_org: GeneratedOrg, tmp_path_factory: pytest.TempPathFactory) -> DetectedOrg:
    root = tmp_path_factory.mktemp("demo-detected")
    settings = settings_for(root, demo_org.root)
    outcome = detect(settings, str(demo_org.root), ORG_START, ORG_END)
    record_findings(settings, outcome, ORG_START, ORG_END)
    return DetectedOrg(root, demo_org.root, settings, outcome)


@pytest.fixture(scope="module")
def demo_engine(demo_detected: DetectedOrg) -> Iterator[Engine]:
    """The embedded engine over ``demo_detected``'s lake, for the reports and investigation tests."""
    engine = open_engine(demo_detected.settings, lake_for(demo_detected.settings, str(demo_detected.demo)))
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def raw_records(demo_org: GeneratedOrg) -> list[dict]:
    """``demo_org``'s CloudTrail records, read independently of the pipeline (gzip + json)."""
    return cloudtrail_records(demo_org.root)


# --- fake HTTP services ---------------------------------------------------------------------------


@pytest.fixture
def jira() -> Iterator[FakeJira]:
    yield from serve_jira("cloud")


@pytest.fixture
def jira_dc() -> Iterator[FakeJira]:
    yield from serve_jira("datacenter")


@pytest.fixture
def pagerduty() -> Iterator[FakePagerDuty]:
    yield from serve_pagerduty()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    """A Slack incoming webhook on 127.0.0.1."""
    yield from serve_webhook()


@pytest.fixture
def slack_api() -> Iterator[FakeSlackApi]:
    """The Slack Web API (chat.postMessage, conversations.history/replies) on 127.0.0.1."""
    yield from serve_slack_api()


# --- AWS: the moto server -------------------------------------------------------------------------

Rewrite = Callable[[dict[str, Any]], dict[str, Any]]


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """One moto server for the whole session (port 0: the OS picks a free one)."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(autouse=True)
def aws_env(request: pytest.FixtureRequest) -> None:
    """For tests marked ``aws``: fake credentials and a fresh moto state."""
    if request.node.get_closest_marker("aws") is None:
        return
    moto_endpoint: str = request.getfixturevalue("moto_endpoint")
    monkeypatch: pytest.MonkeyPatch = request.getfixturevalue("monkeypatch")
    empty = request.getfixturevalue("tmp_path_factory").mktemp("aws-config")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ROLE_ARN",
                 "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ENDPOINT_URL", "AWS_ATHENA_S3_STAGING_DIR",
                 "AWS_ATHENA_WORK_GROUP"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # PyAthena reads result CSVs with its own S3 client, which on purpose does not inherit the
    # Athena endpoint_url (pyathena issue #576); botocore's per-service variable points it at moto.
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_endpoint)
    reset = urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")
    with urllib.request.urlopen(reset, timeout=10) as response:  # noqa: S310 - 127.0.0.1 only
        assert response.status == 200


@pytest.fixture
def aws_client(moto_endpoint: str) -> Callable[..., Any]:
    """``aws_client("s3")``: a boto3 client bound to the moto server."""

    def make(service: str, endpoint_url: str | None = None) -> Any:
        return boto3.client(service, region_name=REGION, endpoint_url=endpoint_url or moto_endpoint)

    return make


@pytest.fixture
def can_athena_results(moto_endpoint: str) -> Callable[..., None]:
    """``can_athena_results(result, ...)`` queues results for the next queries, in order.

    moto's ``POST /moto-api/static/athena/query-results``; each result is ``{"rows", "column_info"}``
    (``tests.helpers.athena_result`` builds one) and PyAthena needs ``Precision`` and ``Scale`` in
    every column_info entry.
    """

    def post(*results: dict[str, Any]) -> None:
        body = json.dumps({"region": REGION, "results": list(results)}).encode()
        request = urllib.request.Request(f"{moto_endpoint}/moto-api/static/athena/query-results", data=body,
                                         headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - 127.0.0.1 only
            assert response.status == 201

    return post


# moto's Athena only ever reaches SUCCEEDED (QUEUED -> RUNNING -> SUCCEEDED; ``StopQueryExecution``
# gives CANCELLED) and reports 0 bytes scanned. To test a FAILED query with Athena's reason, and a
# real bytes-scanned figure, ``athena_shim`` forwards the Athena JSON API to moto and rewrites the
# chosen responses; everything else about the query (ids, results) is still moto's.


class _ShimHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: AthenaShim

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        upstream = urlsplit(self.server.upstream)
        connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        connection.request("POST", self.path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        operation = self.headers.get("X-Amz-Target", "").rsplit(".", 1)[-1]
        rewrite = self.server.rewrites.get(operation)
        if rewrite is not None and response.status == 200:
            data = json.dumps(rewrite(json.loads(data))).encode()
        self.send_response(response.status)
        for name, value in response.getheaders():
            if name.lower() not in ("content-length", "transfer-encoding", "connection", "date", "server"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        connection.close()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet in test output
        pass


class AthenaShim(ThreadingHTTPServer):
    """Forwards POSTs (the Athena JSON API) to moto; ``rewrites[operation]`` edits a response body."""

    daemon_threads = True

    def __init__(self, upstream: str) -> None:
        super().__init__(("127.0.0.1", 0), _ShimHandler)
        self.upstream = upstream
        self.rewrites: dict[str, Rewrite] = {}

    @property
    def endpoint(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


@pytest.fixture
def athena_shim(moto_endpoint: str) -> Iterator[AthenaShim]:
    shim = AthenaShim(moto_endpoint)
    thread = threading.Thread(target=shim.serve_forever, daemon=True)
    thread.start()
    yield shim
    shim.shutdown()
    shim.server_close()
