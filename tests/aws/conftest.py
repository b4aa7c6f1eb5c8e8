"""A moto server on 127.0.0.1 for the AWS-facing modules, and a small shim in front of it.

Offline by construction: fake credentials, no profile or config file, no instance metadata, and
every client gets ``endpoint_url`` explicitly. The environment is set per test with
``monkeypatch`` (not for the session), so it never leaks into the other test folders.

moto's Athena only ever reaches SUCCEEDED (QUEUED -> RUNNING -> SUCCEEDED; ``StopQueryExecution``
gives CANCELLED) and reports 0 bytes scanned. To test a FAILED query with Athena's reason, and a
real bytes-scanned figure, ``athena_shim`` forwards the Athena JSON API to moto and rewrites the
chosen responses; everything else about the query (ids, results) is still moto's.
"""

from __future__ import annotations

import http.client
import json
import threading
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from moto.server import ThreadedMotoServer

REGION = "us-east-1"

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
def aws_env(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory,
            ) -> Iterator[None]:
    """Fake credentials and a fresh moto state for every test in this folder."""
    empty = tmp_path_factory.mktemp("aws-config")
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
    request = urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - 127.0.0.1 only
        assert response.status == 200
    yield


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
    and PyAthena needs ``Precision`` and ``Scale`` in every column_info entry.
    """

    def post(*results: dict[str, Any]) -> None:
        body = json.dumps({"region": REGION, "results": list(results)}).encode()
        request = urllib.request.Request(f"{moto_endpoint}/moto-api/static/athena/query-results", data=body,
                                         headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - 127.0.0.1 only
            assert response.status == 201

    return post


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
